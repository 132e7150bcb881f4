"""The insights plugin's hooks: the entry point (``insights = plugins.insights.hooks``).

Only public hooks: its tables and migrations, permissions, a blueprint, the nightly refresh of
the segments as a periodic job and ``crm insights-refresh``, a nav item, a panel on the
customer page (its segment and why), dashboard cards (KPIs, segment sizes), loaded lazily.
"""
from __future__ import annotations

import os

import click
from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from crm import Card, ListFilter, NavItem, Panel, Permission, access, hookimpl
from crm.db import database, utcnow
from crm.jobs import in_app
from crm.migrate import MigrationSet

from .models import MODELS

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


@hookimpl
def crm_register_models():
    return list(MODELS)


@hookimpl
def crm_register_migrations():
    return [MigrationSet("insights", MIGRATIONS)]


@hookimpl
def crm_register_blueprints(app):
    from .views import bp, public
    return [bp, public]


@hookimpl
def crm_register_permissions():
    return [
        Permission("insights.view", _l("See segments and KPIs (over the customers one sees)"),
                   ("admin", "manager", "sales", "service")),
        Permission("insights.admin", _l("Tune the segment rules and set KPI targets"),
                   ("admin",)),
        Permission("insights.survey", _l("Send NPS and CSAT survey links to customers"),
                   ("admin", "manager", "sales", "service")),
        Permission("insights.spend", _l("Enter the marketing spend per channel and month "
                                        "(for the customer acquisition cost)"),
                   ("admin", "manager")),
    ]


def refresh_now():
    """The periodic job's body (also ``crm insights-refresh``): the scores and segments, then
    the settled KPI figures of the administrators and managers (views.warm)."""
    from . import segments, views
    result = segments.refresh()
    views.warm()
    return result


@hookimpl
def crm_register_jobs(huey, app):
    from huey import crontab
    # INSIGHTS_REFRESH_AT is UTC, as huey's crontab: 18:45 UTC is 02:45 in China
    hour, minute = (app.config.get("INSIGHTS_REFRESH_AT") or "18:45").split(":")
    periodic = huey.periodic_task(crontab(hour=str(int(hour)), minute=str(int(minute))),
                                  name="insights.nightly_refresh")(in_app(app, refresh_now))
    task = huey.task(name="insights.refresh")(in_app(app, refresh_now))
    app.extensions["insights.tasks"] = {"refresh": task, "nightly_refresh": periodic}


@hookimpl
def crm_register_commands(cli):
    @cli.command("insights-refresh")
    def insights_refresh():
        """Recompute every customer's RFM scores and lifecycle segment now."""
        with database.connection_context():
            counts = refresh_now()
        click.echo("insights: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                   + f" ({sum(counts.values())} customers)")


@hookimpl
def crm_nav_items(user):
    return [NavItem(_l("Insights"), "insights.index", 70, permission="insights.view")]


def _render_panel(customer, user):
    from . import segments
    from . import surveys
    score = segments.score_of(customer.id)
    sent = surveys.recent(customer.id)
    return Markup(render_template(
        "insights/_panel.html", customer=customer, score=score, surveys=sent,
        token_for=surveys.token_for, now=utcnow(),
        may_survey=access.can(user, "insights.survey", customer),
        reason=segments.reason_text(score) if score else "",
        labels=segments.SEGMENT_LABELS))


@hookimpl
def crm_customer_panels(customer, user):
    if not access.can(user, "insights.view", customer):
        return []
    return [Panel("insights_segment", _("Segment"), _render_panel, 70)]


def _render_kpi_card(user):
    from . import views
    return Markup(views.kpi_card(user))


def _render_segment_card(user):
    from . import segments
    return Markup(render_template("insights/_card_segments.html",
                                  sizes=segments.sizes(user), labels=segments.SEGMENT_LABELS))


def _segment_where(value: str):
    """The customers whose latest computed segment is ``value`` (an indexed lookup)."""
    from crm.customers.models import Customer

    from .models import CustomerScore
    from .segments import SEGMENTS
    if value not in SEGMENTS:
        raise ValueError(_("Unknown segment."))
    return Customer.id.in_(CustomerScore.select(CustomerScore.customer_id)
                           .where(CustomerScore.segment == value))


@hookimpl
def crm_customer_list_filters(user):
    """A "segment" filter on the customer list (``/customers?x_segment=dormant``): a segment
    opens as the ordinary list, in the user's scope, to export or act on in bulk."""
    if not access.can(user, "insights.view"):
        return []
    from .segments import SEGMENT_LABELS, SEGMENTS
    return [ListFilter("segment", _("Segment"), _segment_where,
                       choices=tuple((s, str(SEGMENT_LABELS[s])) for s in SEGMENTS), order=50)]


@hookimpl
def crm_dashboard_cards(user):
    if not access.can(user, "insights.view"):
        return []
    return [Card("insights_kpis", _("KPIs this month"), _render_kpi_card, 35),
            Card("insights_segments", _("Customer segments"), _render_segment_card, 36)]


