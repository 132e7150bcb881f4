"""Helpers for the hardening tests: run code against the test database, sign in from an address,
read and rewrite the signed session cookie (to move its times instead of waiting)."""
from __future__ import annotations

import pytest

from crm.db import database
from tests.conftest import PASSWORD


@pytest.fixture
def run(app):
    """``run(fn, *args)``: call ``fn`` in a short app context with a database connection."""
    def do(fn, *args, **kwargs):
        with app.app_context():
            database.connect(reuse_if_open=True)
            try:
                return fn(*args, **kwargs)
            finally:
                if not database.is_closed():
                    database.close()
    return do


@pytest.fixture
def sign_in(client):
    """``sign_in(username, password, ip=...)``: the raw POST /login response."""
    def do(username="admin", password=PASSWORD, ip="10.0.0.1", headers=None, c=None):
        return (c or client).post("/login", data={"username": username, "password": password},
                                  environ_base={"REMOTE_ADDR": ip}, headers=headers or {})
    return do


def user(run, username):
    from crm.accounts.models import User
    return run(lambda: User.get(User.username == username))


def audit_rows(run, action):
    from crm.audit.models import AuditLog
    return run(lambda: list(AuditLog.select().where(AuditLog.action == action)
                            .order_by(AuditLog.id)))
