"""A broken plugin beside the example plugin: its failures are recorded, its contribution is
dropped, every page stays whole, and the lazily loaded panel or card answers 200 with a small
error card."""
from __future__ import annotations

import re

import pytest

from crm.cli import cli
from tests.conftest import htmx
from tests.plugins import broken_plugin
from tests.plugins.example_plugin import hooks as example
from tests.plugins.helpers import create_customer, customer_form

BOOM = "Boom: the broken plugin fails on purpose"
PANEL_ERROR = "This panel could not be loaded."
CARD_ERROR = "This card could not be loaded."


@pytest.fixture
def plugins():
    return [example, broken_plugin]


def failures(app):
    return app.extensions["crm.plugins"].failures


def test_customer_page_renders_whole(app, login):
    customer = create_customer(app, email="buyer@bluewave.example.com")
    client = login("admin")
    response = client.get(f"/customers/{customer.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for whole in ('id="h-basics"', 'id="contacts"', 'id="timeline"', 'id="purchases"',
                  'id="h-history"', "</html>"):
        assert whole in page
    assert "Print label" in page                                 # example's actions survive
    assert 'id="panel-example_notes"' in page and 'id="panel-broken_panel"' in page
    assert '<a href="/customers">Customers</a>' in page            # the core's nav is whole
    assert 'href="/example/notes"' in page                       # example's nav item survives
    assert '<a href="mailto:buyer@bluewave.example.com">' in page  # render_value survives
    assert ("broken", "crm_customer_actions", "Boom: descriptor hook fails") in failures(app)
    assert ("broken", "crm_nav_items", "Boom: descriptor hook fails") in failures(app)
    assert ("broken", "crm_render_value", "Boom: render_value fails") in failures(app)


def test_broken_panel_answers_200_with_an_error_card(app, login):
    customer = create_customer(app)
    client = login("admin")
    url = f"/customers/{customer.id}/panels/broken_panel"
    partial = client.get(url, headers=htmx("panel-broken_panel"))
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200
    assert "<html" not in body
    assert re.search(r'<section class="card panel" id="panel-broken_panel"[^>]*>\s*'
                     r'<h2 id="h-panel-broken_panel">Broken panel</h2>\s*'
                     r'<p class="error-box">' + re.escape(PANEL_ERROR), body)
    assert "Boom" not in body                                     # no internals leak to users
    full = client.get(url)
    assert full.status_code == 200 and b"<html" in full.data
    assert PANEL_ERROR.encode() in full.data
    assert any(hook == "panel.render" and error == BOOM for _p, hook, error in failures(app))
    ok = client.get(f"/customers/{customer.id}/panels/example_notes", headers=htmx())
    assert ok.status_code == 200 and b"No note yet." in ok.data


def test_broken_card_answers_200_with_an_error_card(app, login):
    client = login("admin")
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    page = dashboard.get_data(as_text=True)
    assert 'id="card-broken_card"' in page and 'id="card-example_pinned"' in page
    assert 'id="card-followups"' in page
    partial = client.get("/dashboard/cards/broken_card", headers=htmx("card-broken_card"))
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in body
    assert re.search(r'<section class="card" id="card-broken_card"[^>]*>\s*'
                     r'<h2 id="h-card-broken_card">Broken card</h2>\s*'
                     r'<p class="error-box">' + re.escape(CARD_ERROR), body)
    full = client.get("/dashboard/cards/broken_card")
    assert full.status_code == 200 and b"<html" in full.data and CARD_ERROR.encode() in full.data
    assert any(hook == "card.render" and error == BOOM for _p, hook, error in failures(app))
    ok = client.get("/dashboard/cards/example_pinned", headers=htmx())
    assert ok.status_code == 200 and b"No pinned note." in ok.data


def test_a_failing_render_is_recorded_under_the_plugins_name(app, login):
    customer = create_customer(app)
    client = login("admin")
    client.get(f"/customers/{customer.id}/panels/broken_panel", headers=htmx())
    client.get("/dashboard/cards/broken_card", headers=htmx())
    recorded = {(plugin, hook) for plugin, hook, _e in failures(app)}
    assert {("broken", "panel.render"), ("broken", "card.render")} <= recorded


