"""The service desk's hooks: the entry point of the plugin (``service = plugins.service.hooks``).

Only public hooks: its tables and migrations, permissions, a blueprint, the SLA check as a
periodic job, a nav item, a panel on the customer page, an action beside Edit, dashboard cards.
"""
from __future__ import annotations

import os

import click
from flask import current_app, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from crm import Action, Card, NavItem, Panel, Permission, access, hookimpl
from crm.db import database
from crm.jobs import in_app
from crm.migrate import MigrationSet

from . import forms, services
from .models import MODELS

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


# -- start-up ---------------------------------------------------------------------------------

@hookimpl
def crm_register_models():
    return list(MODELS)


@hookimpl
def crm_register_migrations():
    return [MigrationSet("service", MIGRATIONS)]


@hookimpl
def crm_register_blueprints(app):
    from .views import bp
    return [bp]


@hookimpl
def crm_register_permissions():
    return [
        Permission("service.view", _l("See service tickets"),
                   ("admin", "manager", "sales", "service")),
        Permission("service.create", _l("Open service tickets"),
                   ("admin", "manager", "sales", "service", "clerk")),
        Permission("service.handle", _l("Handle service tickets (assign, resolve, close)"),
                   ("admin", "manager", "service")),
        Permission("service.analysis", _l("See the complaint analysis"),
                   ("admin", "manager", "service")),
        Permission("service.admin", _l("Set SLA targets and the working calendar"),
                   ("admin",)),
    ]


def check_sla_now():
    """The periodic job's body: warn and escalate (also ``crm service-check-sla``)."""
    return services.check_sla(services.Settings.from_config(current_app.config))


@hookimpl
def crm_register_jobs(huey, app):
    from huey import crontab
    task = huey.periodic_task(crontab(minute="*/5"), name="service.check_sla")(
        in_app(app, check_sla_now))
    app.extensions["service.tasks"] = {"check_sla": task}


@hookimpl
def crm_register_commands(cli):
    @cli.command("service-check-sla")
    def service_check_sla():
        """Warn about tickets close to their SLA deadline and escalate missed ones now."""
        with database.connection_context():
            counts = check_sla_now()
        click.echo(f"service: {counts['warned']} warned, {counts['breached']} escalated")


# -- descriptors ------------------------------------------------------------------------------

@hookimpl
def crm_nav_items(user):
    return [NavItem(_l("Tickets"), "service.tickets", 40, permission="service.view")]


def _render_panel(customer, user):
    rows, total, open_count = services.customer_tickets(customer)
    return Markup(render_template(
        "service/_panel.html", customer=customer, rows=rows, total=total, open_count=open_count,
        may_view=access.can(user, "service.view", customer),
        may_create=access.can(user, "service.create", customer), **forms.labels()))


@hookimpl
def crm_customer_panels(customer, user):
    if not (access.can(user, "service.view", customer)
            or access.can(user, "service.create", customer)):
        return []
    return [Panel("service_tickets", _("Service tickets"), _render_panel, 60)]


@hookimpl
def crm_customer_actions(customer, user):
    if not access.can(user, "service.create", customer):
        return []
    return [Action(_("New ticket"), url_for("service.new_ticket", customer_id=customer.id),
                   "GET", 60)]


def _render_queue(user):
    return Markup(render_template("service/_card_queue.html", q=services.queue(user),
                                  **forms.labels()))


def _render_csat(user):
    return Markup(render_template("service/_card_csat.html", csat=services.csat(user),
                                  **forms.labels()))


@hookimpl
def crm_dashboard_cards(user):
    cards = []
    if access.can(user, "service.view"):
        cards.append(Card("service_queue", _("My tickets"), _render_queue, 40))
    if access.can(user, "service.analysis"):
        cards.append(Card("service_csat", _("Customer satisfaction"), _render_csat, 45))
    return cards


@hookimpl
def crm_demo_data(app, rng):
    """A few months of tickets on the demo customers, some closed with a rating."""
    import datetime as dt

    from crm.accounts.models import User
    from crm.customers.models import Customer
    from crm.db import utcnow
    from crm.purchases.models import Product

    from .models import CAUSES, TYPES, Ticket

    if Ticket.select().exists():
        return                                   # idempotent: `crm demo` may run again
    settings = services.Settings.from_config(app.config)
    staff = list(User.select().where(User.role.in_(("service", "manager"))).order_by(User.id))
    customers = list(Customer.select().where(Customer.deleted_at.is_null()).order_by(Customer.id))
    products = [p.id for p in Product.select(Product.id).order_by(Product.id)]
    if not staff or not customers:
        return
    subjects = {"complaint": ["热水器漏水", "送货迟到两天", "安装师傅态度不好", "发票金额不对"],
                "suggestion": ["希望增加周末配送", "建议会员积分可抵现"],
                "inquiry": ["保修期多久？", "能否开增值税专用发票？"],
                "after_sales": ["预约上门安装", "滤芯更换"]}
    now = utcnow()
    for _i in range(min(40, len(customers))):
        customer = rng.choice(customers)
        kind = rng.choice(TYPES)
        opened = now - dt.timedelta(days=rng.randint(0, 150), hours=rng.randint(0, 8))
        handler = rng.choice(staff)
        ticket = services.create_ticket(customer, handler, {
            "type": kind, "channel": rng.choice(("phone", "wechat", "visit")),
            "priority": rng.choice(("low", "normal", "normal", "high", "urgent")),
            "subject": rng.choice(subjects[kind]), "content": rng.choice(subjects[kind]),
            "product": rng.choice(products) if products and rng.random() < 0.7 else None,
            "assignee": handler.id}, settings, now=opened)
        if opened > now - dt.timedelta(days=3) or rng.random() < 0.2:
            continue                             # recent ones (and a few old ones) stay open
        later = opened + dt.timedelta(hours=rng.randint(2, 40))
        ticket = services.start(ticket.id, ticket.version, handler, now=later)
        ticket = services.resolve(ticket.id, ticket.version, handler, "已处理并与客户确认",
                                  rng.choice(CAUSES) if kind == "complaint" else "",
                                  now=later + dt.timedelta(hours=4))
        services.close(ticket.id, ticket.version, handler, ticket.resolution, "phone",
                       "客户确认问题已解决", rng.choice((5, 5, 4, 4, 3, 2)),
                       now=later + dt.timedelta(days=1))
