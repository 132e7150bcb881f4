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


POOL_SIZE = 32         # at most this many connections per process (a gunicorn worker has 4 threads;
                       # jobs and tests run more); opened only when needed
POOL_STALE_SECONDS = 300
POOL_WAIT_SECONDS = 20  # a thread that finds the pool exhausted waits this long, then fails


def open_database(url: str, pooled: bool = False):
    """A peewee Database for a URL: sqlite:///path, sqlite:///:memory:, postgresql://...

    ``pooled`` (the app's ``DATABASE_POOL``, on by default for PostgreSQL): connect() takes a
    connection from a pool and close() gives it back, so a request does not pay for a new
    PostgreSQL connection (a fork of a server process, ~3 ms: more than a list's queries)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if parsed.scheme in ("postgres", "postgresql"):
        if pooled:
            return url_connect(parsed._replace(scheme="postgresql+pool").geturl(),
                               max_connections=POOL_SIZE, stale_timeout=POOL_STALE_SECONDS,
                               timeout=POOL_WAIT_SECONDS)
        return url_connect(url)
    raise ValueError(f"unsupported database URL scheme {parsed.scheme!r} (sqlite or postgresql)")


def close_all() -> None:
    """Close every connection, pooled ones included (an app that is done: tests, commands)."""
    if database.obj is None:
        return
    if not database.is_closed():
        database.close()
    close_pool = getattr(database.obj, "close_all", None)
    if close_pool is not None:
        close_pool()


def is_postgres(db=None) -> bool:
    db = db or database.obj
    return isinstance(db, PostgresqlDatabase)


def init_app(app) -> None:
    url = app.config["DATABASE_URL"]
    pooled = app.config.get("DATABASE_POOL")
    if pooled is None:
        pooled = url.startswith(("postgres://", "postgresql://"))
    elif isinstance(pooled, str):            # CRM_DATABASE_POOL=0 / 1
        pooled = pooled.strip().lower() in ("1", "true", "yes", "on")
    database.initialize(open_database(url, pooled=bool(pooled)))

    @app.before_request
    def _open_connection():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close_connection(_exc):
        if not database.is_closed():
            database.close()


def optimize() -> str:
    """Keep the query planner's statistics fresh: ``PRAGMA optimize`` on SQLite (analyzes the
    tables whose size changed a lot since their last ANALYZE, or that never had one), ``ANALYZE``
    on PostgreSQL (autovacuum does it too; this makes it certain after a large import).  Run
    daily by the job worker (crm/jobs.py) and by ``crm optimize``."""
    if is_postgres():
        database.execute_sql("ANALYZE")
        return "ANALYZE"
    database.execute_sql("PRAGMA optimize")
    return "PRAGMA optimize"
