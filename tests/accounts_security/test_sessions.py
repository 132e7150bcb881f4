"""Sessions: renewed at sign-in, idle and absolute timeouts (the session's times are moved back
instead of waiting), ended by a password change elsewhere, sign-out; cookie flags over HTTP and
HTTPS, directly or behind a trusted proxy."""
from __future__ import annotations

import time

import pytest

from crm.accounts.models import User
from tests.accounts_security.conftest import audit_rows
from tests.conftest import PASSWORD, htmx


def _session(client) -> dict:
    with client.session_transaction() as sess:
        return dict(sess)


def _shift(client, **seconds_back):
    """Move the session's times (``_seen``, ``_created``) that many seconds into the past."""
    with client.session_transaction() as sess:
        for key, back in seconds_back.items():
            sess["_" + key] = sess["_" + key] - back


def test_session_is_renewed_at_sign_in(client, login):
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"       # a fixated session's contents
        before_token = sess.get("csrf_token")
    assert before_token
    login("sales")
    after = _session(client)
    assert "planted" not in after
    assert after.get("csrf_token") != before_token          # nothing carried over
    assert after["_sid"] and after["_user_id"] == str(_uid(client, "sales"))
    first_sid = after["_sid"]
    client.post("/logout")
    assert "_user_id" not in _session(client)
    login("sales")
    assert _session(client)["_sid"] != first_sid             # a new id at every sign-in


def _uid(client, username):
    from crm.db import database
    with client.application.app_context():
        database.connect(reuse_if_open=True)
        try:
            return User.get(User.username == username).id
        finally:
            database.close()


def test_idle_timeout(client, login, run):
    login("sales")
    _shift(client, seen=119 * 60)
    assert client.get("/customers").status_code == 200       # 1 h 59 min: still fine
    assert time.time() - _session(client)["_seen"] < 5         # and "last seen" moved on
    _shift(client, seen=121 * 60)
    response = client.get("/customers?q=zw")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "_user_id" not in _session(client)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your session has ended. Please sign in again." in page
    rows = audit_rows(run, "session_expired")
    assert [(r.field, r.new) for r in rows] == [("reason", "idle")]


def test_absolute_timeout(client, login, run):
    login("sales")
    _shift(client, created=12 * 3600 - 60)
    assert client.get("/customers").status_code == 200
    _shift(client, created=120)                               # 12 h and 1 min after sign-in
    assert client.get("/customers").status_code == 302         # although active all along
    assert audit_rows(run, "session_expired")[0].new == "max_age"


def test_expired_session_on_htmx_request_redirects_the_page(client, login):
    login("sales")
    _shift(client, seen=3 * 3600)
    response = client.get("/customers?q=x", headers=htmx(
        "results", **{"HX-Current-URL": "http://localhost/customers?q=x"}))
    assert response.status_code == 200 and response.data == b""
    assert response.headers["HX-Redirect"] == "/login?next=%2Fcustomers%3Fq%3Dx"


def test_anonymous_htmx_request_redirects_the_page(client):
    response = client.get("/customers", headers=htmx("results"))
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith("/login")


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_MINUTES": 5, "SESSION_MAX_HOURS": 1}])
def test_timeouts_are_settings(client, login):
    login("sales")
    _shift(client, seen=6 * 60)
    assert client.get("/customers").status_code == 302
    login("sales")
    _shift(client, created=3601)
    assert client.get("/customers").status_code == 302


def test_a_session_without_times_is_not_accepted(client, login):
    """A session cookie from before these checks (or forged without the times) ends."""
    login("sales")
    with client.session_transaction() as sess:
        del sess["_created"]
    assert client.get("/customers").status_code == 302


