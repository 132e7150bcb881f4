"""The core's migrations can be undone and done again."""
from __future__ import annotations

from crm.db import database


def test_core_migrations_go_down_and_up_again(app, db):
    """Every core migration's ``down`` undoes its ``up`` (on this database: SQLite or
    PostgreSQL): back to the first one (``down`` reverts through its target), then up to the
    last, and the schema is the same.  No plugin is loaded: their tables refer to the core's."""
    from crm.migrate import CORE_DIRECTORY, MigrationSet, runner_for
    runner = runner_for(MigrationSet("core", CORE_DIRECTORY))
    names = [m.name for m in runner.status()]
    assert len(names) >= 10

    def shape():
        return {t: sorted(c.name for c in database.get_columns(t)) for t in database.get_tables()
                if not t.startswith("migrations_")}
    before = shape()
    runner.down(names[1])
    assert "purchase" in database.get_tables()
    assert "refund_reason" not in [c.name for c in database.get_columns("purchase")]
    runner.up()
    assert shape() == before
