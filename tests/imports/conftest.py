"""Helpers for the import tests, on SQLite and PostgreSQL alike: an app with the card plugin
(a plugin column), files in every encoding and format, and the upload -> map -> check ->
commit steps through the real routes."""
from __future__ import annotations

import csv
import io
import re

import pytest

from tests.conftest import PASSWORD
from tests.imports.card_plugin import hooks as card_hooks


@pytest.fixture
def plugins():
    return [card_hooks]


@pytest.fixture
def seed(app):
    """Data through the services in short app contexts (tests/core/conftest.py): never hold
    an app context open across requests (flask-login would cache the user in ``g``)."""
    from tests.core.conftest import Seed
    return Seed(app)


def client_for(app, username: str):
    """A client of its own signed in as ``username`` (several users in one test)."""
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 303
    return client


def count(seed, model, *where) -> int:
    def fn():
        query = model.select()
        for condition in where:
            query = query.where(condition)
        return query.count()
    return seed.run(fn)


def job(seed, job_id: int):
    from crm.imports.models import Import
    return seed.run(Import.get_by_id, job_id)


def rows(seed, job_id: int, phase: str | None = None) -> list:
    from crm.imports.models import ImportRow

    def fn():
        query = ImportRow.select().where(ImportRow.job == job_id)
        if phase:
            query = query.where(ImportRow.phase == phase)
        return list(query.order_by(ImportRow.line))
    return seed.run(fn)


def csv_bytes(rows, encoding="utf-8-sig", delimiter=",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows) -> bytes:
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, name: str = "customers.csv", kind: str = "customers",
           headers=None):
    return client.post("/imports", data={"kind": kind, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", headers=headers or {})


def import_id(response) -> int:
    match = re.search(r"/imports/(\d+)", response.headers.get("Location", ""))
    assert match, (response.status_code, response.get_data(as_text=True)[:500])
    return int(match.group(1))


def check(client, job_id: int, key: str | None = None, mapping: dict | None = None,
          default_kind: str = "company"):
    """Post the mapping page as a browser would (the guessed selects), changed by
    ``mapping`` {column index: field} and ``key``: this starts the dry run."""
    from tests.security._support import form_data, forms
    page = client.get(f"/imports/{job_id}/mapping")
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    form = next(f for f in forms(page.get_data(as_text=True))
                if any(x["name"] == "key" for x in f.fields))
    data = form_data(form)
    for index, field in (mapping or {}).items():
        data[f"col-{index}"] = field
    if key:
        data["key"] = key
    data["default_kind"] = default_kind
    data["action"] = "check"
    return client.post(f"/imports/{job_id}/mapping", data=data)


def run_import(client, data: bytes, name="customers.csv", key=None, mapping=None,
               kind="customers", commit=True, default_kind="company") -> int:
    response = upload(client, data, name, kind)
    job_id = import_id(response)
    checked = check(client, job_id, key, mapping, default_kind)
    assert checked.status_code == 303, checked.get_data(as_text=True)[:800]
    if commit:
        done = client.post(f"/imports/{job_id}/commit")
        assert done.status_code == 303
    return job_id
