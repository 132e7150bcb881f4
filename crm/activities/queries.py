"""Reading activities: a customer's timeline and "my follow-ups"."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import fn, JOIN

from crm.accounts.models import User
from crm.activities.models import Activity
from crm.customers.models import Contact, Customer
from crm.db import utcnow

TIMELINE_PAGE = 20


@dataclass
class Timeline:
    items: list
    page: int
    has_next: bool


def _items(customer):
    """A customer's activities with their author and contact joined (no query per item)."""
    Author = User.alias()
    return (Activity.select(Activity, Author.id, Author.display_name, Author.username,
                            Contact.id, Contact.name)
            .join(Author, JOIN.LEFT_OUTER, on=(Activity.user == Author.id), attr="author")
            .switch(Activity)
            .join(Contact, JOIN.LEFT_OUTER, on=(Activity.contact == Contact.id),
                  attr="contact_row")
            .where(Activity.customer == customer.id))


def timeline(customer, page: int = 1, per_page: int = TIMELINE_PAGE) -> Timeline:
    rows = list(_items(customer)
                .order_by(Activity.occurred_at.desc(), Activity.id.desc())
                .offset((page - 1) * per_page).limit(per_page + 1))   # one more: is there a next?
    return Timeline(rows[:per_page], page, len(rows) > per_page)


def timeline_item(customer, activity_id: int) -> list:
    """One activity as a timeline item (the one just logged, wherever its date puts it)."""
    return list(_items(customer).where(Activity.id == activity_id))


@dataclass
class FollowUps:
    overdue: list
    today: list
    stale: list
    stale_days: int


def followups(user, scope, today: dt.date, stale_days: int, limit: int = 100) -> FollowUps:
    """Open follow-ups of ``user`` (overdue, due today) and their customers not contacted for
    ``stale_days``.  ``scope`` is the user's scoped customer query."""
    base = (Activity.select(Activity, Customer.id, Customer.name, Customer.number)
            .join(Customer, on=(Activity.customer == Customer.id), attr="customer_row")
            .where(_open_followups(user, scope)))
    overdue = list(base.where(Activity.next_followup_on < today)
                   .order_by(Activity.next_followup_on).limit(limit))
    due = list(base.where(Activity.next_followup_on == today).order_by(Activity.id).limit(limit))
    cutoff = utcnow() - dt.timedelta(days=stale_days)
    stale = list(scope.where((Customer.owner == user.id) &
                             (Customer.last_contacted_at.is_null() |
                              (Customer.last_contacted_at < cutoff)))
                 .order_by(Customer.last_contacted_at.asc(nulls="FIRST")).limit(limit))
    return FollowUps(overdue, due, stale, stale_days)


def _open_followups(user, scope):
    """Open follow-ups of ``user`` on live customers inside their scope (a customer handed
    to somebody else takes its follow-ups along)."""
    return ((Activity.user == user.id) & (Activity.followup_done == False)  # noqa: E712
            & Activity.next_followup_on.is_null(False)
            & fn.EXISTS(in_scope(scope, Activity.customer)))


def in_scope(scope, customer_column):
    """A correlated ``EXISTS`` subquery: the row's customer is in ``scope``.  Not
    ``customer IN (SELECT id FROM <scope>)``: for a user who sees 100,000 customers, SQLite
    then walks the scope and probes every customer's activities (2 s), instead of reading the
    user's own few rows by their index and checking each customer by its primary key."""
    return scope.select(Customer.id).where(Customer.id == customer_column)


def followup_counts(user, scope, today: dt.date) -> tuple[int, int]:
    """(overdue, due today): the numbers of "my follow-ups", for the dashboard."""
    base = Activity.select().where(_open_followups(user, scope))
    return (base.where(Activity.next_followup_on < today).count(),
            base.where(Activity.next_followup_on == today).count())
