"""htmx helpers the htmx-flask extension lacks: partial-or-page, redirects, triggers."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request

MAIN = "main"   # the id of the page's <main>: HX-Location swaps it (see see_other)


def wants_partial() -> bool:
    """A partial when HX-Request is set and the request is neither boosted nor a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def htmx_target() -> str | None:
    return request.htmx.target if wants_partial() else None


def render(page_template: str, partials: dict[str, str] | None = None, /, status: int = 200,
           **context):
    """Render ``page_template``; for an htmx request render the partial registered for its HX-Target.

    ``partials`` maps a target id (without ``#``) to a template; ``"*"`` is the fallback for any
    other htmx request.  The page template includes the same partials, so both paths share one
    markup.  An htmx request aimed at ``main`` (``see_other``'s HX-Location) gets the page
    template, which base.html then renders as its ``<main>`` alone.  Every such response carries
    ``Vary: HX-Request``.
    """
    template = page_template
    if partials and wants_partial():
        target = request.htmx.target or ""
        if target != MAIN:
            template = partials.get(target) or partials.get("*") or page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site (``?next=``, a form's ``next``), else
    ``default``: never an open redirect (``//evil.com``, ``/\\evil.com``, ``https://...``)."""
    if target and target.startswith("/") and "\\" not in target \
            and not target.startswith("//") and not any(ord(ch) < 32 for ch in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return default


def see_other(location: str, trigger: str | dict | None = None):
    """POST/redirect/GET with 303.  For htmx, HX-Location keeps it a partial navigation."""
    if wants_partial():
        response = make_response("", 204)
        response.headers["HX-Location"] = json.dumps({"path": location, "target": "#" + MAIN,
                                                      "select": "#" + MAIN, "swap": "outerHTML"})
    else:
        response = redirect(location, code=303)
    if trigger:
        set_trigger(response, trigger)
    response.vary.add("HX-Request")
    return response


def set_trigger(response, trigger: str | dict) -> None:
    response.headers["HX-Trigger"] = trigger if isinstance(trigger, str) else json.dumps(trigger)
