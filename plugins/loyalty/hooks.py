"""Every hook of the loyalty plugin: the entry point (``loyalty = plugins.loyalty.hooks``).

Only public hooks (docs/plugins.md): its tables and migrations, its blueprint (the counter and
the admin pages), permissions, the nightly job and its commands, the counter in the navigation,
the member panel, the dashboard cards, a tier column, an action on the customer page, the
``purchase.recorded`` handler (points, exactly once) and the demo data.
"""
from __future__ import annotations

import logging
import os

import click
from flask import render_template, url_for
from markupsafe import Markup

from crm import Action, Card, Column, NavItem, Panel, Permission, access, hookimpl
from crm.db import database
from crm.i18n import _l
from crm.jobs import in_app
from crm.migrate import MigrationSet

from . import hookspecs as loyalty_hookspecs
from . import queries, services
from .models import MODELS, LoyaltyMember

log = logging.getLogger("crm.plugins.loyalty")

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
COUNTER, ADJUST, ADMIN, REPORT = "loyalty.counter", "loyalty.adjust", "loyalty.admin", \
    "loyalty.report"


# -- start-up ---------------------------------------------------------------------------------

@hookimpl
def crm_register_models():
    return list(MODELS)


@hookimpl
def crm_register_migrations():
    return [MigrationSet("loyalty", MIGRATIONS)]


@hookimpl
def crm_register_hookspecs():
    return [loyalty_hookspecs]


@hookimpl
def crm_register_blueprints(app):
    from .views import bp
    return [bp]


@hookimpl
def crm_register_permissions():
    return [
        Permission(COUNTER, _l("Use the loyalty counter: look up, enrol, earn and redeem"),
                   ("admin", "manager", "sales", "clerk")),
        Permission(ADJUST, _l("Adjust points by hand and reverse points of returns"),
                   ("admin", "manager")),
        Permission(ADMIN, _l("Configure the loyalty programme: tiers, rules, gifts"),
                   ("admin",)),
        Permission(REPORT, _l("See the loyalty dashboard cards"), ("admin", "manager")),
    ]


@hookimpl
def crm_register_commands(cli):
    @cli.command("loyalty-nightly")
    def loyalty_nightly():
        """Run the loyalty nightly job now: expiry, pending points, birthdays, tiers and the
        reconciliation of every balance with its ledger."""
        with database.connection_context():
            run = services.nightly()
        click.echo(f"loyalty: {run.members} members, {run.released} lots released, "
                   f"{run.expired} expired, {run.birthdays} birthdays, {run.downgraded} "
                   f"downgraded, {run.differences} differences")
        if run.differences:
            click.echo(run.report)
            raise SystemExit(1)


@hookimpl
def crm_register_jobs(huey, app):
    from huey import crontab

    # 02:30 in Asia/Shanghai (huey's crontab is in UTC): after the day's trading
    nightly = huey.periodic_task(crontab(minute="30", hour="18"), name="loyalty.nightly")(
        in_app(app, services.nightly))
    app.extensions["loyalty.tasks"] = {"nightly": nightly}


# -- descriptors ------------------------------------------------------------------------------

@hookimpl
def crm_nav_items(user):
    return [NavItem(_l("Counter"), "loyalty.counter", 25, permission=COUNTER),
            NavItem(_l("Loyalty"), "loyalty.admin_index", 85, permission=ADMIN)]


def _render_panel(customer, user):
    member = services.member_for(customer.id)
    summary = None
    if member is not None:
        services.settle(member.id)
        member = LoyaltyMember.get_by_id(member.id)
        summary = queries.summary(member)
    return Markup(render_template("loyalty/_member_panel.html", customer=customer,
                                  summary=summary, key=services.new_key(),
                                  counter=access.can(user, COUNTER, customer)))


@hookimpl
def crm_customer_panels(customer, user):
    if not (access.can(user, COUNTER, customer) or access.can(user, REPORT, customer)):
        return []
    return [Panel("loyalty_member", _l("Membership"), _render_panel, 15)]


@hookimpl
def crm_customer_actions(customer, user):
    if not access.can(user, COUNTER, customer):
        return []
    return [Action(_l("Counter"), url_for("loyalty.member", customer_id=customer.id), "GET", 40)]


def _tier_column(customers):
    ids = [c.id for c in customers]
    if not ids:
        return {}
    from .models import LoyaltyTier
    return {cid: queries.tier_name(tier) for cid, tier in
            ((m.customer_id, m.tier) for m in
             LoyaltyMember.select(LoyaltyMember.customer, LoyaltyMember.tier, LoyaltyTier)
             .join(LoyaltyTier).where(LoyaltyMember.customer.in_(ids)))}


@hookimpl
def crm_customer_list_columns(user):
    if not access.can(user, COUNTER):
        return []
    return [Column("loyalty_tier", _l("Member"), _tier_column, 80)]


def _card(template, compute):
    def render(user):
        return Markup(render_template(template, **compute(access.scoped_customers(user))))
    return render


@hookimpl
def crm_dashboard_cards(user):
    if not access.can(user, REPORT):
        return []
    return [
        Card("loyalty_tiers", _l("Members by tier"), _card(
            "loyalty/_card_tiers.html", lambda scope: {"rows": queries.members_by_tier(scope)}),
            50),
        Card("loyalty_liability", _l("Points outstanding"), _card(
            "loyalty/_card_liability.html",
            lambda scope: dict(zip(("balance", "pending", "value_fen"),
                                   queries.liability(scope)))), 51),
        Card("loyalty_flow", _l("Points earned and redeemed"), _card(
            "loyalty/_card_flow.html", lambda scope: {"rows": queries.monthly_flow(scope)}), 52),
        Card("loyalty_active", _l("Active members"), _card(
            "loyalty/_card_active.html",
            lambda scope: dict(zip(("active", "total"), queries.active_members(scope)))), 53),
    ]


# -- events -------------------------------------------------------------------------------------

@hookimpl
def crm_handle_event(event):
    """Purchases earn points exactly once (key ``purchase:<id>``, whatever the number of
    deliveries); a refund takes them back pro rata; other plugins' awards are credited once
    per (kind, ref).  Raising rolls this plugin's writes back and the event is retried."""
    payload = event.payload or {}
    if event.name == "purchase.recorded" and payload.get("purchase_id"):
        services.earn_for_purchase(int(payload["purchase_id"]), event_uid=event.uid)
    elif event.name == "purchase.refunded" and payload.get("purchase_id"):
        # the core's refunds (crm/purchases/services.py): each sends its own amount and id
        amount = payload.get("amount_fen") or payload.get("refund_fen")
        if amount:
            ref = payload.get("refund_id") or event.uid
            services.refund_purchase(int(payload["purchase_id"]), int(amount),
                                     f"refund:event:{ref}", event_uid=event.uid,
                                     user_id=payload.get("user_id"))
    from crm.plugins import host
    for _plugin, awards in host().safe_call("loyalty_awards_for_event", event=event):
        for item in awards or []:
            if isinstance(item, loyalty_hookspecs.Award):
                try:
                    services.award_customer(item.customer_id, item.kind, item.ref)
                except services.LoyaltyError as exc:     # the rule is off: nothing to credit
                    log.info("loyalty award %s skipped: %s", item, exc)


@hookimpl
def crm_demo_data(app, rng):
    from . import demo
    demo.load(app, rng)