def test_password_change_ends_the_other_sessions(app, login, client, run):
    other = app.test_client()
    assert other.post("/login", data={"username": "sales", "password": PASSWORD}
                      ).status_code == 303
    login("sales")
    response = client.post("/account", data={"which": "password", "pw-current": PASSWORD,
                                             "pw-new": "a-better-secret-9",
                                             "pw-confirm": "a-better-secret-9"})
    assert response.status_code == 303
    assert client.get("/customers").status_code == 200        # this session goes on
    assert other.get("/customers").status_code == 302          # the other one has ended
    assert audit_rows(run, "session_expired")[0].new == "password"


def test_admin_reset_ends_the_users_sessions(app, login, client, run):
    other = app.test_client()
    assert other.post("/login", data={"username": "sales2", "password": PASSWORD}
                      ).status_code == 303
    login("admin")
    target = run(lambda: User.get(User.username == "sales2"))
    assert client.post(f"/admin/users/{target.id}/edit", data={
        "username": "sales2", "role": "sales", "department": str(target.department_id),
        "locale": "en", "is_active": "y", "password": "temporary-secret-4"}).status_code == 303
    assert other.get("/customers").status_code == 302


def test_sign_out_is_audited_and_forgets_the_session(client, login, run):
    login("sales")
    client.post("/logout")
    assert _session(client) == {}
    rows = audit_rows(run, "logout")
    assert len(rows) == 1 and rows[0].user_id == _uid(client, "sales")


# -- cookies ------------------------------------------------------------------------------------

def _cookie(response, name):
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no {name} cookie in {response.headers.getlist('Set-Cookie')}")


def _flags(header):
    return {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}


def test_cookie_flags_over_http(client):
    response = client.get("/login?lang=en")
    for name in ("session", "locale"):
        flags = _flags(_cookie(response, name))
        assert "httponly" in flags and flags["samesite"].lower() == "samesite=lax", name
        assert "secure" not in flags, name
    assert "Strict-Transport-Security" not in response.headers


def test_cookie_flags_over_https(client):
    response = client.get("/login?lang=en", base_url="https://crm.example.com")
    for name in ("session", "locale"):
        flags = _flags(_cookie(response, name))
        assert {"httponly", "secure"} <= set(flags), name
        assert flags["samesite"].lower() == "samesite=lax", name
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    # the session cookie set at sign-in, and the one emptied at sign-out
    signed_in = client.post("/login", base_url="https://crm.example.com",
                            data={"username": "sales", "password": PASSWORD})
    assert signed_in.status_code == 303
    assert "secure" in _flags(_cookie(signed_in, "session"))
    signed_out = client.post("/logout", base_url="https://crm.example.com")
    assert "secure" in _flags(_cookie(signed_out, "session"))


def test_remember_me_cookie_is_cleared_with_secure_flags(client, login):
    """The CRM never issues a remember-me cookie; one sent anyway (left from another app on the
    host, or forged) is cleared at sign-out, Secure over HTTPS like every cookie."""
    login("sales")
    client.set_cookie("remember_token", "1|abc", domain="crm.example.com")
    response = client.post("/logout", base_url="https://crm.example.com")
    assert "secure" in _flags(_cookie(response, "remember_token"))


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_behind_a_trusted_proxy(client, run):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"}
    response = client.get("/login", headers=headers)
    assert "secure" in _flags(_cookie(response, "session"))
    assert "Strict-Transport-Security" in response.headers
    client.post("/login", data={"username": "sales", "password": "wrong-pass-1"},
                headers=headers)
    assert audit_rows(run, "login_failed")[0].ip == "203.0.113.5"


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(client, run):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"}
    response = client.get("/login", headers=headers)
    assert "secure" not in _flags(_cookie(response, "session"))
    assert "Strict-Transport-Security" not in response.headers
    client.post("/login", data={"username": "sales", "password": "wrong-pass-1"},
                headers=headers)
    assert audit_rows(run, "login_failed")[0].ip == "127.0.0.1"


@pytest.mark.parametrize("app_config", [{"HSTS_SECONDS": 600, "HSTS_INCLUDE_SUBDOMAINS": True}])
def test_hsts_settings(client):
    response = client.get("/login", base_url="https://crm.example.com")
    assert response.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
