"""The audit trail: who changed what, when (field by field), and security events."""
from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from crm.accounts.models import User
from crm.db import BaseModel, utcnow


class AuditLog(BaseModel):
    id = AutoField()
    at = DateTimeField(default=utcnow, index=True)
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    action = CharField(max_length=32)          # create | update | delete | restore | login ...
    entity = CharField(max_length=32, default="")
    entity_id = IntegerField(null=True)
    field = CharField(max_length=64, default="")
    old = TextField(default="")
    new = TextField(default="")
    ip = CharField(max_length=64, default="")

    class Meta:
        table_name = "audit_log"
        indexes = ((("entity", "entity_id", "at"), False),
                   (("action", "at"), False), (("user", "at"), False))   # the last two: 0004
