"""The example plugin's tables, prefixed with its name; created by its own migrations."""
from __future__ import annotations

from peewee import AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField

from crm.customers.models import Customer
from crm.db import BaseModel, utcnow


class ExampleNote(BaseModel):
    """One short note per customer."""
    id = AutoField()
    customer = ForeignKeyField(Customer, unique=True, on_delete="CASCADE")
    text = CharField(max_length=200, default="")
    pinned = BooleanField(default=False)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "example_note"


class ExampleEventLog(BaseModel):
    """Every domain event the plugin handled, once per event uid (the idempotency key)."""
    id = AutoField()
    uid = CharField(max_length=36, unique=True)
    name = CharField(max_length=64)
    customer_id = IntegerField(null=True)
    handled_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "example_event_log"


MODELS = [ExampleNote, ExampleEventLog]
