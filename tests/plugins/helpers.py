"""Helpers for the plugin host's tests: seeding through the services in short app contexts.

Flask reuses an app context that is already pushed when a request comes in, so a test that
kept one open would share ``g`` (and flask-login's cached user) across its requests: every
helper here opens its own short context and connection instead.
"""
from __future__ import annotations

import contextlib
import json
import textwrap

from crm.db import database

EXAMPLE = "tests.plugins.example_plugin.hooks"


@contextlib.contextmanager
def ctx(app):
    """An app context with an open connection, closed again on exit."""
    with app.app_context():
        database.connect(reuse_if_open=True)
        try:
            yield
        finally:
            if not database.is_closed():
                database.close()


def user(app, username: str):
    from crm.accounts.models import User
    with ctx(app):
        return User.get(User.username == username)


def settings(app):
    from crm.customers import services
    return services.Settings(app.config["CUSTOMER_NUMBER_PATTERN"],
                             app.config["BABEL_DEFAULT_TIMEZONE"])


def create_customer(app, name: str = "Bluewave Trading Ltd.", owner: str = "admin", **fields):
    """A customer created through the service layer (numbered, audited, its event emitted)."""
    from crm.accounts.models import User
    from crm.customers import services
    with ctx(app):
        creator = User.get(User.username == owner)
        data = {"kind": "company", "name": name, "owner": creator.id}
        data.update(fields)
        return services.create_customer(data, creator, settings(app))


def customer_form(app, owner: str = "admin", **overrides) -> dict:
    """The POST body of the customer form, valid unless ``overrides`` make it otherwise."""
    form = {"kind": "company", "name": "Orbit Electronics Ltd.", "phone": "", "email": "",
            "industry": "", "size": "", "region": "", "founded_on": "", "value_class": "C",
            "owner": str(user(app, owner).id), "source": "", "preferred_channel": "",
            "address": "", "tags": "", "notes": ""}
    form.update(overrides)
    return form


def outbox(app, name: str | None = None) -> list:
    """The outbox rows (oldest first), optionally of one event name, payloads decoded."""
    from crm.events.models import OutboxEvent
    with ctx(app):
        query = OutboxEvent.select().order_by(OutboxEvent.id)
        if name:
            query = query.where(OutboxEvent.name == name)
        rows = list(query)
    for row in rows:
        row.data = json.loads(row.payload)
    return rows


def dispatch(app, now=None) -> int:
    """Run the outbox dispatcher once, as the job worker does."""
    from crm.events.services import dispatch_pending
    with ctx(app):
        return dispatch_pending(app.extensions["crm.plugins"],
                                app.config["OUTBOX_MAX_ATTEMPTS"], now=now)


def write_distribution(root, dist_name: str, version: str, entry_points: dict,
                       modules: dict | None = None) -> None:
    """An installed distribution as importlib.metadata finds it: ``<name>-<version>.dist-info``
    with METADATA and entry_points.txt under ``root`` (to put on sys.path), plus modules."""
    info = root / f"{dist_name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\n"
                                   f"Version: {version}\n", encoding="utf-8")
    lines = ["[crm.plugins]"] + [f"{name} = {target}" for name, target in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for module, source in (modules or {}).items():
        (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
