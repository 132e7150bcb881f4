"""A notification for one user: a message (msgid + parameters), a link, read or not."""
from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField, TextField

from crm.accounts.models import User
from crm.db import BaseModel, utcnow


class Notification(BaseModel):
    id = AutoField()
    user = ForeignKeyField(User, backref="notifications", on_delete="CASCADE")
    kind = CharField(max_length=40, default="")         # "task", "sales.stage", "service.sla"...
    message = CharField(max_length=255)                 # a msgid, translated when shown
    params = TextField(default="{}")                    # JSON: the message's %(name)s values
    url = CharField(max_length=500, default="")         # a path on this site
    key = CharField(max_length=160, null=True)          # idempotency: one per (user, key)
    created_at = DateTimeField(default=utcnow)
    read_at = DateTimeField(null=True)

    class Meta:
        table_name = "notification"
        indexes = (
            (("user", "read_at"), False),
            (("user", "key"), True),
        )
