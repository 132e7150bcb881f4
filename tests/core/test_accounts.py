"""Signing in and out, the safe ``next``, preferences (language, time zone), passwords, and
``crm user create``."""
from __future__ import annotations

import os

import pytest
from babel import Locale
from babel.support import Translations

import crm
from crm.accounts.models import User
from crm.audit.models import AuditLog
from crm.cli import cli
from tests.conftest import PASSWORD

WRONG = "Wrong username or password."


def test_login_success(client, seed):
    page = client.get("/login")
    assert page.status_code == 200 and b'name="password"' in page.data
    response = client.post("/login", data={"username": "sales", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get("/customers").status_code == 200
    user = seed.user("sales")
    assert user.last_login_at is not None
    assert seed.run(lambda: AuditLog.select().where((AuditLog.action == "login")
                                                    & (AuditLog.user == user.id)).count()) == 1


@pytest.mark.parametrize("username, password", [("sales", "wrong-pass-1"),
                                                ("nobody", PASSWORD),
                                                ("sales", ""),
                                                ("", "")])
def test_login_failure_is_generic(client, seed, username, password):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    if username and password:
        assert WRONG in body
    assert "nobody" not in body.replace('value="nobody"', "")   # no "user does not exist"
    assert client.get("/customers").status_code == 302       # not signed in


def test_inactive_user_cannot_sign_in(client, seed):
    seed.run(lambda: User.update(is_active=False).where(User.username == "sales").execute())
    response = client.post("/login", data={"username": "sales", "password": PASSWORD})
    assert response.status_code == 422 and WRONG in response.get_data(as_text=True)


def test_failed_login_audited(client, seed):
    client.post("/login", data={"username": "sales", "password": "wrong-pass-1"})
    row = seed.run(lambda: AuditLog.get(AuditLog.action == "login_failed"))
    assert (row.field, row.new) == ("username", "sales")


def test_logout_is_post_only(client, login):
    login("sales")
    refused = client.get("/logout")
    assert refused.status_code == 405
    assert "POST" in refused.headers["Allow"]       # a 405 says what the URL takes
    assert "<html" in refused.get_data(as_text=True)    # the app's own error page
    assert client.get("/customers").status_code == 200       # still signed in
    response = client.post("/logout")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    response = client.get("/customers")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_required_keeps_next(client):
    response = client.get("/customers?q=zw")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login?next=")
    followed = client.post(location, data={"username": "sales", "password": PASSWORD})
    assert followed.status_code == 303
    assert followed.headers["Location"] == "/customers?q=zw"


@pytest.mark.parametrize("target", ["//evil.com", "//evil.com/customers", "https://evil.com/",
                                    "/\\evil.com", "\\\\evil.com", "javascript:alert(1)",
                                    "http:/evil.com", "/%09/evil.com", " //evil.com"])
def test_next_is_never_an_open_redirect(client, target):
    response = client.post("/login", query_string={"next": target},
                           data={"username": "sales", "password": PASSWORD})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location == "/" or (location.startswith("/") and not location.startswith("//")
                               and "evil.com" not in location.split("/")[1]), location
    assert "//evil.com" not in location and "\\" not in location
    # signed in already: the same rule
    again = client.get("/login", query_string={"next": target})
    assert again.headers["Location"] in ("/", location)


def test_signed_in_user_visiting_login_is_sent_on(client, login):
    login("sales")
    response = client.get("/login?next=/followups")
    assert response.status_code == 302 and response.headers["Location"] == "/followups"


# -- preferences --------------------------------------------------------------------------------

def _zh(message: str) -> str:
    """The zh_CN translation of ``message`` if the catalogue is compiled, else the message."""
    directory = os.path.join(crm.PACKAGE_DIR, "translations")
    return Translations.load(directory, [Locale.parse("zh_CN")]).gettext(message)


def test_language_switch(client, login, seed):
    login("sales")
    page = client.get("/account").get_data(as_text=True)
    assert '<html lang="en">' in page and "My account" in page
    response = client.post("/account", data={"which": "prefs", "prefs-locale": "zh_CN",
                                             "prefs-timezone": "Asia/Hong_Kong"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    user = seed.user("sales")
    assert (user.locale, user.timezone) == ("zh_CN", "Asia/Hong_Kong")
    page = client.get("/account").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    translated = _zh("My account")
    if translated != "My account":      # the catalogue is compiled: the page is in Chinese
        assert translated in page and "My account" not in page
    # and back
    client.post("/account", data={"which": "prefs", "prefs-locale": "en",
                                  "prefs-timezone": "Asia/Shanghai"})
    assert '<html lang="en">' in client.get("/account").get_data(as_text=True)


def test_preferences_show_the_current_language(client, login, seed):
    """Nothing stored yet: the form shows the language in use (en here, from the browser), so
    saving only the time zone keeps it."""
    login("sales")
    page = client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<option selected value="en">' in page
    assert '<option selected value="Asia/Shanghai">' in page


def test_preferences_validated(client, login, seed):
    login("sales")
    response = client.post("/account", data={"which": "prefs", "prefs-locale": "xx",
                                             "prefs-timezone": "Mars/Olympus"})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert seed.user("sales").locale is None


def test_time_zone_changes_displayed_times(client, login, seed):
    import datetime as dt

    from crm.customers.models import Customer
    customer = seed.customer("张伟", owner="sales")
    seed.run(lambda: Customer.update(created_at=dt.datetime(2026, 1, 15, 23, 30))
             .where(Customer.id == customer.id).execute())
    login("sales")
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "1/16/26, 7:30" in page                           # Asia/Shanghai, UTC+8
    client.post("/account", data={"which": "prefs", "prefs-locale": "en",
                                  "prefs-timezone": "Europe/London"})
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "1/15/26, 11:30" in page


def test_password_change(client, login, seed):
    login("sales")

    def change(current, new, confirm):
        return client.post("/account", data={"which": "password", "pw-current": current,
                                             "pw-new": new, "pw-confirm": confirm})

    wrong = change("not-it-at-all", "new-password-1", "new-password-1")
    assert wrong.status_code == 422
    assert "The current password is wrong." in wrong.get_data(as_text=True)
    differ = change(PASSWORD, "new-password-1", "new-password-2")
    assert differ.status_code == 422
    assert "The passwords differ." in differ.get_data(as_text=True)
    short = change(PASSWORD, "short", "short")
    assert short.status_code == 422
    ok = change(PASSWORD, "new-password-1", "new-password-1")
    assert ok.status_code == 303
    assert "Password changed." in client.get("/account").get_data(as_text=True)
    client.post("/logout")
    assert client.post("/login", data={"username": "sales",
                                       "password": PASSWORD}).status_code == 422
    assert client.post("/login", data={"username": "sales",
                                       "password": "new-password-1"}).status_code == 303
    assert seed.run(lambda: AuditLog.select().where(
        AuditLog.action == "password_changed").count()) == 1


def test_password_hash_is_argon2(seed):
    user = seed.user("sales")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


# -- crm user create ----------------------------------------------------------------------------

def test_cli_user_create(runner, client, seed):
    result = runner.invoke(cli, ["user", "create", "newbie", "--role", "clerk",
                                 "--password", "long-enough-1", "--name", "新同事"])
    assert result.exit_code == 0, result.output
    assert "created newbie (clerk)" in result.output
    user = seed.user("newbie")
    assert (user.role, user.display_name) == ("clerk", "新同事")
    assert client.post("/login", data={"username": "newbie",
                                       "password": "long-enough-1"}).status_code == 303


def test_cli_user_create_errors(runner, seed):
    taken = runner.invoke(cli, ["user", "create", "sales", "--role", "sales",
                                "--password", "long-enough-1"])
    assert taken.exit_code != 0 and "already exists" in taken.output
    short = runner.invoke(cli, ["user", "create", "shorty", "--role", "sales",
                                "--password", "short"])
    assert short.exit_code != 0 and "at least 10" in short.output
    role = runner.invoke(cli, ["user", "create", "boss", "--role", "king",
                               "--password", "long-enough-1"])
    assert role.exit_code != 0
    prompted = runner.invoke(cli, ["user", "create", "prompted", "--role", "service"],
                             input="long-enough-1\nlong-enough-1\n")
    assert prompted.exit_code == 0, prompted.output
    assert seed.user("prompted").role == "service"
    assert seed.run(lambda: User.select().where(User.username.in_(
        ["shorty", "boss"])).count()) == 0
