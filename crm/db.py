"""The peewee database: one DatabaseProxy, initialised by the app factory.

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout; PostgreSQL comes from a
``postgresql://`` URL.  A connection is opened per request and closed at teardown.
"""
from __future__ import annotations

import datetime as dt
import os
from urllib.parse import urlparse

from peewee import DatabaseProxy, Model, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect as url_connect

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
    "cache_size": -64000,   # 64 MB page cache
    "temp_store": "memory",
}


def utcnow() -> dt.datetime:
    """Naive UTC: every stored time is UTC; templates convert to the user's zone."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


def open_database(url: str):
    """A peewee Database for a URL: sqlite:///path, sqlite:///:memory:, postgresql://..."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if parsed.scheme in ("postgres", "postgresql"):
        return url_connect(url)
    raise ValueError(f"unsupported database URL scheme {parsed.scheme!r} (sqlite or postgresql)")


def is_postgres(db=None) -> bool:
    db = db or database.obj
    return isinstance(db, PostgresqlDatabase)


def init_app(app) -> None:
    database.initialize(open_database(app.config["DATABASE_URL"]))

    @app.before_request
    def _open_connection():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close_connection(_exc):
        if not database.is_closed():
            database.close()
