"""Batches and jobs: each batch is one transaction; a batch that fails (a killed import)
leaves the batches before it complete and nothing of itself; the import shows as interrupted
with resume and undo; large files run as a background job with a polled <progress>; the
rejected rows download as CSV."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from crm import bulk
from crm.audit.models import AuditLog
from crm.customers import search_index
from crm.customers.models import Contact, Customer
from crm.events.models import OutboxEvent
from crm.imports.models import Import
from tests.conftest import htmx
from tests.imports.conftest import (check, count, csv_bytes, import_id, job, rows, run_import,
                                    upload)


@pytest.fixture
def app_config():
    return {"IMPORT_BATCH_SIZE": 3, "IMPORT_INLINE_MAX_ROWS": 4}


def people(n: int, start: int = 0) -> bytes:
    return csv_bytes([["姓名", "手机", "联系人", "标签"]]
                     + [[f"客户{i:03d}", f"1380000{i:04d}", f"联系人{i}", "导入"]
                        for i in range(start, start + n)])


@pytest.fixture
def tasks(app):
    """Count what goes through the job queue (JOBS_IMMEDIATE runs it inline)."""
    calls = []
    registered = app.extensions["crm.imports.tasks"]
    for name, task in list(registered.items()):
        def spy(*args, _task=task, _name=name, **kwargs):
            calls.append(_name)
            return _task(*args, **kwargs)
        registered[name] = spy
    return calls


def test_a_large_file_runs_as_a_job_and_the_page_polls(app, login, seed, tasks):
    client = login("sales")
    job_id = run_import(client, people(10), default_kind="person", key="phone")
    assert tasks == ["run", "run"]                    # the dry run and the commit
    assert count(seed, Customer) == 10 and job(seed, job_id).status == "done"
    # while it runs: a <progress>, polled every 2 s, with a refresh without JavaScript
    seed.run(lambda: Import.update(status="running", done_rows=3, heartbeat_at=dt.datetime.utcnow())
             .where(Import.id == job_id).execute())
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert '<progress max="100" value="30"' in page and 'hx-trigger="every 2s"' in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    poll = client.get(f"/imports/{job_id}?poll=1", headers=htmx("import-status"))
    assert poll.status_code == 200 and poll.get_data(as_text=True).lstrip().startswith(
        '<section id="import-status"')
    # "Imports" lists it with its state; the user can leave and come back
    assert "Importing" in client.get("/imports").get_data(as_text=True)
    # once it is finished, the next poll reloads the whole page (results, buttons)
    seed.run(lambda: Import.update(status="done").where(Import.id == job_id).execute())
    poll = client.get(f"/imports/{job_id}?poll=1", headers=htmx("import-status"))
    assert poll.headers.get("HX-Refresh") == "true"


def test_a_killed_import_leaves_complete_batches_and_nothing_half_written(app, login, seed,
                                                                           monkeypatch):
    client = login("sales")
    real = bulk.bulk_create_customers
    calls = []

    def dying(rows, user, settings, batch_size=1000):
        calls.append(len(rows))
        ids = real(rows, user, settings, batch_size)     # written, then the worker "dies"
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return ids
    monkeypatch.setattr(bulk, "bulk_create_customers", dying)
    job_id = run_import(client, people(8), default_kind="person", key="phone")
    stopped = job(seed, job_id)
    assert (stopped.status, stopped.done_rows, stopped.n_create) == ("interrupted", 3, 3)
    assert "worker killed" in stopped.message
    # the first batch complete, nothing of the second: no customer, contact, token, event,
    # audit row or import row of it
    assert count(seed, Customer) == 3 and count(seed, Contact) == 3
    ids = seed.run(lambda: [c.id for c in Customer.select()])
    assert seed.run(search_index.indexed_customers) == 3
    assert all(seed.run(lambda: [search_index.tokens_of(i) for i in ids]))
    assert count(seed, OutboxEvent, OutboxEvent.name == "customer.created") == 3
    assert count(seed, AuditLog, AuditLog.action == "create") == 3
    assert [r.line for r in rows(seed, job_id, "commit")] == [2, 3, 4]
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "Interrupted" in page and "Resume" in page and "Undo this import" in page
    # resume goes on after the last complete batch
    monkeypatch.setattr(bulk, "bulk_create_customers", real)
    assert client.post(f"/imports/{job_id}/resume").status_code == 303
    resumed = job(seed, job_id)
    assert (resumed.status, resumed.n_create, resumed.done_rows) == ("done", 8, 8)
    names = seed.run(lambda: sorted(c.name for c in Customer.select()))
    assert names == [f"客户{i:03d}" for i in range(8)]               # each once
    numbers = seed.run(lambda: sorted(c.number for c in Customer.select()))
    assert len(set(numbers)) == 8


def test_a_worker_that_died_shows_as_interrupted_and_can_be_undone(app, login, seed,
                                                                   monkeypatch):
    client = login("sales")
    real = bulk.bulk_create_customers
    calls = []

    def dying(rows, user, settings, batch_size=1000):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt    # not even an Exception: the process is going down
        return real(rows, user, settings, batch_size)
    monkeypatch.setattr(bulk, "bulk_create_customers", dying)
    job_id = import_id(upload(client, people(8)))
    check(client, job_id, key="phone", default_kind="person")
    from crm.db import database
    from crm.imports import services
    with app.app_context(), pytest.raises(KeyboardInterrupt):    # the worker, outside a request
        database.connect(reuse_if_open=True)
        try:
            assert services.claim(services.Import.get_by_id(job_id), "commit")
            services.run(job_id, "commit")
        finally:
            database.close()
    # the worker is gone: the import stays "running" until it is stale
    assert job(seed, job_id).status == "running"
    assert "Importing" in client.get(f"/imports/{job_id}").get_data(as_text=True)
    stale = dt.datetime.utcnow() - dt.timedelta(hours=1)
    seed.run(lambda: Import.update(heartbeat_at=stale).where(Import.id == job_id).execute())
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "Interrupted" in page and "Resume" in page
    assert count(seed, Customer) == 3
    assert client.post(f"/imports/{job_id}/undo").status_code == 303
    assert count(seed, Customer) == 0 and job(seed, job_id).status == "undone"
    assert count(seed, OutboxEvent, OutboxEvent.name == "customer.purged") == 3


def test_rejected_rows_download_as_csv_with_the_reason(app, login, seed):
    client = login("sales")
    data = csv_bytes([["客户名称", "手机", "备注"], ["甲乙科技有限公司", "13800001111", ""],
                      ["华为", "13800002222", ""], ["丙丁科技有限公司", "13800003333",
                                                    "=cmd|' /C calc'!A0"]])
    job_id = run_import(client, data, key="phone")
    response = client.get(f"/imports/{job_id}/rejected.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0] == ["Line", "客户名称", "手机", "备注", "Reason"]
    assert [r[0] for r in table[1:]] == ["3", "4"]
    assert table[2][3] == "'=cmd|' /C calc'!A0"           # neutralised for the spreadsheet
    assert "formula" in table[2][4] and "full name" in table[1][4]


def test_the_worker_runs_without_a_request_in_the_users_language(app, login, seed):
    from crm.accounts.models import User
    from crm.db import database
    from crm.imports import services
    seed.run(lambda: User.update(locale="zh_CN").where(User.username == "sales").execute())
    client = login("sales")
    job_id = import_id(upload(client, csv_bytes([["姓名", "手机"]] + [
        [f"客户{i}", f"1380000{i:04d}"] for i in range(5)] + [["错号", "1380000"]])))
    check(client, job_id, key="phone", default_kind="person")
    with app.app_context():                      # as `crm worker` runs it: no request
        database.connect(reuse_if_open=True)
        assert services.claim(services.Import.get_by_id(job_id), "commit")
        app.extensions["crm.imports.tasks"]["run"](job_id, "commit", False)
        database.close()
    done = job(seed, job_id)
    assert (done.status, done.n_create, done.n_error) == ("done", 5, 1)
    (error,) = [r for r in rows(seed, job_id, "commit") if r.action == "error"]
    assert error.message.startswith("电话: ") and "区号" in error.message
