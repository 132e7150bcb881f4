"""Duplicates over the whole database, and merging two customers into one.

``duplicate_pairs(scope)`` ranks pairs of customers that are probably the same (same phone,
same e-mail, same name), with the reasons and a confidence.

``merge(winner, loser, taken, user)`` keeps ``winner``, takes from ``loser`` the values of the
fields listed in ``taken``, moves everything that belongs to the loser (contacts, activities,
purchases, tags, shares) to the winner, puts the loser in the trash, and records a
``CustomerMerge`` row with both customers' values before, for review.  Plugins move their own
records when they receive the ``customer.merged`` event (``winner_id``, ``loser_id``) from the
outbox.  All of it is one transaction.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from peewee import fn

from crm.activities.models import Activity
from crm.audit import services as audit
from crm.customers import services
from crm.customers.models import (Contact, Customer, CustomerMerge, CustomerShare, CustomerTag)
from crm.db import database, utcnow
from crm.events.services import emit
from crm.purchases.models import Purchase
from crm.tasks.models import Task

MERGEABLE = tuple(f for f in services.EDITABLE)

# reason -> confidence that two customers sharing it are the same
REASONS = {"phone": 0.95, "email": 0.9, "name": 0.8}


@dataclass
class Pair:
    a: Customer
    b: Customer
    reasons: list = field(default_factory=list)

    @property
    def confidence(self) -> float:
        """1 - the chance that every reason is a coincidence (reasons taken as independent)."""
        miss = 1.0
        for reason in self.reasons:
            miss *= 1 - REASONS[reason]
        return round(1 - miss, 3)


def duplicate_pairs(scope, limit: int = 200) -> list[Pair]:
    """Pairs of customers in ``scope`` sharing a phone, an e-mail or a name, most likely first.
    Groups of more than two pair each member with the oldest.  One grouped query per reason."""
    keys = {
        "phone": Customer.phone,
        "email": fn.LOWER(Customer.email),
        "name": fn.LOWER(Customer.name),
    }
    found: dict[tuple[int, int], list] = {}
    for reason, key in keys.items():
        groups = (scope.select(key.alias("k"), fn.MIN(Customer.id).alias("first"))
                  .where(key != "").group_by(key).having(fn.COUNT(Customer.id) > 1)
                  .limit(limit * 4))
        firsts = {row.k: row.first for row in groups}
        if not firsts:
            continue
        members = scope.select(Customer.id, key.alias("k")).where(key.in_(list(firsts)))
        for row in members:
            first = firsts[row.k]
            if row.id != first:
                found.setdefault((first, row.id), []).append(reason)
    if not found:
        return []
    ids = {i for pair in found for i in pair}
    customers = {c.id: c for c in Customer.select().where(Customer.id.in_(list(ids)))}
    pairs = [Pair(customers[a], customers[b], reasons) for (a, b), reasons in found.items()]
    pairs.sort(key=lambda p: (-p.confidence, p.a.id, p.b.id))
    return pairs[:limit]


def _values(customer: Customer) -> dict:
    out = {}
    for name in MERGEABLE:
        value = getattr(customer, name + "_id" if name == "owner" else name)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


class MergeError(ValueError):
    """A merge that cannot be made; the message is for the user."""


def merge(winner: Customer, loser: Customer, taken, user) -> CustomerMerge:
    from flask_babel import gettext as _
    if winner.id == loser.id:
        raise MergeError(_("Choose two different customers."))
    if winner.deleted_at is not None or loser.deleted_at is not None:
        raise MergeError(_("A customer in the trash cannot be merged: restore it first."))
    taken = [f for f in taken if f in MERGEABLE]
    with database.atomic():
        winner = Customer.get_by_id(winner.id)          # the stored values, inside the lock
        loser = Customer.get_by_id(loser.id)
        before = {"winner": _values(winner), "loser": _values(loser),
                  "loser_number": loser.number, "loser_name": loser.name}
        data = {f: getattr(loser, f + "_id" if f == "owner" else f) for f in taken}
        if data:
            services.update_customer(winner.id, data, winner.version, user)
        moved = {
            "contacts": Contact.update(customer=winner.id, is_primary=False)
            .where(Contact.customer == loser.id).execute(),
            "activities": Activity.update(customer=winner.id)
            .where(Activity.customer == loser.id).execute(),
            "purchases": Purchase.update(customer=winner.id)
            .where(Purchase.customer == loser.id).execute(),
            "tasks": Task.update(customer=winner.id)
            .where(Task.customer == loser.id).execute(),
        }
        tags = [ct.tag_id for ct in CustomerTag.select().where(CustomerTag.customer == loser.id)]
        for tag_id in tags:
            CustomerTag.insert(customer=winner.id, tag=tag_id).on_conflict_ignore().execute()
        moved["tags"] = len(tags)
        for share in CustomerShare.select().where(CustomerShare.customer == loser.id):
            exists = CustomerShare.select().where(
                (CustomerShare.customer == winner.id)
                & ((CustomerShare.user == share.user_id) if share.user_id
                   else (CustomerShare.department == share.department_id))).exists()
            if not exists:
                CustomerShare.update(customer=winner.id).where(CustomerShare.id == share.id).execute()
        if loser.last_contacted_at and (winner.last_contacted_at is None
                                        or loser.last_contacted_at > winner.last_contacted_at):
            Customer.update(last_contacted_at=loser.last_contacted_at).where(
                Customer.id == winner.id).execute()
        Customer.update(deleted_at=utcnow(), deleted_by=user.id, version=Customer.version + 1) \
            .where(Customer.id == loser.id).execute()
        winner = Customer.get_by_id(winner.id)
        services.refresh_search(winner)
        record = CustomerMerge.create(winner=winner.id, loser=loser.id, user=user.id,
                                      before=json.dumps(before, ensure_ascii=False, default=str),
                                      taken=json.dumps(taken), moved=json.dumps(moved))
        audit.record("customer.merge", user, "customer", winner.id,
                     [("merged", loser.number, winner.number)])
        audit.record("customer.merged_into", user, "customer", loser.id,
                     [("merged", loser.number, winner.number)])
        emit("customer.merged", winner_id=winner.id, loser_id=loser.id, merge_id=record.id,
             user_id=user.id)
    return record
