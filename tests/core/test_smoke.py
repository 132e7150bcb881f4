from tests.conftest import htmx


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_login_required(client):
    response = client.get("/customers")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_customer_list_full_and_partial(login):
    client = login("admin")
    page = client.get("/customers")
    assert page.status_code == 200
    assert b"<html" in page.data and b'id="results"' in page.data
    assert "HX-Request" in page.headers["Vary"]
    partial = client.get("/customers?q=x", headers=htmx("results"))
    assert partial.status_code == 200
    assert b"<html" not in partial.data and b'id="results"' in partial.data
    assert "HX-Request" in partial.headers["Vary"]
