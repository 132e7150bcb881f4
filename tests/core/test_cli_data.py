"""`crm backup`, `crm restore` and `crm reindex` from the command line."""
from __future__ import annotations

import os
import shutil

import pytest

from crm.cli import cli
from crm.customers import search_index
from crm.customers.models import Customer


@pytest.fixture
def app_config(tmp_path):
    return {"BACKUP_DIR": str(tmp_path / "backups")}


def test_backup_restore_reindex(app, runner, seed):
    if app.config["DATABASE_URL"].startswith("postgres") and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    seed.customer("张伟", phone="13812345678")
    result = runner.invoke(cli, ["backup"])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output
    seed.run(search_index.clear)
    assert seed.run(search_index.indexed_customers) == 0
    result = runner.invoke(cli, ["reindex"])
    assert result.exit_code == 0 and "1 customers reindexed" in result.output
    assert seed.run(search_index.indexed_customers) == 1
    if app.config["DATABASE_URL"].startswith("sqlite"):
        backup = os.path.join(app.config["BACKUP_DIR"], sorted(
            f for f in os.listdir(app.config["BACKUP_DIR"]) if f.endswith(".db"))[-1])
        seed.customer("李娜")
        result = runner.invoke(cli, ["restore", backup, "--yes"])
        assert result.exit_code == 0, result.output
        assert seed.run(lambda: [c.name for c in Customer.select()]) == ["张伟"]
        garbage = os.path.join(app.config["BACKUP_DIR"], "garbage.db")
        with open(garbage, "wb") as fh:
            fh.write(b"not a database at all" * 100)
        result = runner.invoke(cli, ["restore", garbage, "--yes"])
        assert result.exit_code != 0 and "restore refused" in result.output
