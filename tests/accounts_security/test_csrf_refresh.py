"""CSRF failures are never silent: an htmx request (partial or boosted) is told to reload the
page (``HX-Refresh``), which brings a fresh token and says why; without htmx, a 400 page in the
user's language; the sign-in form comes back usable."""
from __future__ import annotations

import os
import time

import pytest
from babel import Locale
from babel.support import Translations

import crm
from tests.conftest import PASSWORD, csrf_token, htmx

RELOADED = "The page had expired and was reloaded. Please try again."
EXPIRED = "The form expired or was already sent. Go back, reload the page and try again."


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def signed_in(client):
    def do(username="admin"):
        token = csrf_token(client.get("/login").data)
        response = client.post("/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 303
        return client
    return do


@pytest.mark.parametrize("headers", [htmx("main"), htmx("results"),
                                     htmx(None, **{"HX-Boosted": "true"})],
                         ids=["partial-main", "partial-results", "boosted"])
def test_htmx_without_token_refreshes(client, signed_in, headers):
    signed_in()
    response = client.post("/customers/new", data={"kind": "person", "name": "张伟"},
                           headers=headers)
    assert response.status_code == 200 and response.data == b""
    assert response.headers["HX-Refresh"] == "true"
    # the reload shows why
    page = client.get("/customers/new").get_data(as_text=True)
    assert RELOADED in page


def test_expired_token_on_htmx_refreshes(app, client, signed_in):
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    signed_in()
    token = csrf_token(client.get("/customers/new").data)
    time.sleep(2.1)
    response = client.post("/customers/new", data={"kind": "person", "name": "张伟"},
                           headers=htmx("main", **{"X-CSRFToken": token}))
    assert response.headers.get("HX-Refresh") == "true"
    fresh = csrf_token(client.get("/customers/new").data)
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    ok = client.post("/customers/new", data={"kind": "person", "name": "张伟"},
                     headers=htmx("main", **{"X-CSRFToken": fresh}))
    assert "HX-Refresh" not in ok.headers


def test_without_htmx_a_clear_400_page(client, signed_in):
    signed_in()
    response = client.post("/customers/new", data={"kind": "person", "name": "张伟"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert EXPIRED in page and "Bad request" in page and "<html" in page
    assert "Content-Security-Policy" in response.headers


def _zh(message):
    directory = os.path.join(crm.PACKAGE_DIR, "translations")
    return Translations.load(directory, [Locale.parse("zh_CN")]).gettext(message)


def test_the_400_page_is_in_the_users_language(client, signed_in):
    signed_in()
    client.post("/account", data={"which": "prefs", "prefs-locale": "zh_CN",
                                  "prefs-timezone": "Asia/Shanghai",
                                  "csrf_token": csrf_token(client.get("/account").data)})
    response = client.post("/customers/new", data={"kind": "person", "name": "张伟"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert _zh(EXPIRED) in page


def test_login_with_a_stale_form_shows_the_form_again(client):
    response = client.post("/login", data={"username": "sales", "password": PASSWORD,
                                           "csrf_token": "stale"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The sign-in form had expired. Please sign in again." in page
    assert 'value="sales"' in page
    token = csrf_token(page)                         # a fresh token: signing in now works
    again = client.post("/login", data={"username": "sales", "password": PASSWORD,
                                        "csrf_token": token})
    assert again.status_code == 303
