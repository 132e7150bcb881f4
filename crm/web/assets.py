"""Our static files served with fingerprinted names, year-long immutable caching and
precompressed (brotli, gzip) bodies.  ``asset_url('app.css')`` -> ``/static/app.3f2a9c1b.css``.

Files are read once at start-up: they are few and small (the budgets say so).
"""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from dataclasses import dataclass

import brotli
from flask import Response, abort, request

COMPRESSIBLE = ("text/", "application/javascript", "image/svg+xml", "application/json")


@dataclass(frozen=True)
class Asset:
    logical: str
    fingerprinted: str
    mimetype: str
    body: bytes
    gzip: bytes | None
    br: bytes | None
    etag: str


class Assets:
    def __init__(self):
        self.by_logical: dict[str, Asset] = {}
        self.by_served: dict[str, Asset] = {}

    def add_folder(self, folder: str, prefix: str = "") -> None:
        for root, _dirs, files in os.walk(folder):
            for filename in files:
                path = os.path.join(root, filename)
                logical = prefix + os.path.relpath(path, folder).replace(os.sep, "/")
                self.add_file(logical, path)

    def add_file(self, logical: str, path: str) -> None:
        with open(path, "rb") as fh:
            body = fh.read()
        digest = hashlib.sha256(body).hexdigest()
        stem, ext = os.path.splitext(logical)
        served = f"{stem}.{digest[:10]}{ext}"
        mimetype = mimetypes.guess_type(logical)[0] or "application/octet-stream"
        compress = mimetype.startswith(COMPRESSIBLE) and len(body) > 256
        asset = Asset(logical, served, mimetype, body,
                      gzip.compress(body, 9, mtime=0) if compress else None,
                      brotli.compress(body, quality=11) if compress else None,
                      digest[:32])
        self.by_logical[logical] = asset
        self.by_served[served] = asset

    def url(self, logical: str) -> str:
        return "/static/" + self.by_logical[logical].fingerprinted

    def serve(self, filename: str) -> Response:
        asset = self.by_served.get(filename)
        immutable = asset is not None
        if asset is None:
            asset = self.by_logical.get(filename)
        if asset is None:
            abort(404)
        if request.if_none_match and asset.etag in request.if_none_match:
            response = Response(status=304)
        else:
            accepted = request.accept_encodings
            body, encoding = asset.body, None
            if asset.br and accepted["br"]:
                body, encoding = asset.br, "br"
            elif asset.gzip and accepted["gzip"]:
                body, encoding = asset.gzip, "gzip"
            response = Response(body, mimetype=asset.mimetype)
            if encoding:
                response.headers["Content-Encoding"] = encoding
        response.set_etag(asset.etag)
        response.vary.add("Accept-Encoding")
        response.headers["Cache-Control"] = ("public, max-age=31536000, immutable" if immutable
                                             else "public, max-age=300")
        return response


def init_app(app, folders: list[tuple[str, str]]) -> Assets:
    assets = Assets()
    for folder, prefix in folders:
        if os.path.isdir(folder):
            assets.add_folder(folder, prefix)
    app.extensions["crm.assets"] = assets
    app.add_url_rule("/static/<path:filename>", "static", assets.serve)
    app.jinja_env.globals["asset_url"] = assets.url
    return assets
