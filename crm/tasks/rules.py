"""Reminder rules, run as a daily job (crm/jobs.py) and by ``crm remind``.

No contact: a live customer whose last contact (or, never contacted, whose creation) is
``REMINDER_NO_CONTACT_DAYS`` or more ago gives its owner a task "Contact X", due today, at
most ``REMINDER_NO_CONTACT_MAX`` per owner and run (the longest silent first: a freshly imported
book of 5,000 customers becomes a manageable daily list, not 5,000 tasks at once), and the owner
one notification per run with the number.  Each reminder is keyed on the customer and its last
contact, so running twice changes nothing, and a customer gets a new reminder only after a new
contact has lapsed again.

Plugins add rules of their own as periodic jobs (``crm_register_jobs``) that call
``crm.tasks.services.create_task`` and ``crm.notifications.notify``.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from peewee import fn

from crm.accounts.models import User
from crm.customers.models import Customer
from crm.db import utcnow
from crm.i18n import N_
from crm.notifications import notify
from crm.tasks.models import Task
from crm.tasks.services import create_task

SOURCE = "rule:no_contact"


def _last_contact(customer) -> str:
    at = customer.last_contacted_at
    return at.strftime("%Y%m%d%H%M%S") if at else "never"


def no_contact_reminders(days: int, per_owner: int, timezone: str,
                         now: dt.datetime | None = None) -> dict:
    """Run the no-contact rule; {"tasks": made, "owners": notified}."""
    if days <= 0 or per_owner <= 0:
        return {"tasks": 0, "owners": 0}
    now = now or utcnow()
    today = now.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(timezone)).date()
    cutoff = now - dt.timedelta(days=days)
    silent = ((Customer.deleted_at.is_null()) & Customer.owner.is_null(False)
              & ((Customer.last_contacted_at < cutoff)
                 | (Customer.last_contacted_at.is_null() & (Customer.created_at < cutoff))))
    # an open reminder already on the list: not another one for the same customer
    pending = Task.select(Task.customer).where((Task.source == SOURCE) & Task.done_at.is_null())
    owners = [uid for (uid,) in (Customer.select(Customer.owner).distinct()
                                 .join(User, on=(Customer.owner == User.id))
                                 .where(silent & (User.is_active == True))  # noqa: E712
                                 .tuples())]
    made = notified = 0
    for owner_id in owners:
        rows = (Customer.select(Customer.id, Customer.name, Customer.last_contacted_at)
                .where(silent & (Customer.owner == owner_id) & Customer.id.not_in(pending))
                .order_by(fn.COALESCE(Customer.last_contacted_at, Customer.created_at), Customer.id)
                .limit(per_owner))
        new = 0
        for customer in rows:
            task = create_task(customer.name, owner_id, due_on=today, customer=customer.id,
                               notes="", source=SOURCE,
                               key=f"no-contact:{customer.id}:{_last_contact(customer)}")
            new += task is not None
        if new:
            made += new
            notified += notify([owner_id], N_("%(count)s of your customers have not been contacted "
                                              "for %(days)s days: they are on your task list."),
                               url="/followups", kind="task.reminder",
                               key=f"no-contact:{today.isoformat()}", count=new, days=days)
    return {"tasks": made, "owners": notified}


def run_all(config) -> dict:
    """Every core rule with the app's settings (the daily job's body)."""
    return {"no_contact": no_contact_reminders(
        int(config.get("REMINDER_NO_CONTACT_DAYS") or 0),
        int(config.get("REMINDER_NO_CONTACT_MAX") or 0),
        config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")}
