"""The outbox: domain events written in the same transaction as the change they describe."""
from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from crm.db import BaseModel, utcnow


class OutboxEvent(BaseModel):
    id = AutoField()
    uid = CharField(max_length=36, unique=True)       # the idempotency key handlers see
    name = CharField(max_length=64)
    payload = TextField(default="{}")                  # JSON
    created_at = DateTimeField(default=utcnow)
    status = CharField(max_length=10, default="pending", index=True)   # pending | done | dead
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow, index=True)
    last_error = TextField(default="")

    class Meta:
        table_name = "outbox_event"


class EventDelivery(BaseModel):
    """One row per (event, plugin) that handled it successfully: retries skip those plugins."""
    id = AutoField()
    event = ForeignKeyField(OutboxEvent, backref="deliveries", on_delete="CASCADE")
    plugin = CharField(max_length=64)
    delivered_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "event_delivery"
        indexes = ((("event", "plugin"), True),)
