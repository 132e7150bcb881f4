"""Sessions: renewed at sign-in, ended after ``SESSION_IDLE_MINUTES`` without a request or
``SESSION_MAX_HOURS`` after the sign-in, ended when the password changes elsewhere; cookies
HttpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS; and the forced
password change (``User.must_change_password``, outside ``DEMO_MODE``).

The session is Flask's signed cookie.  Signing in clears it and starts a new one with a fresh
random id (``_sid``), so nothing from before the sign-in (a planted cookie, an old CSRF token)
carries over.  The times are in the signed cookie, so the client cannot move them; a copied old
cookie carries its old times and expires like the original.
"""
from __future__ import annotations

import secrets
import time

from flask import (current_app, flash, has_request_context, make_response, redirect, request,
                   session, url_for)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from crm.audit import services as audit

SEEN_EVERY = 60            # seconds: "last seen" is rewritten at most once a minute
# Where a user who must change their password may still go.
ALLOWED_WHILE_FORCED = {"accounts.change_password", "accounts.logout", "accounts.login",
                        "static", "healthz"}
SKIP = {"static", "healthz"}


def password_marker(user) -> str:
    """Changes whenever the user's password does: a session with another marker has ended."""
    changed = getattr(user, "password_changed_at", None)
    return changed.isoformat() if changed else ""


def start(user) -> None:
    """Sign ``user`` in with a brand-new session (no session fixation)."""
    session.clear()
    login_user(user)
    now = int(time.time())
    session["_sid"] = secrets.token_urlsafe(18)
    session["_created"] = now
    session["_seen"] = now
    session["_pw"] = password_marker(user)


def renew(user) -> None:
    """A new session id and password marker for the signed-in user (after a password change);
    the sign-in time, and with it the absolute timeout, stays."""
    session["_sid"] = secrets.token_urlsafe(18)
    session["_pw"] = password_marker(user)
    session["_seen"] = int(time.time())


def end() -> None:
    """Sign out and forget the session (flask-login clears a remember-me cookie too)."""
    session.clear()
    logout_user()


def expiry_reason(user, now: float) -> str | None:
    config = current_app.config
    created, seen = session.get("_created"), session.get("_seen")
    if not isinstance(created, int) or not isinstance(seen, int):
        return "unknown"         # a session from before this check, or not started by start()
    if now - seen > config["SESSION_IDLE_MINUTES"] * 60:
        return "idle"
    if now - created > config["SESSION_MAX_HOURS"] * 3600:
        return "max_age"
    if session.get("_pw") != password_marker(user):
        return "password"
    return None


def _enforce():
    """Before each request: end expired sessions, keep "last seen", force a password change."""
    if request.endpoint in SKIP or "_user_id" not in session:
        return None
    user = current_user._get_current_object()
    if not user.is_authenticated:        # deactivated or deleted: flask-login found nobody
        session.clear()
        return None
    now = time.time()
    reason = expiry_reason(user, now)
    if reason:
        audit.record("session_expired", user, "user", user.id, [("reason", "", reason)])
        end()
        flash(_("Your session has ended. Please sign in again."), "error")
        return None                       # login_required now sends the visitor to sign in
    if now - session["_seen"] >= SEEN_EVERY:
        session["_seen"] = int(now)
    if user.must_change_password and not current_app.config["DEMO_MODE"] \
            and request.endpoint not in ALLOWED_WHILE_FORCED:
        return _to_change_password()
    return None


def _to_change_password():
    if request.headers.get("HX-Request"):
        current = request.headers.get("HX-Current-URL", "")
        target = url_for("accounts.change_password", next=_path_of(current) or None)
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    target = url_for("accounts.change_password",
                     next=request.full_path.rstrip("?") if request.method == "GET" else None)
    return redirect(target, code=303 if request.method != "GET" else 302)


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")


def unauthorized():
    """Not signed in (or the session just ended): to the sign-in page, with ``next``.  An htmx
    request gets ``HX-Redirect`` so that the whole page goes there, not a fragment of it."""
    from flask_login import login_url
    if request.headers.get("HX-Request"):
        current = _path_of(request.headers.get("HX-Current-URL", "")) or None
        response = make_response("", 200)
        response.headers["HX-Redirect"] = login_url("accounts.login", next_url=current)
        return response
    return redirect(login_url("accounts.login", next_url=request.url))


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, whose cookies (all of the response's, the remember-me and
    language cookies included) are marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]
                    or (has_request_context() and request.is_secure))

    def save_session(self, app, session, response) -> None:
        super().save_session(app, session, response)
        if has_request_context() and request.is_secure:
            mark_cookies_secure(response)


def mark_cookies_secure(response) -> None:
    headers = response.headers.getlist("Set-Cookie")
    if not headers or all(_is_secure(h) for h in headers):
        return
    response.headers.remove("Set-Cookie")
    for header in headers:
        response.headers.add("Set-Cookie", header if _is_secure(header) else header + "; Secure")


def _is_secure(cookie: str) -> bool:
    return any(part.strip().lower() == "secure" for part in cookie.split(";")[1:])


def init_app(app) -> None:
    app.session_interface = SessionInterface()
    app.before_request(_enforce)
