"""Sign in, sign out, changing one's password, and the user's own preferences."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from crm.accounts import policy, services, sessions, throttle
from crm.accounts.forms import LoginForm, PasswordForm, PreferencesForm
from crm.accounts.models import User
from crm.audit import services as audit
from crm.web.htmx import render, safe_next, see_other

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("dashboard.index"))


def _throttled_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return ngettext("Too many failed sign-ins. Try again in %(num)s minute.",
                    "Too many failed sign-ins. Try again in %(num)s minutes.", minutes)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        username, ip = form.username.data, request.remote_addr or ""
        wait = throttle.retry_after(username, ip)
        if wait:
            # refused before the password is looked at: guessing on costs nothing but time.
            # 429, except for htmx (the boosted form), which swaps only 2xx, 409 and 422.
            audit.record("login_throttled", None, "user", None, [("username", "", username[:64])])
            response = render("accounts/login.html", form=form, error=_throttled_message(wait),
                              status=422 if request.headers.get("HX-Request") else 429)
            response.headers["Retry-After"] = str(wait)
            return response
        user = services.authenticate(username, form.password.data)
        if user is not None:
            throttle.clear_account(username)
            sessions.start(user)
            audit.record("login", user, "user", user.id)
            if user.must_change_password and not current_app.config["DEMO_MODE"]:
                return redirect(url_for("accounts.change_password",
                                        next=request.args.get("next")), code=303)
            return redirect(_safe_next(request.args.get("next")), code=303)
        throttle.record_failure(username, ip)
        known = User.get_or_none(User.username == username.strip())   # for the audit only
        audit.record("login_failed", None, "user", known.id if known else None,
                     [("username", "", username[:64])])
        error = _("Wrong username or password.")   # the same words for an unknown user
    if request.method == "POST":
        status = 422
    return render("accounts/login.html", form=form, error=error, status=status)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        audit.record("logout", current_user, "user", current_user.id)
    sessions.end()
    return redirect(url_for("accounts.login"), code=303)


def _apply_password_form(form: PasswordForm) -> bool:
    """Validate ``form`` (current password, policy, confirmation) and change the password."""
    if not form.validate():
        return False
    if not services.verify_password(current_user, form.current.data):
        form.current.errors.append(_("The current password is wrong."))
        return False
    found = policy.problems(form.new.data, current_user.username)
    if not found and form.new.data == form.current.data:
        found = [_("The new password must differ from the current one.")]
    if found:
        form.new.errors.extend(found)
        return False
    services.set_password(current_user, form.new.data)
    sessions.renew(current_user)
    throttle.clear_account(current_user.username)
    audit.record("password_changed", current_user, "user", current_user.id)
    flash(_("Password changed."), "success")
    return True


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Choose a new password; where a user who must change theirs is sent on every request."""
    form = PasswordForm(prefix="pw")
    form.new.description = policy.hint()
    forced = current_user.must_change_password and not current_app.config["DEMO_MODE"]
    if request.method == "POST":
        if _apply_password_form(form):
            return see_other(_safe_next(request.args.get("next")))
        status = 422
    else:
        status = 200
    return render("accounts/password.html", form=form, forced=forced, status=status)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    prefs = PreferencesForm(prefix="prefs", obj=current_user)
    if request.method == "GET":
        # nothing stored yet: show what the user sees now, so that saving the time zone alone
        # does not switch the language (the first option) behind their back
        prefs.locale.data = current_user.locale or str(get_locale())
        prefs.timezone.data = current_user.timezone or str(get_timezone())
    password = PasswordForm(prefix="pw")
    password.new.description = policy.hint()
    status = 200
    if request.method == "POST" and request.form.get("which") == "prefs":
        if prefs.validate():
            current_user.locale = prefs.locale.data
            current_user.timezone = prefs.timezone.data
            current_user.save(only=["locale", "timezone"])
            flash(_("Preferences saved."), "success")
            return see_other(url_for("accounts.account"))
        status = 422
    elif request.method == "POST" and request.form.get("which") == "password":
        if _apply_password_form(password):
            return see_other(url_for("accounts.account"))
        status = 422
    return render("accounts/account.html", prefs=prefs, password=password, status=status)
