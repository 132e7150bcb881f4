"""Answers are compressed (brotli or gzip) when the browser accepts it: pages and partials,
and also a form sent back with its errors (422) or a conflict (409), which Flask-Compress
alone leaves as they are (crm/web/setup.py)."""
from __future__ import annotations

import brotli
import pytest

from tests.conftest import htmx


@pytest.fixture
def app_config():
    return {"COMPRESS_REGISTER": True}


BR = {"Accept-Encoding": "br, gzip"}


def test_a_form_with_errors_is_compressed(client, login):
    login("admin")
    plain = client.post("/customers/new", data={"name": "", "kind": "company"})
    assert plain.status_code == 422 and "Content-Encoding" not in plain.headers
    for headers in (BR, dict(BR, **htmx("customer-form"))):
        sent = client.post("/customers/new", data={"name": "", "kind": "company"},
                           headers=headers)
        assert sent.status_code == 422, headers
        assert sent.headers["Content-Encoding"] == "br"
        body = brotli.decompress(sent.get_data())
        assert len(sent.get_data()) < len(body) / 2
        assert body.decode() == client.post("/customers/new", data={
            "name": "", "kind": "company"}, headers={k: v for k, v in headers.items()
                                                     if k != "Accept-Encoding"}
        ).get_data(as_text=True)


def test_pages_and_error_pages_are_compressed(client, login):
    login("admin")
    page = client.get("/customers", headers=BR)
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "br"
    missing = client.get("/customers/999999", headers=BR)
    assert missing.status_code == 404 and missing.headers["Content-Encoding"] == "br"
    assert "<html" in brotli.decompress(missing.get_data()).decode()
