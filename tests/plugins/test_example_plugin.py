"""Every hook of the example plugin visibly takes effect through the real routes."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from crm import hookimpl
from crm.cli import cli
from crm.db import utcnow
from tests.conftest import htmx
from tests.plugins.example_plugin import hooks as example
from tests.plugins.example_plugin import services as example_services
from tests.plugins.example_plugin.models import ExampleEventLog, ExampleNote
from tests.plugins.helpers import create_customer, ctx, customer_form, outbox


class Contributor:
    """Another plugin implementing the hook the example plugin offers."""
    PLUGIN_NAME = "contributor"

    @hookimpl(optionalhook=True)
    def example_panel_lines(self, customer):
        return [f"Contributed line for {customer.number}"]


@pytest.fixture
def plugins():
    return [example, Contributor()]


def add_note(app, customer, text, pinned=False):
    with ctx(app):
        example_services.save_note(customer, text)
        if pinned:
            ExampleNote.update(pinned=True).where(ExampleNote.customer == customer.id).execute()


def note_of(app, customer_id):
    with ctx(app):
        note = ExampleNote.get_or_none(ExampleNote.customer == customer_id)
        return note.text if note else None


# -- panels, cards, nav, actions --------------------------------------------------------------

def test_panel_is_announced_on_the_page_and_rendered_by_its_own_request(app, login):
    customer = create_customer(app)
    add_note(app, customer, "Prefers <b>green</b> tea & calls after 3 pm")
    client = login("admin")
    url = f"/customers/{customer.id}/panels/example_notes"
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert 'id="panel-example_notes"' in page and f'hx-get="{url}"' in page
    assert "Notes (example)" in page
    assert "Prefers" not in page                       # lazily loaded, not in the page itself

    partial = client.get(url, headers=htmx(f"panel-example_notes"))
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in body
    assert "Prefers &lt;b&gt;green&lt;/b&gt; tea &amp; calls after 3 pm" in body   # escaped
    assert f"Contributed line for {customer.number}" in body      # the hook example offers
    assert "HX-Request" in partial.headers["Vary"]

    full = client.get(url)
    assert full.status_code == 200 and b"<html" in full.data and b"Prefers" in full.data


def test_an_unknown_panel_is_404_and_panels_respect_the_row_scope(app, login):
    theirs = create_customer(app, owner="sales2")
    client = login("sales")
    assert client.get(f"/customers/{theirs.id}/panels/example_notes").status_code == 404
    mine = create_customer(app, name="Maple Design Co., Ltd.", owner="sales")
    assert client.get(f"/customers/{mine.id}/panels/nope").status_code == 404
    assert client.get(f"/customers/{mine.id}/panels/example_notes").status_code == 200


def test_dashboard_card_shows_pinned_notes(app, login):
    customer = create_customer(app)
    add_note(app, customer, "Pinned for the whole team", pinned=True)
    other = create_customer(app, name="Sunrise Foods Inc.")
    add_note(app, other, "Not pinned")
    client = login("admin")
    dashboard = client.get("/").get_data(as_text=True)
    assert 'id="card-example_pinned"' in dashboard and "Pinned notes" in dashboard
    card = client.get("/dashboard/cards/example_pinned", headers=htmx("card-example_pinned"))
    body = card.get_data(as_text=True)
    assert card.status_code == 200 and "<html" not in body
    assert "Pinned for the whole team" in body and "Not pinned" not in body
    assert b"<html" in client.get("/dashboard/cards/example_pinned").data


def test_nav_item_follows_the_plugins_permission(app, login):
    assert app.extensions["crm.permissions"]["example.notes"] == (
        "admin", "manager", "sales", "service")
    customer = create_customer(app, owner="sales")
    add_note(app, customer, "Visible on the notes page")
    client = login("sales")
    home = client.get("/").get_data(as_text=True)
    assert '<a href="/example/notes">Notes</a>' in home
    notes = client.get("/example/notes")
    assert notes.status_code == 200 and b"Visible on the notes page" in notes.data
    client.post("/logout")
    clerk = login("clerk")
    assert b'href="/example/notes"' not in clerk.get("/").data
    assert clerk.get("/example/notes").status_code == 403


def test_notes_page_is_scoped_to_the_users_customers(app, login):
    add_note(app, create_customer(app, owner="sales2"), "Somebody else's secret")
    client = login("sales")
    assert b"Somebody else" not in client.get("/example/notes").data


def test_customer_actions_are_shown_and_work(app, login):
    customer = create_customer(app, owner="sales")
    add_note(app, customer, "To be pinned")
    client = login("sales")
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    label_url = f"/example/customers/{customer.id}/label"
    pin_url = f"/example/customers/{customer.id}/pin"
    assert f'<a class="button" href="{label_url}">Print label</a>' in page
    assert re.search(rf'<form action="{pin_url}" method="post"[^>]*>\s*<input type="hidden" '
                     r'name="csrf_token"[^>]*>\s*<button type="submit" class="">Pin note', page)
    label = client.get(label_url)
    assert label.status_code == 200 and customer.number.encode() in label.data
    pinned = client.post(pin_url)
    assert pinned.status_code == 303
    with ctx(app):
        assert ExampleNote.get(ExampleNote.customer == customer.id).pinned is True
    assert client.get(f"/customers/{customer.id}").status_code == 200


def test_clerk_gets_no_example_actions(app, login):
    customer = create_customer(app)
    client = login("clerk")
    page = client.get(f"/customers/{customer.id}").data
    assert b"Print label" not in page and b"panel-example_notes" not in page


# -- the customer list column ------------------------------------------------------------------

def test_list_column_is_batch_loaded_and_rendered_by_render_value(app, login, monkeypatch):
    customers = [create_customer(app, name=f"Apex Logistics {i} LLC") for i in range(3)]
    add_note(app, customers[1], "Second <one>")
    calls = []
    loader = example_services.notes_for

    def spy(rows):
        calls.append(sorted(c.id for c in rows))
        return loader(rows)
    monkeypatch.setattr(example_services, "notes_for", spy)
    client = login("admin")
    page = client.get("/customers").get_data(as_text=True)
    assert '<th scope="col">Note</th>' in page
    assert calls == [sorted(c.id for c in customers)]          # one call for the whole page
    assert '<em class="example-note">Second &lt;one&gt;</em>' in page
    partial = client.get("/customers?q=Apex", headers=htmx("results")).get_data(as_text=True)
    assert '<th scope="col">Note</th>' in partial and "Second &lt;one&gt;" in partial


# -- the customer form -------------------------------------------------------------------------

def test_form_field_is_offered_saved_and_shown_on_edit(app, login):
    client = login("sales")
    form = client.get("/customers/new").get_data(as_text=True)
    assert 'name="x_example_note"' in form and "Note (example)" in form
    created = client.post("/customers/new", data=customer_form(
        app, "sales", name="Nordlicht GmbH", x_example_note="Likes green tea"))
    assert created.status_code == 303
    customer_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert note_of(app, customer_id) == "Likes green tea"

    edit = client.get(f"/customers/{customer_id}/edit").get_data(as_text=True)
    assert re.search(r'name="x_example_note"[^>]*value="Likes green tea"', edit)
    version = re.search(r'name="version"[^>]*value="(\d+)"', edit).group(1)
    saved = client.post(f"/customers/{customer_id}/edit", data=customer_form(
        app, "sales", name="Nordlicht GmbH", version=version, x_example_note="Oolong now"))
    assert saved.status_code == 303
    assert note_of(app, customer_id) == "Oolong now"


def test_form_field_validators_apply(app, login):
    client = login("admin")
    response = client.post("/customers/new", data=customer_form(app, x_example_note="x" * 201))
    assert response.status_code == 422
    assert b"Field cannot be longer than 200 characters." in response.data


def test_form_field_is_saved_in_the_customers_transaction(app, login, monkeypatch):
    """A failure after the plugin's save (the event) rolls the note back with the customer."""
    from crm.customers import services

    def failing_emit(*args, **kwargs):
        raise RuntimeError("the outbox is down")
    monkeypatch.setattr(services, "emit", failing_emit)
    client = login("admin")
    with pytest.raises(RuntimeError, match="the outbox is down"):
        client.post("/customers/new", data=customer_form(
            app, name="Rollback Trading Ltd.", x_example_note="Must not survive"))
    with ctx(app):
        from crm.customers.models import Customer
        assert Customer.select().count() == 0
        assert ExampleNote.select().count() == 0


