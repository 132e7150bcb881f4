"""Every hook of crm/hookspecs.py, implemented the way a third-party plugin would.

The entry point of the plugin (``example = tests.plugins.example_plugin.hooks`` in a
distribution's ``crm.plugins`` group).  tests/plugins/test_contract.py fails when a hookspec
is missing here.
"""
from __future__ import annotations

import os

import click
from flask import render_template, url_for
from markupsafe import Markup
from wtforms import StringField
from wtforms.validators import Length, Optional

from crm import (Action, Card, Column, FormField, ImportColumn, ListFilter, NavItem, Panel,
                 Permission, ValidationError, access, hookimpl)
from crm.db import database
from crm.jobs import in_app
from crm.migrate import MigrationSet

from . import hookspecs as example_hookspecs
from . import services
from .models import ExampleEventLog, ExampleNote

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
PERMISSION = "example.notes"


# -- start-up ---------------------------------------------------------------------------------

@hookimpl
def crm_register_models():
    return [ExampleNote, ExampleEventLog]


@hookimpl
def crm_register_migrations():
    return [MigrationSet("example", MIGRATIONS)]


@hookimpl
def crm_register_hookspecs():
    return [example_hookspecs]


@hookimpl
def crm_register_blueprints(app):
    from .views import bp
    return [bp]


@hookimpl
def crm_register_permissions():
    return [Permission(PERMISSION, "See and pin example notes",
                       ("admin", "manager", "sales", "service"))]


@hookimpl
def crm_register_commands(cli):
    @cli.command("example-stats")
    @click.option("--purge-days", type=int, default=None,
                  help="first drop handled events older than this many days")
    def example_stats(purge_days):
        """How many notes and handled events the example plugin holds."""
        with database.connection_context():
            if purge_days is not None:
                click.echo(f"purged {services.purge_event_log(purge_days)} events")
            notes, events = services.stats()
        click.echo(f"example: {notes} notes, {events} events")


@hookimpl
def crm_register_jobs(huey, app):
    from huey import crontab
    purge = huey.task(name="example.purge_event_log")(in_app(app, services.purge_event_log))
    huey.periodic_task(crontab(minute="15", hour="3"), name="example.nightly_purge")(
        in_app(app, services.purge_event_log))
    app.extensions["example.tasks"] = {"purge_event_log": purge}


# -- descriptors ------------------------------------------------------------------------------

@hookimpl
def crm_nav_items(user):
    return [NavItem("Notes", "example.notes", 70, permission=PERMISSION)]


def _render_panel(customer, user):
    from crm.plugins import host
    lines = [line for _plugin, result in host().safe_call("example_panel_lines", customer=customer)
             for line in (result or [])]
    return Markup(render_template("example/_panel.html", note=services.note_text(customer),
                                  lines=lines))


@hookimpl
def crm_customer_panels(customer, user):
    if not access.can(user, PERMISSION, customer):
        return []
    return [Panel("example_notes", "Notes (example)", _render_panel, 50)]


def _render_card(user):
    rows = services.latest_notes(access.scoped_customers(user), pinned_only=True, limit=5)
    return Markup(render_template("example/_card.html", rows=rows))


@hookimpl
def crm_dashboard_cards(user):
    if not access.can(user, PERMISSION):
        return []
    return [Card("example_pinned", "Pinned notes", _render_card, 40)]


@hookimpl
def crm_customer_actions(customer, user):
    if not access.can(user, PERMISSION, customer):
        return []
    return [Action("Print label", url_for("example.label", customer_id=customer.id), "GET", 50),
            Action("Pin note", url_for("example.pin", customer_id=customer.id), "POST", 51)]


@hookimpl
def crm_customer_list_columns(user):
    return [Column("example_note", "Note", services.notes_for, 90)]


@hookimpl
def crm_customer_list_filters(user):
    return [ListFilter("example_pinned", "Pinned note", services.pinned_where,
                       choices=(("1", "Pinned"), ("0", "Not pinned")), order=90)]


@hookimpl
def crm_customer_form_fields(customer, user):
    return [FormField("example_note",
                      StringField("Note (example)", validators=[Optional(), Length(max=200)]),
                      load=services.note_text, save=services.save_note, order=10)]


def _parse_note(text):
    if len(text) > 200:
        raise ValueError("A note has at most 200 characters.")
    return text


@hookimpl
def crm_import_columns(user):
    return [ImportColumn("example_note", "Note (example)", ("示例备注", "example note"),
                         parse=_parse_note, save=services.save_note, load=services.note_text)]


# -- decisions --------------------------------------------------------------------------------

@hookimpl
def crm_validate_customer(data, customer, user):
    errors = []
    if (data.get("name") or "").strip().lower() in services.DENIED_NAMES:
        errors.append(ValidationError("name", "This name is on the example deny-list."))
    if (data.get("region") or "").strip().lower() in services.DENIED_REGIONS:
        errors.append(ValidationError("", "The example plugin does not serve this region."))
    return errors


@hookimpl
def crm_permission_allowed(user, action, resource):
    # Key accounts (value class A) are moved to the trash by an administrator only.
    if action == "customer.delete" and getattr(resource, "value_class", None) == "A":
        return None if user.role == "admin" else False
    return None


@hookimpl
def crm_render_value(name, value, context):
    if name == "customer.email" and value:
        return Markup('<a href="mailto:{0}">{0}</a>').format(value)
    if name == "column.example_note" and value:
        return Markup('<em class="example-note">{}</em>').format(value)
    return None


# -- events -----------------------------------------------------------------------------------

@hookimpl
def crm_handle_event(event):
    services.record_event(event)


@hookimpl
def crm_demo_data(app, rng):
    from crm.customers.models import Customer
    texts = ["Prefers calls after 3 pm", "Asks for the invoice by WeChat", "Key decision maker",
             "喜欢周末到店"]
    for customer in Customer.select(Customer.id).order_by(Customer.id):
        if rng.random() < 0.5:
            services.save_note(customer, rng.choice(texts))
