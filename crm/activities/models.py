"""Activities: every interaction with a customer, a purchase included."""
from __future__ import annotations

from peewee import (AutoField, BooleanField, CharField, DateField, DateTimeField, ForeignKeyField,
                    TextField)

from crm.accounts.models import User
from crm.customers.models import Contact, Customer
from crm.db import BaseModel, utcnow
from crm.purchases.models import Purchase

KINDS = ("call", "visit", "meeting", "email", "wechat", "sms", "note", "purchase")
# Kinds that count as contact with the customer ("last contacted" moves); a note does not.
CONTACT_KINDS = frozenset(KINDS) - {"note"}
OUTCOMES = ("", "reached", "no_answer", "interested", "not_interested", "follow_up", "done")


class Activity(BaseModel):
    id = AutoField()
    customer = ForeignKeyField(Customer, backref="activities", on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, backref="activities", on_delete="SET NULL")
    kind = CharField(max_length=12)
    occurred_at = DateTimeField(default=utcnow)
    summary = TextField()
    outcome = CharField(max_length=20, default="")
    next_followup_on = DateField(null=True)
    followup_done = BooleanField(default=False)
    user = ForeignKeyField(User, null=True, backref="activities", on_delete="SET NULL")
    purchase = ForeignKeyField(Purchase, null=True, backref="activities", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "activity"
        indexes = (
            (("customer", "occurred_at"), False),
            (("user", "followup_done", "next_followup_on"), False),
        )
