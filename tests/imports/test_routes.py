"""Every import route as a full page and as an htmx partial, per role; CSRF on the posts."""
from __future__ import annotations

from tests.conftest import htmx
from tests.imports.conftest import client_for, csv_bytes, import_id, run_import, upload

DATA = csv_bytes([["客户名称", "手机"], ["甲乙科技有限公司", "13800001111"], ["华为", "1"]])


def test_pages_full_and_partial(app, login):
    client = login("sales")
    job_id = run_import(client, DATA, key="phone")
    pages = ["/imports", f"/imports/{job_id}", f"/imports/{job_id}?action=error&page=1"]
    for url in pages:
        full = client.get(url)
        assert full.status_code == 200, url
        assert full.get_data(as_text=True).lstrip().lower().startswith("<!doctype html>")
        assert "HX-Request" in full.headers.get("Vary", "")
        main = client.get(url, headers=htmx("main"))
        text = main.get_data(as_text=True)
        assert main.status_code == 200 and "<html" not in text and '<main id="main">' in text
    rows = client.get(f"/imports/{job_id}?action=error", headers=htmx("import-rows"))
    assert rows.get_data(as_text=True).lstrip().startswith('<section id="import-rows">')
    assert "<main" not in rows.get_data(as_text=True)
    status = client.get(f"/imports/{job_id}", headers=htmx("import-status"))
    assert status.get_data(as_text=True).lstrip().startswith('<section id="import-status"')
    assert len(status.get_data()) < 5000                        # an htmx interaction: <= 5 KB
    csv_file = client.get(f"/imports/{job_id}/rejected.csv")
    assert csv_file.status_code == 200 and csv_file.get_data(as_text=True).count("\n") == 2


def test_the_mapping_page_full_and_partial(app, login):
    client = login("manager")
    job_id = import_id(upload(client, DATA))
    assert client.get(f"/imports/{job_id}/mapping").status_code == 200
    partial = client.get(f"/imports/{job_id}/mapping", headers=htmx("main"))
    assert partial.status_code == 200 and "<html" not in partial.get_data(as_text=True)
    assert client.get("/imports/999999").status_code == 404
    assert client.get("/imports/999999/mapping").status_code == 404


def test_the_permission(app):
    for role, allowed in (("admin", True), ("manager", True), ("sales", True),
                          ("service", False), ("clerk", False)):
        client = client_for(app, role)
        assert client.get("/imports").status_code == (200 if allowed else 403), role
        assert upload(client, DATA).status_code == (303 if allowed else 403), role


def test_posts_need_the_csrf_token(app, seed):
    from crm.imports.models import Import
    app.config["WTF_CSRF_ENABLED"] = True
    client = client_for_csrf(app, "sales")
    response = upload(client, DATA)
    assert response.status_code == 400
    assert seed.run(Import.select().count) == 0


def client_for_csrf(app, username):
    from tests.conftest import PASSWORD, csrf_token
    client = app.test_client()
    page = client.get("/login")
    client.post("/login", data={"username": username, "password": PASSWORD,
                                "csrf_token": csrf_token(page.data)})
    return client
