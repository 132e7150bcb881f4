"""The three first-party plugins (service, sales, needs) together, with a broken plugin beside
them; and each one disabled while the others run."""
from __future__ import annotations

import pytest

from plugins.needs import hooks as needs_hooks
from plugins.sales import hooks as sales_hooks
from plugins.service import hooks as service_hooks
from tests.conftest import htmx
from tests.plugins import broken_plugin

ALL = [service_hooks, sales_hooks, needs_hooks]


@pytest.fixture
def plugins():
    return ALL + [broken_plugin]


def test_all_pages_work_together_with_a_broken_plugin_beside(client, login, seed, tickets):
    customer = seed.customer("杭州华信科技有限公司", owner="sales")
    tickets.open(customer.id)
    login("admin")
    page = client.get(f"/customers/{customer.id}")
    assert page.status_code == 200
    for name in ("service_tickets", "sales_deals", "needs_register"):
        assert f"/customers/{customer.id}/panels/{name}".encode() in page.data
        panel = client.get(f"/customers/{customer.id}/panels/{name}", headers=htmx(f"panel-{name}"))
        assert panel.status_code == 200 and b"could not be loaded" not in panel.data, name
    dashboard = client.get("/").data
    for card in ("service_queue", "service_csat", "sales_forecast", "sales_pipeline",
                 "needs_review"):
        assert f"/dashboard/cards/{card}".encode() in dashboard
        response = client.get(f"/dashboard/cards/{card}", headers=htmx(f"card-{card}"))
        assert response.status_code == 200 and b"could not be loaded" not in response.data, card
    for url in ("/service/tickets", "/sales/board", "/sales/deals", "/needs",
                "/service/analysis", "/needs/analysis"):
        assert client.get(url).status_code == 200, url
    nav = dashboard.split(b"</nav>")[0]
    assert b"/service/tickets" in nav and b"/sales/board" in nav and b"/needs" in nav


@pytest.mark.parametrize("disabled", ["service", "sales", "needs"])
def test_each_plugin_can_be_disabled(tmp_path, disabled):
    from crm import create_app, migrate
    from crm.db import database
    config = {"TESTING": True, "DATABASE_URL": "sqlite:///" + str(tmp_path / "crm.db"),
              "SECRET_KEY": "test", "PLUGINS": ALL, "DISABLED_PLUGINS": [disabled],
              "JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False, "BABEL_DEFAULT_LOCALE": "en",
              "COMPRESS_REGISTER": False}
    app = create_app(config, instance_path=str(tmp_path / "instance"))
    applied = migrate.upgrade(app)
    assert disabled not in applied and len(applied) == 3
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert not any(r.startswith(f"/{disabled}") for r in rules)
    if not database.is_closed():
        database.close()
