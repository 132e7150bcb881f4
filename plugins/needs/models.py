"""The needs register's tables, prefixed ``needs_``; created by the plugin's own migrations."""
from __future__ import annotations

from peewee import (AutoField, CharField, DateField, DateTimeField, ForeignKeyField,
                    IntegerField, TextField)

from crm.accounts.models import User
from crm.customers.models import Contact, Customer
from crm.db import BaseModel, utcnow

KINDS = ("explicit", "implicit")
TYPES = ("function", "service", "cooperation", "price")
STATUSES = ("to_confirm", "analysing", "resolved", "closed")
UNRESOLVED = ("to_confirm", "analysing")


class Need(BaseModel):
    id = AutoField()
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=True)
    contact = ForeignKeyField(Contact, null=True, backref="+", on_delete="SET NULL")
    kind = CharField(max_length=10, default="explicit")
    type = CharField(max_length=12, index=True)
    title = CharField(max_length=100)            # the need in a few words (grouped across customers)
    statement = TextField(default="")            # explicit: the customer's words; implicit: inferred
    situation = TextField(default="")            # the situation it came up in
    evidence = TextField(default="")             # implicit: what it is inferred from
    urgency = IntegerField(default=3)            # 1..5
    importance = IntegerField(default=3)         # 1..5
    customer_value = IntegerField(default=3)     # 1..5, from the customer's value class
    score = IntegerField(default=9, index=True)  # urgency + importance + customer_value
    status = CharField(max_length=12, default="to_confirm", index=True)
    resolution = TextField(default="")
    next_review_on = DateField(null=True, index=True)
    reviewed_at = DateTimeField(null=True)
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)

    class Meta:
        table_name = "needs_need"


class NeedEvent(BaseModel):
    """History: registered, edited, status changes, confirmations and monthly reviews."""
    id = AutoField()
    need = ForeignKeyField(Need, backref="events", on_delete="CASCADE", index=True)
    at = DateTimeField(default=utcnow)
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    kind = CharField(max_length=12)
    from_status = CharField(max_length=12, default="")
    to_status = CharField(max_length=12, default="")
    note = TextField(default="")

    class Meta:
        table_name = "needs_event"


MODELS = [Need, NeedEvent]