def test_customer_list_keeps_working_with_a_failing_column(app, login):
    create_customer(app)
    client = login("admin")
    response = client.get("/customers")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<th scope="col">Note</th>' in page and '<th scope="col">Broken column</th>' in page
    assert '<td data-label="Broken column"></td>' in page           # empty cells, no error
    assert ("broken", "Column.load(broken_column)", BOOM) in failures(app)


def test_customer_form_keeps_the_other_plugins_fields(app, login):
    client = login("admin")
    response = client.get("/customers/new")
    assert response.status_code == 200 and b'name="x_example_note"' in response.data
    assert ("broken", "crm_customer_form_fields", "Boom: descriptor hook fails") in failures(app)
    created = client.post("/customers/new", data=customer_form(app, x_example_note="Kept"))
    assert created.status_code == 303


def test_admin_plugins_page_lists_plugins_and_their_errors(app, login):
    customer = create_customer(app)
    client = login("admin")
    client.get(f"/customers/{customer.id}")                         # make the broken one fail
    response = client.get("/admin/plugins")
    assert response.status_code == 200 and b"<html" in response.data
    page = response.get_data(as_text=True)
    example_hooks = ", ".join(sorted(h for h in dir(example) if h.startswith("crm_")))
    assert re.search(r"<td>example</td><td>1\.2\.3</td><td>[^<]+</td><td><small>"
                     + re.escape(example_hooks) + "</small></td>", page)
    assert re.search(r"<td>broken</td><td>0\.0\.1</td><td>[^<]+</td><td><small>"
                     r"crm_customer_actions, crm_customer_form_fields, ", page)
    assert ("<td>broken</td><td>crm_customer_actions</td><td>Boom: descriptor hook fails</td>"
            in page)                                                 # the recent errors
    assert "HX-Request" in response.headers["Vary"]
    boosted = client.get("/admin/plugins", headers=htmx(**{"HX-Boosted": "true"}))
    assert boosted.status_code == 200 and b"<html" in boosted.data
    partial = client.get("/admin/plugins", headers=htmx())
    assert partial.status_code == 200 and b"<td>example</td><td>1.2.3</td>" in partial.data


def test_admin_plugins_page_is_for_admins_only(app, login):
    client = login("manager")
    assert client.get("/admin/plugins").status_code == 403
    assert client.get("/admin/plugins", headers=htmx()).status_code == 403


def test_crm_plugins_list(app, runner):
    result = runner.invoke(cli, ["plugins", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    example_hooks = ", ".join(sorted(h for h in dir(example) if h.startswith("crm_")))
    broken_hooks = ", ".join(sorted(h for h in dir(broken_plugin) if h.startswith("crm_")))
    assert lines == [f"broken\t0.0.1\tenabled\t{broken_hooks}",
                     f"example\t1.2.3\tenabled\t{example_hooks}"]


def test_crm_plugins_list_shows_disabled_plugins(tmp_path):
    from crm import create_app
    other = create_app({"TESTING": True, "SECRET_KEY": "x", "PLUGINS": [example, broken_plugin],
                        "DISABLED_PLUGINS": ["broken"],
                        "DATABASE_URL": "sqlite:///" + str(tmp_path / "other.db")},
                       instance_path=str(tmp_path / "other"))
    result = other.test_cli_runner().invoke(cli, ["plugins", "list"])
    assert result.output.splitlines()[0] == "broken\t-\tdisabled\t"
    assert result.output.splitlines()[1].startswith("example\t1.2.3\tenabled\tcrm_")


class _FailingVoter:
    """A permission voter that raises: it may have meant to deny, so the answer is no."""
    PLUGIN_NAME = "failing_voter"

    @staticmethod
    def crm_permission_allowed(user, action, resource):
        raise RuntimeError("voter down")


_FailingVoter.crm_permission_allowed = pytest.importorskip("crm").hookimpl(
    _FailingVoter.crm_permission_allowed)


@pytest.mark.parametrize("plugins", [[_FailingVoter()]])
def test_a_failing_permission_voter_denies(app, login):
    client = login("admin")
    assert client.get("/customers/new").status_code == 403       # customer.create denied
    assert client.get("/admin/users").status_code == 403         # user.manage denied
    failures = app.extensions["crm.plugins"].failures
    assert any(p == "failing_voter" and h == "crm_permission_allowed" for p, h, _e in failures)
