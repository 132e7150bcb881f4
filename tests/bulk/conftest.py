"""Helpers for the bulk path's tests (crm/bulk.py), on SQLite and on PostgreSQL alike (the
top-level ``app`` fixture picks the database from ``CRM_TEST_DATABASE_URL``)."""
from __future__ import annotations

import json

import pytest

from crm.customers import search_index
from crm.db import database
from tests import conftest as top

# Tables the bulk path and these tests write to, children first.
WRITTEN = ("event_delivery", "outbox_event", "audit_log", "purchase_line", "activity", "purchase",
           "product", "customer_tag", "tag", "contact", "customer",
           "number_sequence")


@pytest.fixture(scope="module")
def _module_app(tmp_path_factory):
    """tests/conftest.py's ``app`` (same database choice, config and users), made once per
    module: creating the schema and the users is most of a test's time, on PostgreSQL
    especially.  Each test gets it emptied of what the previous test wrote (``app`` below)."""
    tmp_path = tmp_path_factory.mktemp("bulk")
    url = top._database_url(tmp_path)
    if url.startswith("postgres"):
        top._reset_postgres(url)
    from crm import create_app, migrate
    from crm.accounts import services as accounts
    from crm.accounts.models import Department
    application = create_app({
        "TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test", "PLUGINS": [],
        "JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False, "BABEL_DEFAULT_LOCALE": "en",
        "COMPRESS_REGISTER": False}, instance_path=str(tmp_path / "instance"))
    migrate.upgrade(application)
    with application.app_context():
        database.connect(reuse_if_open=True)
        sales = Department.create(name="Sales")
        team_a = Department.create(name="Team A", parent=sales)
        service = Department.create(name="Service")
        for username, role, name, department in (
                ("admin", "admin", "Admin", None), ("manager", "manager", "Manager", sales),
                ("sales", "sales", "Sales One", team_a), ("sales2", "sales", "Sales Two", team_a),
                ("service", "service", "Service", service), ("clerk", "clerk", "Clerk", service)):
            accounts.create_user(username, top.PASSWORD, role, name, department)
        database.close()
    yield application
    if not database.is_closed():
        database.close()


@pytest.fixture
def app(_module_app):
    """The module's app, emptied of the customers, activities, purchases, events and audit
    rows the test wrote (users and departments stay)."""
    yield _module_app
    with _module_app.app_context():
        database.connect(reuse_if_open=True)
        with database.atomic():
            search_index.clear()
            for table in WRITTEN:
                database.execute_sql(f'DELETE FROM "{table}"')
        database.close()


@pytest.fixture
def ctx(app):
    """An app context with an open connection for the whole test (no requests are made)."""
    with app.app_context():
        database.connect(reuse_if_open=True)
        yield app
        if not database.is_closed():
            database.close()


@pytest.fixture
def users(ctx):
    from crm.accounts.models import User
    return {u.username: u for u in User.select()}


@pytest.fixture
def settings(ctx):
    from crm.customers.services import Settings
    return Settings(ctx.config["CUSTOMER_NUMBER_PATTERN"], ctx.config["BABEL_DEFAULT_TIMEZONE"])


def events(name: str | None = None) -> list[dict]:
    """Outbox events (payload decoded, plus ``_name``/``_status``) in the order written."""
    from crm.events.models import OutboxEvent
    query = OutboxEvent.select().order_by(OutboxEvent.id)
    if name:
        query = query.where(OutboxEvent.name == name)
    return [dict(json.loads(e.payload), _name=e.name, _status=e.status) for e in query]


def counts() -> dict[str, int]:
    """Rows per table the bulk path writes to."""
    tables = ("customer", "contact", "customer_tag", "tag",
              "number_sequence", "activity", "purchase", "purchase_line", "outbox_event",
              "audit_log")
    found = {t: database.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    found["search_token"] = sum(len(search_index.tokens_of(customer_id)) for (customer_id,)
                                in database.execute_sql("SELECT id FROM customer"))
    return found
