"""The dashboard: a frame of cards (core and ``crm_dashboard_cards``), each loaded lazily."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from peewee import fn

from crm import access
from crm.activities import queries as activity_queries
from crm.activities.models import Activity
from crm.contrib import Card
from crm.customers.models import Customer
from crm.db import utcnow
from crm.i18n import _l, local_today
from crm.plugins import host
from crm.tasks import services as task_services
from crm.web.htmx import render

bp = Blueprint("dashboard", __name__)


def _card_followups(user):
    # the same follow-ups as the "My follow-ups" page: the user's day, customers in scope
    today = local_today()
    scope = access.scoped_customers(user)
    overdue, due = activity_queries.followup_counts(user, scope, today)
    task_counts = task_services.counts(user, scope, today)
    soon = [t for t in task_services.open_tasks(user, scope, limit=5)
            if t.due_on is not None and t.due_on <= today]
    return Markup(render_template("dashboard/_card_followups.html",
                                  overdue=overdue + task_counts.overdue,
                                  due=due + task_counts.today, soon=soon, today=today))


def _card_customers(user):
    scope = access.scoped_customers(user)
    week_ago = utcnow() - dt.timedelta(days=7)
    return Markup(render_template(
        "dashboard/_card_customers.html",
        total=scope.count(),
        new=scope.where(Customer.created_at >= week_ago).count(),
        by_class=list(scope.select(Customer.value_class, fn.COUNT(Customer.id))
                      .group_by(Customer.value_class).order_by(Customer.value_class).tuples())))


def _card_activity(user):
    week_ago = utcnow() - dt.timedelta(days=7)
    rows = list(Activity.select(Activity.kind, fn.COUNT(Activity.id))
                .where((Activity.user == user.id) & (Activity.occurred_at >= week_ago))
                .group_by(Activity.kind).order_by(fn.COUNT(Activity.id).desc()).tuples())
    return Markup(render_template("dashboard/_card_activity.html", rows=rows))


def cards(user) -> list[Card]:
    core = [Card("followups", _l("My tasks"), _card_followups, 10),
            Card("activity", _l("My activities, last 7 days"), _card_activity, 20)]
    if access.can(user, "customer.browse"):
        core.append(Card("customers", _l("Customers"), _card_customers, 30))
    taken = {c.name for c in core}
    extra = []
    for card in host().collect("crm_dashboard_cards", user=user):
        if card.name in taken:   # a plugin card may not shadow a core card's route
            host().record_failure(card.plugin or "?", "crm_dashboard_cards",
                                  ValueError(f"card name {card.name!r} is taken by the core"))
            continue
        extra.append(card)
    return sorted(core + extra, key=lambda c: c.order)


@bp.route("/")
@login_required
def index():
    return render("dashboard/index.html", cards=cards(current_user))


@bp.route("/dashboard/cards/<name>")
@login_required
def card(name: str):
    found = {c.name: c for c in cards(current_user)}.get(name)
    if found is None:
        abort(404)
    try:
        body = found.render(current_user)
        body = body if isinstance(body, Markup) else escape(body)
        failed = False
    except Exception as exc:  # noqa: BLE001 - a failing card answers 200 with an error card
        host().record_failure(found.plugin or "core", "card.render", exc)
        body, failed = None, True
    return render("dashboard/card.html", {"*": "dashboard/_card.html"}, card=found, body=body,
                  failed=failed)
