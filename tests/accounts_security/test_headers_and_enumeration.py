"""Security headers on every kind of response (errors, redirects, static files, 304s, htmx
answers), and sign-in answers that tell nothing about which accounts exist."""
from __future__ import annotations

import re

import pytest

from crm.accounts import services
from crm.accounts.models import User
from crm.web.security import CSP
from tests.accounts_security.conftest import user
from tests.conftest import PASSWORD, htmx

EXPECTED = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _check(response, what):
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (what, name, response.status_code)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    assert "camera=()" in response.headers["Permissions-Policy"], what


@pytest.fixture
def broken(app):
    """A route that raises, served as in production (the exception is not propagated)."""
    def boom():
        raise RuntimeError("boom")
    app.add_url_rule("/boom", "boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return "/boom"


def test_headers_on_every_kind_of_response(app, client, login, broken):
    css = app.extensions["crm.assets"].url("app.css")
    anonymous = {
        "login page": client.get("/login"),
        "redirect to sign in": client.get("/customers"),
        "healthz (JSON)": client.get("/healthz"),
        "static": client.get(css),
        "unknown static": client.get("/static/nope.css"),
    }
    etag = anonymous["static"].headers["ETag"]
    anonymous["static 304"] = client.get(css, headers={"If-None-Match": etag})
    assert anonymous["static 304"].status_code == 304
    anonymous["failed sign-in 422"] = client.post("/login", data={"username": "x",
                                                                  "password": "y"})
    login("sales")
    signed_in = {
        "404": client.get("/no/such/page"),
        "404 htmx": client.get("/customers/999999", headers=htmx("main")),
        "403": client.get("/admin/users"),
        "405": client.get("/logout"),
        "500": client.get(broken),
        "htmx redirect": client.get("/customers", headers=htmx("results")),
    }
    assert signed_in["500"].status_code == 500
    assert "Something went wrong" in signed_in["500"].get_data(as_text=True)
    for what, response in {**anonymous, **signed_in}.items():
        _check(response, what)
    for what in ("login page", "failed sign-in 422"):
        assert anonymous[what].headers["Cache-Control"] == "no-store"
    assert "immutable" in anonymous["static"].headers["Cache-Control"]
    assert "immutable" in anonymous["static 304"].headers["Cache-Control"]


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_headers_on_csrf_failures(client):
    plain = client.post("/login", data={"username": "a", "password": "b"})
    refresh = client.post("/login", data={"username": "a", "password": "b"}, headers=htmx("main"))
    assert plain.status_code == 400 and refresh.headers["HX-Refresh"] == "true"
    _check(plain, "csrf 400")
    _check(refresh, "csrf HX-Refresh")


def test_headers_on_throttled_and_forced_answers(client, login, run):
    for _ in range(5):
        client.post("/login", data={"username": "sales", "password": "wrong-pass-1"})
    throttled = client.post("/login", data={"username": "sales", "password": PASSWORD})
    assert throttled.status_code == 429
    _check(throttled, "429")
    run(lambda: User.update(must_change_password=True).where(User.username == "sales2")
        .execute())
    login("sales2")
    _check(client.get("/customers"), "forced change redirect")
    _check(client.get("/customers", headers=htmx("results")), "forced change HX-Redirect")


def test_hsts_over_https_only(client, broken):
    for url in ("/login", "/healthz", "/no/such/page", broken):
        secure = client.get(url, base_url="https://crm.example.com")
        assert secure.headers["Strict-Transport-Security"] == "max-age=31536000", url
        assert "Strict-Transport-Security" not in client.get(url).headers, url


@pytest.mark.parametrize("app_config", [{"HSTS_SECONDS": 0}])
def test_hsts_can_be_switched_off(client):
    assert "Strict-Transport-Security" not in client.get(
        "/login", base_url="https://crm.example.com").headers


# -- no user enumeration -------------------------------------------------------------------

def _answer(client, username, password):
    response = client.post("/login", data={"username": username, "password": password})
    body = response.get_data(as_text=True).replace(f'value="{username}"', 'value="X"')
    # the CSRF token is signed with the current second: the one part that may differ
    return response.status_code, re.sub(r'"X-CSRFToken": "[^"]+"', "TOKEN", body)


def test_same_answer_for_unknown_user_wrong_password_and_inactive(client, run):
    run(lambda: User.update(is_active=False).where(User.username == "sales2").execute())
    answers = {name: _answer(client, name, "wrong-pass-1")
               for name in ("sales", "nobody", "sales2")}
    answers["sales2 right password"] = _answer(client, "sales2", PASSWORD)
    statuses = {status for status, _body in answers.values()}
    assert statuses == {422}
    bodies = {body for _status, body in answers.values()}
    assert len(bodies) == 1, "the answers differ"
    assert "Wrong username or password." in bodies.pop()


def test_a_password_hash_is_verified_for_unknown_users(client, monkeypatch):
    """Same work for an unknown user as for a wrong password: one Argon2 verification."""
    calls = []
    real = services._hasher

    class Counting:
        def verify(self, hashed, password):
            calls.append(hashed)
            return real.verify(hashed, password)

        def __getattr__(self, name):
            return getattr(real, name)
    monkeypatch.setattr(services, "_hasher", Counting())
    client.post("/login", data={"username": "nobody", "password": "wrong-pass-1"})
    assert calls == [services._DUMMY_HASH]
    calls.clear()
    client.post("/login", data={"username": "sales", "password": "wrong-pass-1"})
    assert len(calls) == 1 and calls[0] != services._DUMMY_HASH


def test_failed_sign_in_writes_the_same_rows_for_known_and_unknown(client, run):
    """The database work does not differ either (the throttle row and the audit row)."""
    from crm.accounts.models import LoginFailure
    from crm.audit.models import AuditLog
    client.post("/login", data={"username": "sales", "password": "wrong-pass-1"})
    client.post("/login", data={"username": "nobody", "password": "wrong-pass-1"})
    assert run(LoginFailure.select().count) == 2
    assert run(AuditLog.select().where(AuditLog.action == "login_failed").count) == 2
    assert user(run, "sales").last_login_at is None
