"""The sales pipeline's hooks: the entry point of the plugin (``sales = plugins.sales.hooks``).

Only public hooks: its tables and migrations (with the default stages), permissions, a
blueprint, nav items, a panel on the customer page, an action beside Edit, dashboard cards and
demo data.
"""
from __future__ import annotations

import os

from flask import current_app, render_template, url_for
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
    return [MigrationSet("sales", MIGRATIONS)]


@hookimpl
def crm_register_blueprints(app):
    from .views import bp
    return [bp]


@hookimpl
def crm_register_permissions():
    return [
        Permission("sales.view", _l("See deals and the pipeline"), ("admin", "manager", "sales")),
        Permission("sales.edit", _l("Create, edit and move deals"), ("admin", "manager", "sales")),
        Permission("sales.admin", _l("Configure the pipeline's stages"), ("admin",)),
    ]


@hookimpl
def crm_nav_items(user):
    return [NavItem(_l("Pipeline"), "sales.board", 35, permission="sales.view")]


def _render_panel(customer, user):
    deals = services.customer_deals(customer)
    open_amount = sum(d.amount_fen for d in deals if d.stage.kind == "open")
    return Markup(render_template(
        "sales/_panel.html", customer=customer, deals=deals, open_amount=open_amount,
        may_edit=access.can(user, "sales.edit", customer), yuan=forms.yuan,
        **forms.labels()))


@hookimpl
def crm_customer_panels(customer, user):
    if not access.can(user, "sales.view", customer):
        return []
    return [Panel("sales_deals", _("Deals"), _render_panel, 55)]


@hookimpl
def crm_customer_actions(customer, user):
    if not access.can(user, "sales.edit", customer):
        return []
    return [Action(_("New deal"), url_for("sales.new_deal", customer_id=customer.id), "GET", 55)]


def _render_forecast(user):
    timezone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    return Markup(render_template("sales/_card_forecast.html",
                                  data=services.forecast(user, 3, services.local_today(timezone))))


def _render_figures(user):
    return Markup(render_template("sales/_card_figures.html",
                                  data=services.pipeline_figures(user)))


@hookimpl
def crm_dashboard_cards(user):
    if not access.can(user, "sales.view"):
        return []
    return [Card("sales_forecast", _("Sales forecast"), _render_forecast, 35),
            Card("sales_pipeline", _("Pipeline: conversion and win rate"), _render_figures, 36)]


@hookimpl
def crm_demo_data(app, rng):
    """Deals on a third of the demo customers, spread over the stages."""
    import datetime as dt

    from crm.accounts.models import User
    from crm.customers.models import Customer
    from crm.db import utcnow
    from crm.purchases.models import Product

    from .models import Deal

    if Deal.select().exists():
        return
    stages = services.stages()
    open_stages = [s for s in stages if s.kind == "open"]
    won = [s for s in stages if s.kind == "won"]
    lost = [s for s in stages if s.kind == "lost"]
    products = [p.id for p in Product.select(Product.id).order_by(Product.id)]
    customers = list(Customer.select().where(Customer.deleted_at.is_null()
                                             & Customer.owner.is_null(False)).order_by(Customer.id))
    owners = {u.id: u for u in User.select()}
    now = utcnow()
    titles = ["年度采购", "门店设备更新", "员工福利团购", "系统集成项目", "渠道合作"]
    for customer in customers:
        if rng.random() > 0.35:
            continue
        owner = owners.get(customer.owner_id)
        created = now - dt.timedelta(days=rng.randint(5, 200))
        amount = rng.randint(5, 500) * 100_00
        data = {"title": f"{customer.name[:8]}·{rng.choice(titles)}", "amount_fen": amount,
                "expected_close": (now + dt.timedelta(days=rng.randint(-10, 90))).date(),
                "owner": owner.id if owner else None, "source": rng.choice(
                    ("referral", "website", "exhibition", "existing")), "reason": ""}
        deal = services.create_deal(customer, owner, data, open_stages[0],
                                    [rng.choice(products)] if products else [], now=created)
        steps = rng.randint(0, len(open_stages) - 1)
        when = created
        for stage in open_stages[1:steps + 1]:
            when = when + dt.timedelta(days=rng.randint(1, 20))
            if when >= now:
                break
            deal = services.move(deal.id, deal.version, owner, stage, now=when)
        when = when + dt.timedelta(days=rng.randint(1, 20))
        if when < now and rng.random() < 0.4:
            final = won[0] if (won and rng.random() < 0.6) or not lost else lost[0]
            services.move(deal.id, deal.version, owner, final,
                          {"reason": "价格合适，服务好" if final.kind == "won" else "预算不足"},
                          now=when)
