"""DISABLED_PLUGINS (config) and CRM_DISABLED_PLUGINS (environment) block plugins: nothing
they contribute reaches a page, a command or the outbox."""
from __future__ import annotations

import pytest

from crm.cli import cli
from tests.plugins import broken_plugin
from tests.plugins.example_plugin import hooks as example
from tests.plugins.helpers import create_customer, ctx, dispatch


@pytest.fixture
def plugins():
    return [example, broken_plugin]


@pytest.fixture(params=["config", "environment"])
def app_config(request, monkeypatch):
    if request.param == "environment":
        monkeypatch.setenv("CRM_DISABLED_PLUGINS", "example, broken")
        return {}
    return {"DISABLED_PLUGINS": ["example", "broken"]}


def test_blocked_plugins_contribute_nothing(app, login):
    host = app.extensions["crm.plugins"]
    assert [(r.name, r.enabled) for r in host.info()] == [("broken", False), ("example", False)]
    assert "example" not in app.blueprints
    client = login("admin")
    page = client.get("/")
    assert page.status_code == 200
    assert b"/example/notes" not in page.data and b"example_pinned" not in page.data
    assert client.get("/example/notes").status_code == 404
    customer = create_customer(app)
    detail = client.get(f"/customers/{customer.id}").data
    assert b"Print label" not in detail and b"panel-example_notes" not in detail
    assert b"Note (example)" not in client.get("/customers/new").data
    assert host.failures == []          # the broken plugin was never called


def test_blocked_plugins_get_no_events_and_no_migrations(app):
    from crm import migrate
    from crm.events.models import EventDelivery
    create_customer(app)
    assert dispatch(app) == 1
    with ctx(app):
        assert EventDelivery.select().count() == 0
    assert set(migrate.status(app)) == {"core"}


def test_blocked_plugins_add_no_command(app, runner):
    assert "example-stats" not in app.cli.commands
    listing = runner.invoke(cli, ["plugins", "list"])
    assert listing.output.splitlines() == ["broken\t-\tdisabled\t", "example\t-\tdisabled\t"]
