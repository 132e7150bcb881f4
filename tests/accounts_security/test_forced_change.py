"""Forced password change: a user whose password an administrator set, or a demo user outside
DEMO_MODE, goes to the change-password page on every request until they choose their own."""
from __future__ import annotations

import pytest

from crm.accounts.models import User
from tests.accounts_security.conftest import audit_rows, user
from tests.conftest import PASSWORD, htmx

NEW = "my-own-secret-8"


@pytest.fixture
def flagged(run):
    run(lambda: User.update(must_change_password=True).where(User.username == "sales").execute())


def test_sign_in_goes_to_the_change_page(client, flagged):
    response = client.post("/login?next=/followups", data={"username": "sales",
                                                            "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/password?next=/followups"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Before you continue, choose a new password of your own" in page
    assert 'name="pw-new"' in page


def test_every_page_redirects(client, login, flagged):
    login("sales")
    for url in ("/", "/customers?q=zw", "/followups", "/account", "/products"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/account/password?next="), url
    response = client.get("/customers?q=zw")
    assert response.headers["Location"] == "/account/password?next=/customers?q%3Dzw"


def test_posts_are_redirected_too(client, login, flagged):
    login("sales")
    response = client.post("/customers/new", data={"kind": "person", "name": "张伟"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/password"


def test_htmx_requests_get_hx_redirect(client, login, flagged):
    login("sales")
    for headers in (htmx("results", **{"HX-Current-URL": "http://localhost/customers?q=a"}),
                    htmx(None, **{"HX-Boosted": "true",
                                  "HX-Current-URL": "http://localhost/customers?q=a"})):
        response = client.get("/customers?q=a", headers=headers)
        assert response.status_code == 200 and response.data == b""
        assert response.headers["HX-Redirect"] == "/account/password?next=/customers?q%3Da"


def test_what_stays_reachable(client, login, flagged, app):
    login("sales")
    assert client.get("/account/password").status_code == 200
    css = app.extensions["crm.assets"].url("app.css")
    assert client.get(css).status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.post("/logout").status_code == 303


def test_changing_the_password_lifts_it(client, login, flagged, run):
    login("sales")
    response = client.post("/account/password?next=/followups", data={
        "pw-current": PASSWORD, "pw-new": NEW, "pw-confirm": NEW})
    assert response.status_code == 303 and response.headers["Location"] == "/followups"
    assert client.get("/followups").status_code == 200
    assert client.get("/customers").status_code == 200
    assert user(run, "sales").must_change_password is False
    assert len(audit_rows(run, "password_changed")) == 1
    client.post("/logout")
    assert client.post("/login", data={"username": "sales", "password": NEW}
                       ).headers["Location"] == "/"


def test_the_change_page_needs_the_current_password(client, login, flagged, run):
    login("sales")
    response = client.post("/account/password", data={
        "pw-current": "not-the-password", "pw-new": NEW, "pw-confirm": NEW})
    assert response.status_code == 422
    assert "The current password is wrong." in response.get_data(as_text=True)
    assert user(run, "sales").must_change_password is True


def test_next_is_never_an_open_redirect(client, login, flagged):
    login("sales")
    response = client.post("/account/password?next=//evil.com", data={
        "pw-current": PASSWORD, "pw-new": NEW, "pw-confirm": NEW})
    assert response.headers["Location"] == "/"


def test_the_page_as_htmx_target(client, login, flagged):
    """see_other answers an htmx form post with HX-Location (a partial navigation)."""
    login("sales")
    response = client.post("/account/password", data={
        "pw-current": PASSWORD, "pw-new": NEW, "pw-confirm": NEW}, headers=htmx("main"))
    assert response.status_code == 204 and '"path": "/"' in response.headers["HX-Location"]


@pytest.mark.parametrize("app_config", [{"DEMO_MODE": True}])
def test_not_in_demo_mode(client, login, flagged):
    login("sales")
    assert client.get("/customers").status_code == 200
    page = client.get("/account/password").get_data(as_text=True)
    assert "Before you continue" not in page


def test_a_password_set_by_an_admin_must_be_changed(app, client, login, run):
    login("admin")
    response = client.post("/admin/users/new", data={
        "username": "wang.fang", "display_name": "王芳", "role": "sales", "department": "0",
        "locale": "en", "is_active": "y", "password": "given-by-admin-1"})
    assert response.status_code == 303
    assert user(run, "wang.fang").must_change_password is True
    newcomer = app.test_client()
    signed_in = newcomer.post("/login", data={"username": "wang.fang",
                                              "password": "given-by-admin-1"})
    assert signed_in.headers["Location"].startswith("/account/password")
    # and again after a reset
    newcomer.post("/account/password", data={"pw-current": "given-by-admin-1",
                                             "pw-new": NEW, "pw-confirm": NEW})
    assert user(run, "wang.fang").must_change_password is False
    target = user(run, "wang.fang")
    client.post(f"/admin/users/{target.id}/edit", data={
        "username": "wang.fang", "role": "sales", "department": "0", "locale": "en",
        "is_active": "y", "password": "reset-by-admin-2"})
    assert user(run, "wang.fang").must_change_password is True


def test_editing_a_user_without_a_password_keeps_the_flag_as_it_is(client, login, run):
    login("admin")
    target = user(run, "sales2")
    client.post(f"/admin/users/{target.id}/edit", data={
        "username": "sales2", "role": "sales", "department": str(target.department_id),
        "locale": "en", "is_active": "y"})
    assert user(run, "sales2").must_change_password is False


def test_demo_users_are_flagged(app, run):
    from crm import demo
    with app.app_context():
        demo.load(app, customers=1, echo=lambda *_: None)
    created = user(run, "sales1")            # demo users the fixture had not made already
    assert created.must_change_password is True
    assert created.password_hash.startswith("$argon2id$")


def test_demo_user_outside_demo_mode(app, run):
    """End to end: the demo's well-known password signs in, then must be replaced."""
    from crm import demo
    with app.app_context():
        demo.load(app, customers=1, echo=lambda *_: None)
    browser = app.test_client()
    response = browser.post("/login", data={"username": "sales1", "password": demo.PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/account/password")
    assert browser.get("/").status_code == 302


def test_an_admin_setting_their_own_password_keeps_it(client, login, run):
    login("admin")
    me = user(run, "admin")
    response = client.post(f"/admin/users/{me.id}/edit", data={
        "username": "admin", "display_name": "Admin", "role": "admin", "department": "0",
        "locale": "en", "is_active": "y", "password": "root-of-trust-66"})
    assert response.status_code == 303
    assert user(run, "admin").must_change_password is False
    assert client.get("/admin/users").status_code == 200      # still signed in