def test_a_failing_plugin_save_rolls_the_customer_back(app, login, monkeypatch):
    def failing_save(customer, value):
        raise RuntimeError("plugin save failed")
    monkeypatch.setattr(example_services, "save_note", failing_save)
    client = login("admin")
    with pytest.raises(RuntimeError, match="plugin save failed"):
        client.post("/customers/new", data=customer_form(app, x_example_note="anything"))
    with ctx(app):
        from crm.customers.models import Customer
        assert Customer.select().count() == 0
    assert outbox(app) == []


# -- decisions ---------------------------------------------------------------------------------

def test_validation_blocks_a_field_with_422(app, login):
    client = login("admin")
    response = client.post("/customers/new", data=customer_form(app, name="Evil Corp"))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert re.search(r'<p class="error" id="name-err">[^<]*This name is on the example '
                     r'deny-list\.', body)
    partial = client.post("/customers/new", data=customer_form(app, name="Evil Corp"),
                          headers=htmx("customer-form"))
    assert partial.status_code == 422 and b"<html" not in partial.data
    assert b"deny-list" in partial.data
    with ctx(app):
        from crm.customers.models import Customer
        assert Customer.select().count() == 0


def test_validation_blocks_with_a_form_level_error_and_on_edit(app, login):
    customer = create_customer(app)
    client = login("admin")
    response = client.post(f"/customers/{customer.id}/edit", data=customer_form(
        app, name=customer.name, region="Atlantis", version=str(customer.version)))
    assert response.status_code == 422
    assert re.search(r'<div class="error-box" role="alert"><p>The example plugin does not serve '
                     r'this region\.</p>', response.get_data(as_text=True))
    with ctx(app):
        from crm.customers.models import Customer
        assert Customer.get_by_id(customer.id).region == ""


