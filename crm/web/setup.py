"""Wiring of the web layer: htmx-flask, CSRF, login, compression, template globals, errors."""
from __future__ import annotations

from flask import current_app, flash, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_compress import Compress
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from htmx_flask import Htmx
from markupsafe import Markup, escape

from crm.db import database
from crm.web.htmx import wants_partial

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = None


@login_manager.user_loader
def _load_user(user_id: str):
    from crm.accounts.models import User
    return User.get_or_none((User.id == int(user_id)) & (User.is_active == True))  # noqa: E712


def render_value(name: str, value, **context):
    """Display a value, letting plugins render it (``crm_render_value``); always safe HTML."""
    from flask import current_app
    result = current_app.extensions["crm.plugins"].first(
        "crm_render_value", name=name, value=value, context=context)
    if result is None:
        return escape("" if value is None else value)
    return result if isinstance(result, Markup) else escape(result)


def _unread(user) -> int:
    from crm.notifications.services import unread_count
    return unread_count(user) if user.is_authenticated else 0


def nav_items(user):
    from flask import current_app

    from crm import access
    from crm.contrib import NavItem
    from crm.i18n import _l
    core = [
        NavItem(_l("Dashboard"), "dashboard.index", 10),
        NavItem(_l("Customers"), "customers.index", 20),
        NavItem(_l("My tasks"), "activities.followups", 30),
        NavItem(_l("Products"), "purchases.products", 60),
        NavItem(_l("Admin"), "admin.users", 90, "user.manage"),
    ]
    extra = current_app.extensions["crm.plugins"].collect("crm_nav_items", user=user)
    items = sorted(core + extra, key=lambda i: i.order)
    return [i for i in items if not i.permission or access.can(user, i.permission)]


class _Compress(Compress):
    """Flask-Compress leaves every answer outside 2xx alone; a form sent back with its errors
    (422) or a conflict (409) is an htmx swap or a page like any other on a slow phone, so
    4xx answers are compressed too (those without an ETag: a conditional request never turns
    one into a 304)."""

    def after_request(self, response):
        if not 400 <= response.status_code < 500 or response.get_etag()[0] is not None:
            return super().after_request(response)
        status = response.status_code
        response.status_code = 200
        try:
            return super().after_request(response)
        finally:
            response.status_code = status


def init_app(app) -> None:
    from crm.accounts import sessions
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # behind N reverse proxies: the client's address (throttling, audit) and the scheme
        # (Secure cookies, HSTS) come from their X-Forwarded-* headers
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    Htmx(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.unauthorized_handler(sessions.unauthorized)
    sessions.init_app(app)
    _Compress(app)

    from crm import access
    from crm.activities.forms import KIND_LABELS, OUTCOME_LABELS
    from crm.admin.forms import ROLE_LABELS
    from crm.audit.labels import ACTION_LABELS, ENTITY_LABELS, FIELD_LABELS, display_value
    from crm.customers.forms import CHANNEL_LABELS, SOURCE_LABELS, VALUE_LABELS
    from crm.customers import masking
    from crm.validation import display_phone
    app.jinja_env.filters["phone"] = display_phone
    app.jinja_env.globals.update(
        kind_label=lambda kind: KIND_LABELS.get(kind, kind),
        role_label=lambda role: ROLE_LABELS.get(role, role),
        value_label=lambda value: VALUE_LABELS.get(value, value),
        field_label=lambda name: FIELD_LABELS.get(name, name),
        action_label=lambda action: ACTION_LABELS.get(action, action),
        entity_label=lambda entity: ENTITY_LABELS.get(entity, entity),
        audit_value=display_value,
        source_label=lambda source: SOURCE_LABELS.get(source, source) if source else "—",
        channel_label=lambda channel: CHANNEL_LABELS.get(channel, channel) if channel else "—",
        outcome_label=lambda outcome: OUTCOME_LABELS.get(outcome, outcome),
        render_value=render_value,
        sensitive=masking.sensitive,
        can=lambda permission, resource=None: access.can(current_user, permission, resource),
        nav_items=lambda: nav_items(current_user),
        unread_notifications=lambda: _unread(current_user),
        wants_partial=wants_partial,
        get_locale=get_locale,
    )
    app.jinja_env.add_extension("jinja2.ext.loopcontrols")

    @app.route("/healthz")
    def healthz():
        try:
            database.execute_sql("SELECT 1")
            return jsonify(status="ok", database="ok")
        except Exception as exc:  # noqa: BLE001
            return jsonify(status="error", database=str(exc)), 503

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        if request.headers.get("HX-Request"):
            # A missing or expired token on any htmx request (a partial, or a boosted form whose
            # 400 htmx would not swap): reload the page, which brings a fresh token.
            flash(_("The page had expired and was reloaded. Please try again."), "error")
            response = app.response_class("", 200)
            response.headers["HX-Refresh"] = "true"
            return response
        message = _("The form expired or was already sent. Go back, reload the page and try "
                    "again.")
        if request.endpoint == "accounts.login":
            # the sign-in form again, with a fresh token, rather than a dead end
            from crm.accounts.forms import LoginForm
            form = LoginForm()        # the username as typed, and a new token
            return render_template("accounts/login.html", form=form, error=_(
                "The sign-in form had expired. Please sign in again.")), 400
        return render_template("errors/error.html", code=400, message=message), 400

    for code in (400, 403, 404, 405, 409, 500):
        app.register_error_handler(code, _error_page(code))

    @app.after_request
    def _remember_language(response):
        lang = request.args.get("lang")
        if lang and lang in app.config["LANGUAGES"]:
            response.set_cookie("locale", lang, max_age=365 * 24 * 3600, samesite="Lax",
                                httponly=True, secure=request.is_secure)
        return response

    @app.after_request
    def _vary(response):
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
        return response


def _error_page(code):
    def handler(error):
        if request.path.startswith("/api/"):
            response = jsonify(error=code)
        else:
            response = current_app.make_response(
                render_template("errors/error.html", code=code, message=None))
        response.status_code = code
        # a 405 says which methods the URL takes (RFC 9110 15.5.6), as werkzeug's own page does
        allowed = getattr(error, "valid_methods", None)
        if code == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response
    return handler
