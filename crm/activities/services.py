"""Logging activities.  "Last contacted" moves with every contact-kind activity."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from crm.activities.models import CONTACT_KINDS, Activity
from crm.customers.models import Customer
from crm.db import database, utcnow
from crm.events.services import emit


def to_utc(local: dt.datetime | None, tz: str) -> dt.datetime:
    """A naive local time typed by the user -> naive UTC (None -> now)."""
    if local is None:
        return utcnow()
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(dt.timezone.utc).replace(tzinfo=None)


def log_activity(customer: Customer, user, kind: str, summary: str, occurred_at=None,
                 outcome: str = "", contact_id=None, next_followup_on=None,
                 purchase_id=None) -> Activity:
    occurred_at = occurred_at or utcnow()
    with database.atomic():
        activity = Activity.create(customer=customer.id, contact=contact_id or None, kind=kind,
                                   summary=summary.strip(), outcome=outcome or "",
                                   occurred_at=occurred_at, next_followup_on=next_followup_on,
                                   user=getattr(user, "id", None), purchase=purchase_id)
        if kind in CONTACT_KINDS:
            touch_last_contacted(customer.id, occurred_at)
        emit("activity.logged", activity_id=activity.id, customer_id=customer.id, kind=kind,
             user_id=getattr(user, "id", None))
    return activity


def touch_last_contacted(customer_id: int, when: dt.datetime) -> None:
    """Move last_contacted_at forward only (a back-dated activity never moves it back)."""
    (Customer.update(last_contacted_at=when)
     .where((Customer.id == customer_id) &
            (Customer.last_contacted_at.is_null() | (Customer.last_contacted_at < when)))
     .execute())


def complete_followup(activity: Activity) -> None:
    Activity.update(followup_done=True).where(Activity.id == activity.id).execute()
