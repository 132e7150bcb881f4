"""htmx helpers the htmx-flask extension lacks: partial-or-page, redirects, triggers."""
from __future__ import annotations

import json

from flask import make_response, redirect, render_template, request


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
    markup.  Every such response carries ``Vary: HX-Request``.
    """
    template = page_template
    if partials and wants_partial():
        target = request.htmx.target or ""
        template = partials.get(target) or partials.get("*") or page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def see_other(location: str, trigger: str | dict | None = None):
    """POST/redirect/GET with 303.  For htmx, HX-Location keeps it a partial navigation."""
    if wants_partial():
        response = make_response("", 204)
        response.headers["HX-Location"] = json.dumps({"path": location, "target": "#main",
                                                      "select": "#main", "swap": "outerHTML"})
    else:
        response = redirect(location, code=303)
    if trigger:
        set_trigger(response, trigger)
    response.vary.add("HX-Request")
    return response


def set_trigger(response, trigger: str | dict) -> None:
    response.headers["HX-Trigger"] = trigger if isinstance(trigger, str) else json.dumps(trigger)
