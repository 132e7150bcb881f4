"""The recommendations' hooks: the entry point of the plugin
(``recommendations = plugins.recommendations.hooks``).

Only public hooks: its tables and migrations, a permission, a blueprint (dismissing an action),
the nightly refresh as a periodic job and as ``crm recommendations-refresh``, a lazily loaded
panel on the customer page, a dashboard card, and a first computation after the demo data.
"""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import click
from flask import current_app, render_template, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from crm import Card, Panel, Permission, access, hookimpl
from crm.db import database
from crm.jobs import in_app
from crm.migrate import MigrationSet
from crm.web.htmx import safe_next

from . import services
from .models import MODELS

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
PANEL = "recommendations_next"
CARD = "recommendations_acceptance"


def settings() -> services.Settings:
    return services.Settings.from_config(current_app.config)


# -- start-up ---------------------------------------------------------------------------------

@hookimpl
def crm_register_models():
    return list(MODELS)


@hookimpl
def crm_register_migrations():
    return [MigrationSet("recommendations", MIGRATIONS)]


@hookimpl
def crm_register_blueprints(app):
    from .views import bp
    return [bp]


@hookimpl
def crm_register_permissions():
    return [Permission("recommendations.view",
                       _l("See product recommendations and next best actions"),
                       ("admin", "manager", "sales", "service", "clerk"))]


def refresh_now():
    """The periodic job's body (also ``crm recommendations-refresh``)."""
    return services.refresh(settings=settings())


@hookimpl
def crm_register_jobs(huey, app):
    from huey import crontab
    # RECOMMENDATIONS_REFRESH_AT is UTC, as huey's crontab: 18:40 UTC is 02:40 in China
    hour, minute = (app.config.get("RECOMMENDATIONS_REFRESH_AT") or "18:40").split(":")
    task = huey.periodic_task(crontab(hour=str(int(hour)), minute=str(int(minute))),
                              name="recommendations.refresh")(in_app(app, refresh_now))
    app.extensions["recommendations.tasks"] = {"refresh": task}


@hookimpl
def crm_register_commands(cli):
    @cli.command("recommendations-refresh")
    def recommendations_refresh():
        """Recompute every customer's product recommendations now (the nightly job)."""
        with database.connection_context():
            counts = refresh_now()
        click.echo(f"recommendations: {counts['customers']} customers, {counts['scores']} "
                   f"scores, {counts['similarities']} product pairs in {counts['seconds']} s")


# -- the panel --------------------------------------------------------------------------------

def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(str(get_timezone()))).date()


def panel_context(customer, user) -> dict:
    config = settings()
    recs = services.recommendations_for(customer, settings=config)
    services.log_shown(customer.id, recs, settings=config)
    actions = services.next_actions(customer, _today(), settings=config)
    run = services.last_run()
    service_ticket = "service.ticket" in current_app.view_functions
    panel_url = url_for("customers.panel", customer_id=customer.id, name=PANEL)
    back = request.path if request.method == "GET" else \
        safe_next(request.form.get("next"), panel_url)
    return dict(customer=customer, recs=recs, actions=actions, settings=config,
                computed_at=run.started_at if run else None, link_tickets=service_ticket,
                birthdays=services.BIRTHDAYS_AVAILABLE, back=back,
                may_dismiss=access.can(user, "recommendations.view", customer),
                complaint_first=any(a.kind == "complaint" for a in actions))


def render_panel(customer, user):
    return Markup(render_template("recommendations/_panel.html",
                                  **panel_context(customer, user)))


@hookimpl
def crm_customer_panels(customer, user):
    if not access.can(user, "recommendations.view", customer):
        return []
    return [Panel(PANEL, _("Recommendations"), render_panel, 55)]


# -- the dashboard card -----------------------------------------------------------------------

def render_card(user):
    from crm.customers.models import Customer
    config = settings()
    scope = None if user.role == "admin" else access.scoped_customers(user, Customer.id)
    rows, shown, accepted = services.acceptance(scope)
    return Markup(render_template("recommendations/_card.html", rows=rows, shown=shown,
                                  accepted=accepted, days=config.acceptance_days,
                                  rate=(accepted / shown) if shown else None))


@hookimpl
def crm_dashboard_cards(user):
    if not access.can(user, "recommendations.view"):
        return []
    return [Card(CARD, _("Recommended products"), render_card, 55)]


@hookimpl
def crm_demo_data(app, rng):
    """Compute the demo's recommendations at once (the nightly job would do it later)."""
    services.refresh(settings=services.Settings.from_config(app.config))
