"""Sign-in throttling per account and per address: the count, the refusal (without looking at
the password), the reset (time, a successful sign-in, ``crm user unlock``), no enumeration."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from crm.accounts.models import LoginFailure
from crm.cli import cli
from tests.accounts_security.conftest import audit_rows
from tests.conftest import PASSWORD, htmx

WRONG = "wrong-pass-1"
TOO_MANY = "Too many failed sign-ins."


def _fail(sign_in, username, times, ip="10.0.0.1"):
    for _ in range(times):
        response = sign_in(username, WRONG, ip=ip)
        assert response.status_code == 422, response.status_code


def _age_failures(run, minutes):
    """Move every recorded failure ``minutes`` into the past (instead of waiting)."""
    def move():
        for row in LoginFailure.select():
            LoginFailure.update(at=row.at - dt.timedelta(minutes=minutes)).where(
                LoginFailure.id == row.id).execute()
    run(move)


def test_per_account(sign_in, client, run):
    _fail(sign_in, "sales", 5)
    refused = sign_in("sales", PASSWORD)                      # even the right password
    assert refused.status_code == 429
    body = refused.get_data(as_text=True)
    assert TOO_MANY in body and "Try again in 15 minutes." in body
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert client.get("/customers").status_code == 302       # not signed in
    # from another address too: the account is what is protected
    assert sign_in("sales", PASSWORD, ip="10.9.9.9").status_code == 429
    # another account from the first address is not affected
    assert sign_in("sales2", PASSWORD).status_code == 303


def test_refused_attempt_does_not_check_the_password(sign_in, monkeypatch):
    from crm.accounts import services
    _fail(sign_in, "sales", 5)
    calls = []
    monkeypatch.setattr(services, "authenticate", lambda *a: calls.append(a))
    assert sign_in("sales", PASSWORD).status_code == 429
    assert calls == []


def test_per_address(sign_in):
    # 20 failures spread over many (unknown) accounts from one address
    for n in range(20):
        assert sign_in(f"guess{n}", WRONG, ip="192.0.2.7").status_code == 422
    refused = sign_in("admin", PASSWORD, ip="192.0.2.7")
    assert refused.status_code == 429 and TOO_MANY in refused.get_data(as_text=True)
    # the same account from another address signs in
    assert sign_in("admin", PASSWORD, ip="192.0.2.8").status_code == 303


def test_window_passes_and_it_resets(sign_in, run):
    _fail(sign_in, "sales", 5)
    assert sign_in("sales", PASSWORD).status_code == 429
    _age_failures(run, 10)
    assert sign_in("sales", PASSWORD).status_code == 429      # still inside 15 minutes
    _age_failures(run, 6)
    # 16 minutes later: the old rows are purged at the next failure, and sales may sign in
    sign_in("nobody", WRONG, ip="10.0.0.2")
    assert run(LoginFailure.select().count) == 1
    assert sign_in("sales", PASSWORD).status_code == 303


def test_sliding_window_wait_is_exact(sign_in, run):
    _fail(sign_in, "sales", 5)
    # the oldest failure is 14 minutes old: one more minute to wait
    oldest = run(lambda: LoginFailure.select().order_by(LoginFailure.id).first())
    run(lambda: LoginFailure.update(at=oldest.at - dt.timedelta(minutes=14))
        .where(LoginFailure.id == oldest.id).execute())
    refused = sign_in("sales", PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) <= 60
    assert "Try again in 1 minute." in refused.get_data(as_text=True)


def test_success_clears_the_account(sign_in, client, app):
    _fail(sign_in, "sales", 4)
    assert sign_in("sales", PASSWORD).status_code == 303
    client.post("/logout")
    _fail(sign_in, "sales", 4)                                  # 4 new ones: not 8
    assert sign_in("sales", PASSWORD).status_code == 303


def test_success_does_not_clear_the_address(sign_in, run):
    for n in range(19):
        sign_in(f"guess{n}", WRONG, ip="192.0.2.9")
    assert sign_in("admin", PASSWORD, ip="192.0.2.9").status_code == 303
    assert run(LoginFailure.select().where(LoginFailure.ip == "192.0.2.9").count) == 19


def test_unknown_accounts_are_throttled_alike(sign_in):
    """A locked-out answer must not tell that an account exists."""
    _fail(sign_in, "sales", 5, ip="10.0.0.3")
    _fail(sign_in, "no-such-user", 5, ip="10.0.0.4")
    known = sign_in("sales", WRONG, ip="10.0.0.5")
    unknown = sign_in("no-such-user", WRONG, ip="10.0.0.6")
    assert known.status_code == unknown.status_code == 429
    def text(response, name):     # the CSRF token is signed with the second: leave it out
        body = response.get_data(as_text=True).replace(name, "X")
        return re.sub(r'"X-CSRFToken": "[^"]+"', "TOKEN", body)
    assert text(known, "sales") == text(unknown, "no-such-user")


def test_username_is_counted_case_insensitively(sign_in):
    for name in ("Sales", "SALES", " sales", "sAles", "sales "):
        sign_in(name, WRONG)
    assert sign_in("sales", PASSWORD).status_code == 429


def test_htmx_gets_a_swappable_answer(sign_in):
    _fail(sign_in, "sales", 5)
    response = sign_in("sales", PASSWORD, headers=htmx(None, **{"HX-Boosted": "true"}))
    assert response.status_code == 422            # htmx swaps 422, not 429 (htmx-config)
    assert TOO_MANY in response.get_data(as_text=True)
    assert "Retry-After" in response.headers


def test_refusals_are_audited(sign_in, run):
    _fail(sign_in, "sales", 5)
    sign_in("sales", PASSWORD, ip="10.0.0.77")
    rows = audit_rows(run, "login_throttled")
    assert [(r.field, r.new, r.ip) for r in rows] == [("username", "sales", "10.0.0.77")]


@pytest.mark.parametrize("app_config", [{"LOGIN_MAX_FAILURES_PER_ACCOUNT": 2,
                                         "LOGIN_THROTTLE_MINUTES": 1}])
def test_limits_are_settings(sign_in, run):
    _fail(sign_in, "sales", 2)
    refused = sign_in("sales", PASSWORD)
    assert refused.status_code == 429 and "Try again in 1 minute." in refused.get_data(
        as_text=True)
    _age_failures(run, 2)
    assert sign_in("sales", PASSWORD).status_code == 303


def test_cli_unlock(sign_in, runner):
    _fail(sign_in, "sales", 5)
    assert sign_in("sales", PASSWORD).status_code == 429
    result = runner.invoke(cli, ["user", "unlock", "sales"])
    assert result.exit_code == 0, result.output
    assert sign_in("sales", PASSWORD).status_code == 303


def test_admin_setting_a_password_unlocks(sign_in, app, run):
    from crm.accounts.models import User
    _fail(sign_in, "sales2", 5)
    admin = app.test_client()
    assert sign_in("admin", PASSWORD, c=admin, ip="10.1.1.1").status_code == 303
    target = run(lambda: User.get(User.username == "sales2"))
    response = admin.post(f"/admin/users/{target.id}/edit", data={
        "username": "sales2", "display_name": "", "role": "sales",
        "department": str(target.department_id), "locale": "en", "is_active": "y",
        "password": "brand-new-secret-7"})
    assert response.status_code == 303
    assert sign_in("sales2", "brand-new-secret-7", ip="10.2.2.2").status_code == 303
