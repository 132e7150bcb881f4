"""The needs register's hooks: the entry point of the plugin (``needs = plugins.needs.hooks``).

Only public hooks: its tables and migrations, permissions, a blueprint, a nav item, a panel and
an action on the customer page, a dashboard card, demo data.
"""
from __future__ import annotations

import os

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from crm import Action, Card, NavItem, Panel, Permission, access, hookimpl
from crm.migrate import MigrationSet

from . import forms, services
from .models import MODELS

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


@hookimpl
def crm_register_models():
    return list(MODELS)


@hookimpl
def crm_register_migrations():
    return [MigrationSet("needs", MIGRATIONS)]


@hookimpl
def crm_register_blueprints(app):
    from .views import bp
    return [bp]


@hookimpl
def crm_register_permissions():
    return [
        Permission("needs.view", _l("See customer needs"),
                   ("admin", "manager", "sales", "service")),
        Permission("needs.edit", _l("Register and update customer needs"),
                   ("admin", "manager", "sales", "service")),
        Permission("needs.analysis", _l("See and export the needs analysis"),
                   ("admin", "manager")),
    ]


@hookimpl
def crm_nav_items(user):
    return [NavItem(_l("Needs"), "needs.index", 45, permission="needs.view")]


def _render_panel(customer, user):
    return Markup(render_template(
        "needs/_panel.html", customer=customer, needs=services.customer_needs(customer),
        may_edit=access.can(user, "needs.edit", customer), priority=services.priority,
        **forms.labels()))


@hookimpl
def crm_customer_panels(customer, user):
    if not access.can(user, "needs.view", customer):
        return []
    return [Panel("needs_register", _("Needs"), _render_panel, 65)]


@hookimpl
def crm_customer_actions(customer, user):
    if not access.can(user, "needs.edit", customer):
        return []
    return [Action(_("Register a need"), url_for("needs.new", customer_id=customer.id), "GET",
                   65)]


def _render_card(user):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from flask_babel import get_timezone
    today = dt.datetime.now(ZoneInfo(str(get_timezone()))).date()
    return Markup(render_template("needs/_card.html", due=services.review_due(user, today),
                                  counts=services.status_counts(user), **forms.labels()))


@hookimpl
def crm_dashboard_cards(user):
    if not access.can(user, "needs.view"):
        return []
    return [Card("needs_review", _("Customer needs"), _render_card, 50)]


@hookimpl
def crm_demo_data(app, rng):
    """Needs on a quarter of the demo customers."""
    import datetime as dt

    from crm.accounts.models import User
    from crm.customers.models import Customer

    from .models import Need

    if Need.select().exists():
        return
    samples = [("function", "需要开放 API 对接 ERP", "希望订单能自动同步到我们的 ERP"),
               ("service", "希望提供上门培训", "新员工不会用，想请你们来培训一次"),
               ("price", "希望年付有折扣", "预算有限，年付能不能便宜一些"),
               ("cooperation", "愿意做区域代理", "他们在本地有渠道，想谈代理合作"),
               ("function", "需要开放 API 对接 ERP", "财务要求数据自动导入")]
    users = {u.id: u for u in User.select()}
    today = dt.date.today()
    for customer in Customer.select().where(Customer.deleted_at.is_null()).order_by(Customer.id):
        if rng.random() > 0.25 or customer.owner_id not in users:
            continue
        need_type, title, words = rng.choice(samples)
        implicit = rng.random() < 0.3
        services.create_need(customer, users[customer.owner_id], {
            "kind": "implicit" if implicit else "explicit", "type": need_type, "title": title,
            "statement": words, "situation": "回访时提到" if not implicit else "",
            "evidence": "最近三次采购都在月底加急" if implicit else "", "contact": None,
            "urgency": rng.randint(1, 5), "importance": rng.randint(1, 5),
            "customer_value": services.default_customer_value(customer)}, today)
