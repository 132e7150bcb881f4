"""Backups: take one, verify it, keep the last N, restore one.

* SQLite: the online backup API copies a consistent snapshot while the app keeps running (the
  row counts are read in the same read transaction as the copy).
* PostgreSQL: ``pg_dump --format=custom`` (the client tools must be installed), given through
  ``--snapshot`` the REPEATABLE READ snapshot in which the row counts were read: the dump and
  the counts describe the same moment while the app keeps writing.

Verification restores the backup into a temporary database (a temporary SQLite file, or a
temporary PostgreSQL database created next to the real one), runs an integrity check
(``PRAGMA integrity_check`` / a successful ``pg_restore``), and compares every table's row
count with the counts taken with the backup.  Each backup's outcome is appended to
``manifest.json`` in the backup folder, which the admin page reads.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from urllib.parse import urlparse, urlunparse

MANIFEST = "manifest.json"


@dataclass
class Outcome:
    file: str
    at: str
    engine: str
    size: int = 0
    seconds: float = 0.0
    counts: dict = field(default_factory=dict)
    verified: bool = False
    problems: list = field(default_factory=list)


def backup_dir(app) -> str:
    folder = app.config.get("BACKUP_DIR") or os.path.join(app.instance_path, "backups")
    os.makedirs(folder, exist_ok=True)
    return folder


def _sqlite_path(url: str) -> str:
    return url[len("sqlite:///"):]


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


# -- SQLite -------------------------------------------------------------------------------------

def _sqlite_tables(conn) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]


def _sqlite_counts(conn) -> dict:
    return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
            for t in _sqlite_tables(conn)}


def _sqlite_backup(source_path: str, target: str) -> dict:
    src = sqlite3.connect(source_path, timeout=30)
    try:
        src.execute("BEGIN")                 # one read snapshot for the counts and the copy
        counts = _sqlite_counts(src)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
        src.execute("COMMIT")
    finally:
        src.close()
    return counts


def _sqlite_verify(path: str, counts: dict) -> list[str]:
    problems = []
    scratch = tempfile.mktemp(suffix=".db")
    try:
        shutil.copyfile(path, scratch)            # "restore" into a temporary database
        conn = sqlite3.connect(scratch)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if result != "ok":
                problems.append(f"integrity_check: {result}")
            fk = conn.execute("PRAGMA foreign_key_check").fetchall()
            if fk:
                problems.append(f"foreign_key_check: {len(fk)} rows")
            problems += _compare(counts, _sqlite_counts(conn))
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        problems.append(f"not a database: {exc}")
    finally:
        if os.path.exists(scratch):
            os.remove(scratch)
    return problems


def _compare(expected: dict, found: dict) -> list[str]:
    problems = []
    for table, count in sorted(expected.items()):
        if table not in found:
            problems.append(f"{table}: missing")
        elif found[table] != count:
            problems.append(f"{table}: {found[table]} rows, expected {count}")
    return problems


# -- PostgreSQL ------------------------------------------------------------------------------

def _pg_env(url: str) -> tuple[dict, str]:
    """Environment for the client tools, and the database name, from a URL."""
    parsed = urlparse(url)
    env = dict(os.environ)
    if parsed.hostname:
        env["PGHOST"] = parsed.hostname
    if parsed.port:
        env["PGPORT"] = str(parsed.port)
    if parsed.username:
        env["PGUSER"] = parsed.username
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return env, parsed.path.lstrip("/")


def _pg_schema(url: str) -> str:
    from urllib.parse import parse_qs
    options = parse_qs(urlparse(url).query).get("options", [""])[0]
    if "search_path=" in options:
        return options.split("search_path=", 1)[1].split()[0].split(",")[0]
    return "public"


def _pg_connect(url: str):
    import psycopg2
    env, dbname = _pg_env(url)
    return psycopg2.connect(dbname=dbname, host=env.get("PGHOST"), port=env.get("PGPORT"),
                            user=env.get("PGUSER"), password=env.get("PGPASSWORD"))


def _pg_table_counts(cur, schema: str) -> dict:
    cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_type = 'BASE TABLE' ORDER BY table_name", (schema,))
    counts = {}
    for (table,) in cur.fetchall():
        cur.execute(f'SELECT COUNT(*) FROM "{schema}"."{table}"')
        counts[table] = cur.fetchone()[0]
    return counts


def _pg_counts(url: str, schema: str) -> dict:
    conn = _pg_connect(url)
    try:
        return _pg_table_counts(conn.cursor(), schema)
    finally:
        conn.close()


def _pg_backup(url: str, target: str) -> dict:
    env, dbname = _pg_env(url)
    schema = _pg_schema(url)
    conn = _pg_connect(url)
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        cur = conn.cursor()
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        counts = _pg_table_counts(cur, schema)
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--schema={schema}",
                        f"--snapshot={snapshot}", f"--file={target}", dbname],
                       env=env, check=True, capture_output=True)
        conn.rollback()
    finally:
        conn.close()
    return counts


def _pg_verify(url: str, path: str, counts: dict) -> list[str]:
    env, _dbname = _pg_env(url)
    scratch = f"crm_verify_{uuid.uuid4().hex[:12]}"
    admin = _pg_connect(url)
    admin.autocommit = True
    try:
        admin.cursor().execute(f'CREATE DATABASE "{scratch}"')
        done = subprocess.run(["pg_restore", "--no-owner", "--clean", "--if-exists",
                               "--exit-on-error", f"--dbname={scratch}",
                               path], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return [f"pg_restore: {done.stderr.strip()[:500]}"]
        parsed = urlparse(url)
        scratch_url = urlunparse(parsed._replace(path="/" + scratch))
        return _compare(counts, _pg_counts(scratch_url, _pg_schema(url)))
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        admin.close()


# -- the operations ----------------------------------------------------------------------------

def take(app, verify: bool = True) -> Outcome:
    """One backup into the backup folder, verified, recorded in the manifest, old ones pruned."""
    url = app.config["DATABASE_URL"]
    folder = backup_dir(app)
    now = dt.datetime.now(dt.timezone.utc)
    stamp = now.strftime("%Y%m%d-%H%M%S")
    engine = "sqlite" if _is_sqlite(url) else "postgresql"
    name = f"crm-{stamp}.{'db' if engine == 'sqlite' else 'dump'}"
    target = os.path.join(folder, name)
    outcome = Outcome(file=name, at=now.isoformat(timespec="seconds"), engine=engine)
    started = time.monotonic()
    try:
        if engine == "sqlite":
            outcome.counts = _sqlite_backup(_sqlite_path(url), target)
        else:
            outcome.counts = _pg_backup(url, target)
        outcome.size = os.path.getsize(target)
        if verify:
            outcome.problems = (_sqlite_verify(target, outcome.counts) if engine == "sqlite"
                                else _pg_verify(url, target, outcome.counts))
            outcome.verified = not outcome.problems
    except (OSError, sqlite3.Error, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        outcome.problems.append(f"{type(exc).__name__}: {exc} {detail.decode(errors='replace')[:300]}"
                                if isinstance(detail, bytes) else str(exc))
    outcome.seconds = round(time.monotonic() - started, 3)
    _record(folder, outcome)
    prune(app)
    return outcome


def _record(folder: str, outcome: Outcome) -> None:
    path = os.path.join(folder, MANIFEST)
    entries = history_in(folder)
    entries.append(asdict(outcome))
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(entries[-500:], fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


def history_in(folder: str) -> list[dict]:
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return []


def history(app) -> list[dict]:
    """The manifest, newest first, with whether each file is still kept."""
    folder = backup_dir(app)
    entries = list(reversed(history_in(folder)))
    for entry in entries:
        entry["kept"] = os.path.exists(os.path.join(folder, entry["file"]))
    return entries


def prune(app) -> list[str]:
    """Keep the newest ``BACKUP_KEEP`` backup files; delete older ones."""
    folder = backup_dir(app)
    keep = int(app.config.get("BACKUP_KEEP") or 14)
    files = sorted(f for f in os.listdir(folder)
                   if f.startswith("crm-") and f.endswith((".db", ".dump")))
    removed = files[:-keep] if len(files) > keep else []
    for name in removed:
        os.remove(os.path.join(folder, name))
    return removed


def restore(app, path: str) -> None:
    """Replace the database with a backup.  Stop the server and the worker first.  The backup
    is verified before anything is touched; SQLite keeps the replaced file as ``*.before-restore``."""
    url = app.config["DATABASE_URL"]
    if _is_sqlite(url):
        problems = _sqlite_verify(path, {})
        if problems:
            raise ValueError("; ".join(problems))
        target = _sqlite_path(url)
        if os.path.exists(target):
            shutil.copyfile(target, target + ".before-restore")
        src = sqlite3.connect(path)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return
    env, dbname = _pg_env(url)
    subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error",
                    f"--dbname={dbname}", path], env=env, check=True, capture_output=True)
