"""A task: something one person has to do, by a date, often about one customer."""
from __future__ import annotations

from peewee import AutoField, CharField, DateField, DateTimeField, ForeignKeyField, TextField

from crm.accounts.models import User
from crm.customers.models import Customer
from crm.db import BaseModel, utcnow


class Task(BaseModel):
    id = AutoField()
    title = CharField(max_length=200)
    notes = TextField(default="")
    customer = ForeignKeyField(Customer, null=True, backref="tasks", on_delete="CASCADE")
    owner = ForeignKeyField(User, null=True, backref="tasks", on_delete="SET NULL")
    due_on = DateField(null=True)
    done_at = DateTimeField(null=True)
    done_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    # who made it: "" (a person), "rule:no_contact", or a plugin's name
    source = CharField(max_length=40, default="")
    # a rule's idempotency key: the same reminder is never created twice
    key = CharField(max_length=120, null=True, unique=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "task"
        indexes = (
            (("owner", "done_at", "due_on"), False),
            (("customer", "done_at"), False),
        )

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
