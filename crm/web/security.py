"""Security headers on every response (pages, fragments, redirects, errors, static files, 304s):
a strict CSP without unsafe-inline or unsafe-eval, and HSTS when the request came over HTTPS.

They are set in ``after_request``, which Flask runs for the responses of views, of error
handlers (404, 405, the CSRF 400, a 500 from an exception) and of the static route alike.
"""
from __future__ import annotations

from flask import request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
                          "interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def hsts_value(config) -> str | None:
    seconds = int(config.get("HSTS_SECONDS") or 0)
    if seconds <= 0:
        return None
    value = f"max-age={seconds}"
    if config.get("HSTS_INCLUDE_SUBDOMAINS"):
        value += "; includeSubDomains"
    return value


def init_app(app) -> None:
    @app.after_request
    def _security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        if request.is_secure:
            # Only over HTTPS: a browser ignores HSTS on plain HTTP, and sending it from a
            # test server on http://127.0.0.1 would mean nothing.
            hsts = hsts_value(app.config)
            if hsts:
                response.headers.setdefault("Strict-Transport-Security", hsts)
        return response
