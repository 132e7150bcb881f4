"""Every hook of the community plugin: the entry point (``community = plugins.community.hooks``).

Only public hooks (docs/plugins.md): its tables and migrations, its blueprint, permissions, a
nav item, the "Groups" panel on the customer page, the engagement card on the dashboard, the
demo data, and the two hooks loyalty offers (check-in points), implemented with
``optionalhook=True`` so that the plugin starts, and works, without loyalty.
"""
from __future__ import annotations

import os

from flask import render_template
from markupsafe import Markup

from crm import Card, NavItem, Panel, Permission, access, hookimpl
from crm.customers.models import Customer
from crm.i18n import _l
from crm.migrate import MigrationSet
# The dataclasses of the hooks loyalty offers, imported as docs/loyalty.md ("For other
# plugins") shows: only loyalty's hook contract, never its code.
from plugins.loyalty.hookspecs import Award, RuleType

from . import facts
from .models import MODELS
from .services import CHECKED_IN

PLUGIN_NAME = "community"
MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
VIEW, MANAGE = "community.view", "community.manage"
PANEL, CARD = "community_groups", "community_engagement"
CHECKIN_RULE = "community_checkin"


# -- start-up ---------------------------------------------------------------------------------

@hookimpl
def crm_register_models():
    return list(MODELS)


@hookimpl
def crm_register_migrations():
    return [MigrationSet(PLUGIN_NAME, MIGRATIONS)]


@hookimpl
def crm_register_blueprints(app):
    from .views import bp
    return [bp]


@hookimpl
def crm_register_permissions():
    return [
        Permission(VIEW, _l("See the community: groups, events and topics"),
                   ("admin", "manager", "sales", "service", "clerk")),
        Permission(MANAGE, _l("Create, edit and archive community groups and run any group"),
                   ("admin", "manager")),
    ]


# -- descriptors ------------------------------------------------------------------------------

@hookimpl
def crm_nav_items(user):
    return [NavItem(_l("Community"), "community.index", 55, permission=VIEW)]


def _render_panel(customer, user):
    from .views import customer_context
    return Markup(render_template("community/_panel.html",
                                  **customer_context(customer, user)))


@hookimpl
def crm_customer_panels(customer, user):
    if not access.can(user, VIEW, customer):
        return []
    return [Panel(PANEL, _l("Groups"), _render_panel, 70)]


def _render_card(user):
    figures = facts.summary(customers=access.scoped_customers(user, Customer.id))
    return Markup(render_template("community/_card.html", figures=figures))


@hookimpl
def crm_dashboard_cards(user):
    if not access.can(user, VIEW):
        return []
    return [Card(CARD, _l("Community engagement"), _render_card, 60)]


# -- loyalty (optional: these hooks exist only when loyalty is loaded) ----------------------------

@hookimpl(optionalhook=True)
def loyalty_rule_types():
    return [RuleType(CHECKIN_RULE, _l("Checked in at a community event"), default_points=20)]


@hookimpl(optionalhook=True)
def loyalty_awards_for_event(event):
    """Points for a check-in, once per check-in (its id is the award's ref)."""
    payload = event.payload or {}
    if event.name == CHECKED_IN and payload.get("customer_id") and payload.get("checkin_id"):
        return [Award(int(payload["customer_id"]), CHECKIN_RULE, str(payload["checkin_id"]))]
    return []


# -- demo -----------------------------------------------------------------------------------------

@hookimpl
def crm_demo_data(app, rng):
    from . import demo
    demo.load(app, rng)
