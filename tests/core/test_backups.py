"""Backups: a verified copy (SQLite online backup / pg_dump), the manifest, retention, and a
restore that gives back the same data."""
from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from crm.backups import services as backups
from crm.customers.models import Customer


@pytest.fixture
def app_config(tmp_path):
    return {"BACKUP_DIR": str(tmp_path / "backups"), "BACKUP_KEEP": 2}


def _customers(seed) -> list:
    return seed.run(lambda: sorted((c.number, c.name, c.phone) for c in Customer.select()))


def test_backup_is_verified_and_recorded(app, seed):
    if app.config["DATABASE_URL"].startswith("postgres") and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    seed.customer("杭州华信科技有限公司", phone="13812345678", contacts=[{"name": "李雷"}])
    seed.customer("王芳")
    outcome = backups.take(app)
    assert outcome.problems == [] and outcome.verified
    assert outcome.counts["customer"] == 2 and outcome.counts["contact"] == 1
    assert outcome.size > 0
    assert os.path.exists(os.path.join(app.config["BACKUP_DIR"], outcome.file))
    entry = backups.history(app)[0]
    assert entry["file"] == outcome.file and entry["verified"] and entry["kept"]


def test_retention_keeps_the_newest(app, seed, monkeypatch):
    if app.config["DATABASE_URL"].startswith("postgres"):
        pytest.skip("retention is engine-independent; the SQLite run covers it")
    import datetime as real
    stamps = iter(real.datetime(2026, 1, 1, 0, 0, s, tzinfo=real.timezone.utc) for s in (1, 2, 3))

    class Clock(real.datetime):
        @classmethod
        def now(cls, tz=None):
            return next(stamps)
    monkeypatch.setattr(backups.dt, "datetime", Clock)
    for _ in range(3):
        backups.take(app, verify=False)
    kept = sorted(f for f in os.listdir(app.config["BACKUP_DIR"]) if f.endswith(".db"))
    assert kept == ["crm-20260101-000002.db", "crm-20260101-000003.db"]
    assert [e["kept"] for e in backups.history(app)] == [True, True, False]


def test_a_damaged_backup_fails_verification(app, tmp_path):
    if app.config["DATABASE_URL"].startswith("postgres"):
        pytest.skip("SQLite file check")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"SQLite format 3\x00" + os.urandom(5000))
    assert backups._sqlite_verify(str(garbage), {"customer": 1})
    good = tmp_path / "good.db"
    conn = sqlite3.connect(good)
    conn.execute("CREATE TABLE customer (id INTEGER)")
    conn.commit()
    conn.close()
    assert backups._sqlite_verify(str(good), {"customer": 1}) == ["customer: 0 rows, expected 1"]


def test_restore_gives_back_the_same_data(app, seed):
    if app.config["DATABASE_URL"].startswith("postgres"):
        pytest.skip("a PostgreSQL restore is exercised by the verification (pg_restore into a "
                    "scratch database) above")
    seed.customer("杭州华信科技有限公司", phone="13812345678")
    seed.customer("王芳")
    before = _customers(seed)
    outcome = backups.take(app)
    seed.customer("李娜")                                 # written after the backup
    seed.run(lambda: Customer.update(name="改名").where(Customer.name == "王芳").execute())
    backups.restore(app, os.path.join(app.config["BACKUP_DIR"], outcome.file))
    assert _customers(seed) == before
    assert os.path.exists(backups._sqlite_path(app.config["DATABASE_URL"]) + ".before-restore")


def test_the_admin_page(client, login, app):
    if app.config["DATABASE_URL"].startswith("postgres") and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    login("admin")
    assert "No backup yet." in client.get("/admin/backups").get_data(as_text=True)
    response = client.post("/admin/backups")
    assert response.status_code == 303
    page = client.get("/admin/backups").get_data(as_text=True)
    assert "Last backup verified" in page and "taken and verified" in page
    client.post("/logout")
    login("manager")
    assert client.get("/admin/backups").status_code == 403
    assert client.post("/admin/backups").status_code == 403
