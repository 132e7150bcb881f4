"""Helpers for the core's tests: seeding data without holding an app context open.

Flask reuses an app context that is already pushed when a request comes in, so a test that
kept one open (the ``db`` fixture) would share ``g`` -- and flask-login's cached user -- across
its requests.  ``seed`` opens a short app context and connection for each call instead.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import types

import pytest
from markupsafe import Markup

from crm import Panel, hookimpl
from crm.db import database


@pytest.fixture(scope="session", autouse=True)
def _compress_assets_once():
    """Every app compresses the same static files with brotli at quality 11 (~0.1 s): keep
    the bytes across the apps of this session.  The output is the same; only faster."""
    import brotli

    from crm.web import assets
    cached = functools.lru_cache(maxsize=64)(brotli.compress)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(assets, "brotli", types.SimpleNamespace(compress=cached))
        yield


class Seed:
    def __init__(self, app):
        self.app = app

    @contextlib.contextmanager
    def ctx(self):
        with self.app.app_context():
            database.connect(reuse_if_open=True)
            try:
                yield
            finally:
                if not database.is_closed():
                    database.close()

    def user(self, username: str):
        from crm.accounts.models import User
        with self.ctx():
            return User.get(User.username == username)

    def settings(self):
        from crm.customers import services
        return services.Settings(self.app.config["CUSTOMER_NUMBER_PATTERN"],
                                 self.app.config["BABEL_DEFAULT_TIMEZONE"])

    def customer(self, name: str = "杭州华信科技有限公司", owner: str = "admin", tags=(),
                 contacts=(), **fields):
        """Create a customer through the service layer (numbered, indexed, audited)."""
        from crm.accounts.models import User
        from crm.customers import services
        from crm.validation import normalise_email, normalise_phone
        with self.ctx():
            user = User.get(User.username == owner)
            data = {"kind": "company" if name.endswith(("公司", "Ltd.", "Inc.")) else "person",
                    "name": name, "owner": user.id}
            data.update(fields)
            if data.get("phone"):
                data["phone"] = normalise_phone(data["phone"])
            if data.get("email"):
                data["email"] = normalise_email(data["email"])
            customer = services.create_customer(data, user, self.settings(), list(tags))
            for contact in contacts:
                values = dict(contact)
                for key in ("mobile", "phone"):
                    if values.get(key):
                        values[key] = normalise_phone(values[key])
                services.save_contact(customer, values, user)
            return services.Customer.get_by_id(customer.id)

    def get_customer(self, customer_id: int):
        from crm.customers.models import Customer
        with self.ctx():
            return Customer.get_by_id(customer_id)

    def activity(self, customer_id: int, username: str = "admin", kind: str = "call",
                 summary: str = "called", occurred_at: dt.datetime | None = None,
                 next_followup_on: dt.date | None = None):
        from crm.activities import services
        from crm.customers.models import Customer
        user = self.user(username)
        with self.ctx():
            customer = Customer.get_by_id(customer_id)
            return services.log_activity(customer, user, kind, summary, occurred_at,
                                         next_followup_on=next_followup_on)

    def calls(self, customer_id: int, username: str, times, summary: str = "call number {i}"):
        """Many calls at once (one insert): for timelines and lists that need volume."""
        from crm.activities.models import Activity
        user = self.user(username)
        with self.ctx():
            Activity.insert_many([dict(customer=customer_id, kind="call", user=user.id,
                                       summary=summary.format(i=i), occurred_at=when)
                                  for i, when in enumerate(times)]).execute()

    def product(self, sku: str = "SKU-1", name: str = "Tea", price_fen: int = 1999,
                active: bool = True):
        from crm.purchases.models import Product
        with self.ctx():
            return Product.create(sku=sku, name=name, price_fen=price_fen, active=active)

    def purchase(self, customer_id: int, lines, username: str = "admin"):
        from crm.customers.models import Customer
        from crm.purchases import services
        user = self.user(username)
        with self.ctx():
            return services.record_purchase(Customer.get_by_id(customer_id), user, lines)

    def run(self, fn, *args, **kwargs):
        """Call ``fn`` inside an app context with a connection (for queries in asserts)."""
        with self.ctx():
            return fn(*args, **kwargs)


@pytest.fixture
def seed(app):
    return Seed(app)


CUSTOMER_FORM = {"kind": "company", "name": "", "phone": "", "email": "", "industry": "",
                 "size": "", "region": "", "founded_on": "", "value_class": "C", "owner": "",
                 "source": "", "preferred_channel": "", "address": "", "tags": "", "notes": "",
                 "version": ""}


def customer_form(page: bytes | str | None = None, **values) -> dict:
    """The create/edit form as a browser posts it: every field, with the version (and the
    other current values) read from ``page`` when given, then ``values``."""
    import re
    data = dict(CUSTOMER_FORM)
    if page is not None:
        text = page.decode() if isinstance(page, bytes) else page
        for name in data:
            match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', text) or \
                re.search(rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', text)
            if match:
                data[name] = _unescape(match.group(1))
        for name in ("kind", "size", "value_class", "owner", "source", "preferred_channel"):
            select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', text, re.S)
            if select:
                chosen = re.search(r'<option selected value="([^"]*)"', select.group(1)) or \
                    re.search(r'<option value="([^"]*)" selected', select.group(1))
                if chosen:
                    data[name] = _unescape(chosen.group(1))
        notes = re.search(r'<textarea[^>]*name="notes"[^>]*>(?:\r?\n)?(.*?)</textarea>', text, re.S)
        if notes:
            data["notes"] = _unescape(notes.group(1))
        for name in ("consent_phone", "consent_sms", "consent_email", "consent_wechat"):
            if re.search(rf'name="{name}"[^>]*checked', text):
                data[name] = "y"
    data.update({k: v for k, v in values.items()})
    return {k: v for k, v in data.items() if v is not None}


def _unescape(value: str) -> str:
    import html
    return html.unescape(value)


class PanelPlugin:
    """A plugin with one customer panel, so that the panel route has something to serve."""
    PLUGIN_NAME = "coretest"

    @hookimpl
    def crm_customer_panels(self, customer, user):
        return [Panel("coretest_notes", "Core test notes",
                      lambda c, u: Markup("<p class='coretest'>notes of %s</p>") % c.name)]


class QueryCounter:
    """Counts the SQL statements peewee executes (its ``query_hooks``, peewee >= 4)."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, event):
        self.statements.append(event.sql)

    def __len__(self):
        return len(self.statements)

    def reset(self):
        self.statements.clear()


@pytest.fixture
def count_queries(app):
    counter = QueryCounter()
    database.obj.query_hooks.append(counter)
    yield counter
    database.obj.query_hooks.remove(counter)
