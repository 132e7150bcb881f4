"""Sign in, sign out, and the user's own preferences."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from crm.accounts import services
from crm.accounts.forms import LoginForm, PasswordForm, PreferencesForm
from crm.audit import services as audit
from crm.web.htmx import render, safe_next, see_other

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    return safe_next(target, url_for("dashboard.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data)
        if user is not None:
            session.clear()                      # a fresh session at sign-in
            login_user(user)
            audit.record("login", user, "user", user.id)
            response = redirect(_safe_next(request.args.get("next")), code=303)
            return response
        audit.record("login_failed", None, "user", None,
                     [("username", "", form.username.data[:64])])
        error = _("Wrong username or password.")
    status = 422 if request.method == "POST" else 200
    return render("accounts/login.html", form=form, error=error, status=status)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("accounts.login"), code=303)


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
        if password.validate():
            if services.authenticate(current_user.username, password.current.data) is None:
                password.current.errors.append(_("The current password is wrong."))
                status = 422
            else:
                services.set_password(current_user, password.new.data)
                audit.record("password_changed", current_user, "user", current_user.id)
                flash(_("Password changed."), "success")
                return see_other(url_for("accounts.account"))
        else:
            status = 422
    return render("accounts/account.html", prefs=prefs, password=password, status=status)
