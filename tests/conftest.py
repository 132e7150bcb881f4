"""Fixtures in the Flask-tutorial shape: an app per test with a fresh database and an explicit
plugin list; ``client``, ``runner``; ``login(role)`` signs in as a user of that role.

The database is SQLite in a temporary folder, or PostgreSQL when ``CRM_TEST_DATABASE_URL`` is a
``postgresql://`` URL (the suite runs on both in CI: see .ci/run): each test then gets an empty
schema of its process's own.
"""
from __future__ import annotations

import os
import re

import pytest

from crm import create_app, migrate
from crm.accounts import services as accounts
from crm.accounts.models import Department
from crm.db import database

PASSWORD = "test-pass-1"
ROLES = ("admin", "manager", "sales", "service", "clerk")


SCHEMA = f"crm_test_{os.getpid()}"


def _database_url(tmp_path) -> str:
    """SQLite per test, or PostgreSQL in a schema of this test process's own (parallel runs
    on one server never touch each other's tables)."""
    url = os.environ.get("CRM_TEST_DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        separator = "&" if "?" in url else "?"
        # synchronous_commit off: a test's commits do not wait for the disk (nothing here
        # needs to survive a crash of the server), which is most of a PostgreSQL test's time
        return (f"{url}{separator}options=-csearch_path%3D{SCHEMA}"
                "%20-csynchronous_commit%3Doff")
    return "sqlite:///" + str(tmp_path / "crm.db")


def _reset_postgres(url: str) -> None:
    from crm.db import open_database
    db = open_database(url)
    db.connect()
    db.execute_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    db.execute_sql(f"CREATE SCHEMA {SCHEMA}")
    db.close()


def pytest_collection_modifyitems(config, items):
    """For pytest-xdist's ``--dist loadgroup`` (scripts/test.sh runs most of the suite on two
    workers): a file's tests stay on one worker, so module-scoped fixtures are built once.
    (tests/security runs in a process of its own: its modules depend on their order.)"""
    for item in items:
        item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_schema_at_exit():
    yield
    url = os.environ.get("CRM_TEST_DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        from crm.db import open_database
        db = open_database(url)
        db.connect()
        db.execute_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        db.close()


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    """Argon2id still, with test-sized cost: hashing six users per test must not take seconds."""
    from argon2 import PasswordHasher
    saved = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts._DUMMY_HASH = accounts._hasher.hash("not a password")
    yield
    accounts._hasher = saved


@pytest.fixture
def plugins():
    """The plugin list for the app under test; override in a test module to add plugins."""
    return []


@pytest.fixture
def app_config():
    """Extra config for the app under test; override in a test module."""
    return {}


@pytest.fixture
def app(tmp_path, plugins, app_config):
    url = _database_url(tmp_path)
    if url.startswith("postgres"):
        _reset_postgres(url)
    config = {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test",
        "PLUGINS": plugins,
        "JOBS_IMMEDIATE": True,
        "WTF_CSRF_ENABLED": False,
        "BABEL_DEFAULT_LOCALE": "en",
        "COMPRESS_REGISTER": False,
    }
    config.update(app_config)
    application = create_app(config, instance_path=str(tmp_path / "instance"))
    migrate.upgrade(application)
    with application.app_context():
        database.connect(reuse_if_open=True)
        sales = Department.create(name="Sales")
        team_a = Department.create(name="Team A", parent=sales)
        Department.create(name="Team B", parent=sales)
        service = Department.create(name="Service")
        accounts.create_user("admin", PASSWORD, "admin", "Admin")
        accounts.create_user("manager", PASSWORD, "manager", "Manager", sales)
        accounts.create_user("sales", PASSWORD, "sales", "Sales One", team_a)
        accounts.create_user("sales2", PASSWORD, "sales", "Sales Two", team_a)
        accounts.create_user("service", PASSWORD, "service", "Service", service)
        accounts.create_user("clerk", PASSWORD, "clerk", "Clerk", service)
        database.close()
    yield application
    from crm.db import close_all
    close_all()          # pooled PostgreSQL connections too: never one left open per test


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """An open database connection inside an app context, for tests that use the models."""
    with app.app_context():
        database.connect(reuse_if_open=True)
        yield database
        if not database.is_closed():
            database.close()


@pytest.fixture
def login(client):
    """``login("sales")`` signs the test client in as that user (usernames as in ``app``)."""
    def do(username: str = "admin", password: str = PASSWORD):
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 303, response.data[:500]
        return client
    return do


HTMX = {"HX-Request": "true"}


def htmx(target: str | None = None, **extra) -> dict:
    """Headers of an htmx request aimed at ``target`` (an element id)."""
    headers = dict(HTMX)
    if target:
        headers["HX-Target"] = target
    headers.update(extra)
    return headers


def csrf_token(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text) or \
        re.search(r'"X-CSRFToken": "([^"]+)"', text)
    assert match, "no CSRF token in the page"
    return match.group(1)
