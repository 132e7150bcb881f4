"""The password policy: its rules, its messages (English and Chinese), and every place a
password is chosen -- the admin's user form, ``crm user create``, changing one's password."""
from __future__ import annotations

import os

import pytest
from babel import Locale
from babel.support import Translations

import crm
from crm.accounts import policy
from crm.accounts.models import User
from crm.cli import cli
from tests.accounts_security.conftest import user
from tests.conftest import PASSWORD

SHORT = "The password must have at least 10 characters."
DIGITS = "The password must not be only digits."
USERNAME = "The password must not contain the username."
COMMON = "This password is too common. Choose one that is harder to guess."


@pytest.mark.parametrize("password, username, expected", [
    ("short-1", "li", [SHORT]),
    ("demo1234", "admin", [SHORT, COMMON]),
    ("1234567890", "li", [DIGITS]),
    ("13812345678", "li", [DIGITS]),
    ("12345", "li", [SHORT, DIGITS]),
    ("wang.fang-2026", "wang.fang", [USERNAME]),
    ("Zhangsan-secret", "zhangsan", [USERNAME]),
    ("password123", "li", [COMMON]),
    ("Password2024!", "li", [COMMON]),
    ("qwertyuiop", "li", [COMMON]),
    ("woaini1314!!", "li", [COMMON]),
    ("aaaaaaaaaaaa", "li", [COMMON]),
    ("abababababab", "li", [COMMON]),
    ("test-pass-1", "sales", []),
    ("绿茶配乌龙茶好喝", "li", [SHORT]),
    ("绿茶配乌龙茶真的很好喝", "li", []),
    ("correct horse battery", "li", []),
    ("Li-secret-42", "li", []),          # a username under 3 characters is no rule
])
def test_rules(app, password, username, expected):
    with app.app_context():
        assert policy.problems(password, username) == expected


def test_minimum_length_is_a_setting(app):
    app.config["PASSWORD_MIN_LENGTH"] = 14      # after the fixture made its users
    with app.app_context():
        assert policy.problems("long-enough-1", "li") == [
            "The password must have at least 14 characters."]


def _zh(message: str, **params) -> str:
    directory = os.path.join(crm.PACKAGE_DIR, "translations")
    text = Translations.load(directory, [Locale.parse("zh_CN")]).gettext(message)
    return text % params if params else text


def test_messages_in_the_users_language(client, login, run):
    """In Chinese once the catalogue has the strings (the lead merges /tmp/i18n_hardening.tsv);
    the test then proves the page uses them."""
    login("sales")
    client.post("/account", data={"which": "prefs", "prefs-locale": "zh_CN",
                                  "prefs-timezone": "Asia/Shanghai"})
    response = client.post("/account", data={"which": "password", "pw-current": PASSWORD,
                                             "pw-new": "1234567", "pw-confirm": "1234567"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for msgid, english in (("The password must have at least %(num)s characters.", SHORT),
                           (DIGITS, DIGITS)):
        translated = _zh(msgid, num=10) if "%(num)s" in msgid else _zh(msgid)
        assert translated in page
        if translated != english:           # the catalogue has it: no English left
            assert english not in page


def test_password_change_applies_the_policy(client, login, run):
    login("sales")

    def change(new, current=PASSWORD):
        return client.post("/account", data={"which": "password", "pw-current": current,
                                             "pw-new": new, "pw-confirm": new})
    for weak, message in (("short-1", SHORT), ("9876543210", DIGITS),
                          ("my-sales-secret", USERNAME), ("password123", COMMON)):
        response = change(weak)
        assert response.status_code == 422, weak
        assert message in response.get_data(as_text=True), weak
    same = change(PASSWORD)
    assert same.status_code == 422
    assert "The new password must differ from the current one." in same.get_data(as_text=True)
    page = client.get("/account").get_data(as_text=True)
    assert "At least 10 characters, not only digits, not the username" in page   # the hint
    assert change("sturdy-secret-3").status_code == 303


def test_change_password_page_applies_the_policy(client, login):
    login("sales")
    response = client.post("/account/password", data={"pw-current": PASSWORD,
                                                      "pw-new": "qwertyuiop",
                                                      "pw-confirm": "qwertyuiop"})
    assert response.status_code == 422 and COMMON in response.get_data(as_text=True)


def _user_form(**values):
    data = {"username": "", "display_name": "", "role": "sales", "department": "0",
            "locale": "en", "is_active": "y", "password": ""}
    data.update(values)
    return data


@pytest.mark.parametrize("password, message", [("short-1", SHORT), ("20262026202", DIGITS),
                                               ("new.one-secret", USERNAME),
                                               ("qwerty123456", COMMON)])
def test_admin_user_form_applies_the_policy(client, login, run, password, message):
    login("admin")
    response = client.post("/admin/users/new", data=_user_form(username="new.one",
                                                               password=password))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert run(lambda: User.select().where(User.username == "new.one").count()) == 0
    target = user(run, "sales2")
    response = client.post(f"/admin/users/{target.id}/edit", data=_user_form(
        username="sales2", department=str(target.department_id),
        password=password.replace("new.one", "sales2")))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_admin_form_shows_the_rules(client, login):
    login("admin")
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert "At least 10 characters" in page
    assert "The user chooses a new one at the next sign-in." in page


def test_cli_applies_the_policy(runner, run):
    for password, message in (("short-1", SHORT), ("1234567890", DIGITS),
                              ("shorty-password", USERNAME), ("password1234", COMMON)):
        result = runner.invoke(cli, ["user", "create", "shorty", "--role", "sales",
                                     "--password", password])
        assert result.exit_code != 0, password
        assert message in result.output, (password, result.output)
    assert run(lambda: User.select().where(User.username == "shorty").count()) == 0
    ok = runner.invoke(cli, ["user", "create", "shorty", "--role", "sales",
                             "--password", "a-sound-secret-5"])
    assert ok.exit_code == 0, ok.output
    assert user(run, "shorty").must_change_password is False   # the operator chose it