def test_permission_vote_denies_deleting_a_key_account(app, login):
    key = create_customer(app, owner="sales", value_class="A")
    regular = create_customer(app, name="Sunrise Foods Inc.", owner="sales", value_class="C")
    client = login("sales")
    assert b"Move to trash" not in client.get(f"/customers/{key.id}").data
    assert b"Move to trash" in client.get(f"/customers/{regular.id}").data
    assert client.post(f"/customers/{key.id}/delete").status_code == 403
    assert client.post(f"/customers/{regular.id}/delete").status_code == 303
    client.post("/logout")
    admin = login("admin")
    assert b"Move to trash" in admin.get(f"/customers/{key.id}").data   # the vote abstains
    assert admin.post(f"/customers/{key.id}/delete").status_code == 303


def test_render_value_changes_the_display(app, login):
    customer = create_customer(app, email="buyer@bluewave.example.com")
    page = login("admin").get(f"/customers/{customer.id}").get_data(as_text=True)
    assert ('<a href="mailto:buyer@bluewave.example.com">buyer@bluewave.example.com</a>'
            in page)


# -- events ------------------------------------------------------------------------------------

def test_handle_event_logs_each_event_once(app, login):
    client = login("admin")
    assert client.post("/customers/new", data=customer_form(app)).status_code == 303
    events = outbox(app)
    assert [(e.name, e.status) for e in events] == [("customer.created", "done")]
    with ctx(app):
        logged = [(r.uid, r.name, r.customer_id) for r in ExampleEventLog.select()]
    assert logged == [(events[0].uid, "customer.created", events[0].data["customer_id"])]


# -- start-up hooks: migrations, commands, jobs, demo data --------------------------------------

def test_migrations_create_the_tables_with_their_own_history(app, db):
    from crm import migrate
    tables = set(db.get_tables())
    assert {"example_note", "example_event_log", "migrations_example",
            "migrations_core"} <= tables
    rows = db.execute_sql("SELECT name FROM migrations_example ORDER BY name").fetchall()
    assert [r[0] for r in rows] == ["0001_initial", "0002_note_pinned"]
    core = [r[0] for r in db.execute_sql("SELECT name FROM migrations_core").fetchall()]
    assert "0001_initial" in core and "0002_note_pinned" not in core
    assert "pinned" in {c.name for c in db.get_columns("example_note")}
    assert migrate.upgrade(app) == {"core": [], "example": []}     # idempotent
    assert set(app.extensions["crm.plugins"].models) == {ExampleNote, ExampleEventLog}


def test_migrations_status_lists_the_plugin_history(app, runner):
    result = runner.invoke(cli, ["migrations", "status"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^example\t0001_initial\t\d{4}-", result.output, re.M)
    assert re.search(r"^example\t0002_note_pinned\t\d{4}-", result.output, re.M)


def test_plugin_command_runs(app, runner):
    customer = create_customer(app)
    add_note(app, customer, "Counted")
    result = runner.invoke(args=["example-stats"])
    assert result.exit_code == 0, result.output
    assert result.output == "example: 1 notes, 0 events\n"
    through_crm = runner.invoke(cli, ["example-stats"])
    assert through_crm.output == "example: 1 notes, 0 events\n"


def test_plugin_job_is_registered_and_runs(app):
    huey = app.extensions["crm.huey"]
    assert any(name.endswith("example.nightly_purge") for name in huey._registry._registry)
    with ctx(app):
        ExampleEventLog.create(uid="old", name="customer.created",
                               handled_at=utcnow() - dt.timedelta(days=100))
        ExampleEventLog.create(uid="new", name="customer.created")
    purged = app.extensions["example.tasks"]["purge_event_log"](90)
    assert purged.get() == 1
    with ctx(app):
        assert [r.uid for r in ExampleEventLog.select()] == ["new"]


def test_demo_data_hook_adds_the_plugins_rows(app, runner):
    result = runner.invoke(cli, ["demo", "--customers", "6"])
    assert result.exit_code == 0, result.output
    with ctx(app):
        from crm.customers.models import Customer
        from crm.events.models import OutboxEvent
        assert Customer.select().count() == 6
        assert 0 < ExampleNote.select().count() <= 6
        # the demo's events were delivered to the plugin, once each
        assert ExampleEventLog.select().count() == OutboxEvent.select().count() > 6
