"""The service desk's tables, prefixed ``service_``; created by the plugin's own migrations."""
from __future__ import annotations

from peewee import (AutoField, BooleanField, CharField, DateField, DateTimeField,
                    ForeignKeyField, IntegerField, TextField)

from crm.accounts.models import User
from crm.customers.models import Contact, Customer
from crm.db import BaseModel, utcnow
from crm.purchases.models import Product

TYPES = ("complaint", "suggestion", "inquiry", "after_sales")
CHANNELS = ("phone", "wechat", "email", "visit", "web", "sms")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("new", "assigned", "in_progress", "resolved", "closed")
OPEN_STATUSES = ("new", "assigned", "in_progress")
CAUSES = ("product_quality", "delivery", "installation", "staff_attitude", "price_billing",
          "information", "other")


class Ticket(BaseModel):
    id = AutoField()
    number = CharField(max_length=32, unique=True)
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=True)
    contact = ForeignKeyField(Contact, null=True, backref="+", on_delete="SET NULL")
    type = CharField(max_length=16, index=True)
    channel = CharField(max_length=16)
    priority = CharField(max_length=8, default="normal")
    subject = CharField(max_length=200)
    content = TextField(default="")
    product = ForeignKeyField(Product, null=True, backref="+", on_delete="SET NULL", index=True)
    cause = CharField(max_length=32, default="", index=True)
    status = CharField(max_length=16, default="new", index=True)
    assignee = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    # SLA: targets in business hours, turned into deadlines when the ticket opens (or reopens)
    response_due = DateTimeField(null=True)
    responded_at = DateTimeField(null=True)
    resolve_due = DateTimeField(null=True, index=True)
    resolved_at = DateTimeField(null=True)
    # each target warns once before its deadline and escalates once when missed
    response_warned_at = DateTimeField(null=True)
    response_breached_at = DateTimeField(null=True)
    resolve_warned_at = DateTimeField(null=True)
    resolve_breached_at = DateTimeField(null=True)
    escalated_to = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    escalated_at = DateTimeField(null=True)
    # closing: the resolution, the follow-up with the customer (回访) and their satisfaction
    resolution = TextField(default="")
    followup_note = TextField(default="")
    followup_channel = CharField(max_length=16, default="")
    followup_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    followup_at = DateTimeField(null=True)
    satisfaction = IntegerField(null=True)        # 1..5, recorded at close (CSAT)
    closed_at = DateTimeField(null=True, index=True)
    reopened = IntegerField(default=0)
    version = IntegerField(default=1)

    class Meta:
        table_name = "service_ticket"
        indexes = ((("customer", "created_at"), False), (("status", "resolve_due"), False))


class TicketEvent(BaseModel):
    """The ticket's history: creation, assignment, each status change, comments, SLA warnings
    and escalations.  Written in the same transaction as the change it records."""
    id = AutoField()
    ticket = ForeignKeyField(Ticket, backref="events", on_delete="CASCADE", index=True)
    at = DateTimeField(default=utcnow)
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    kind = CharField(max_length=16)       # created, assigned, status, comment, warned, breached...
    from_status = CharField(max_length=16, default="")
    to_status = CharField(max_length=16, default="")
    note = TextField(default="")

    class Meta:
        table_name = "service_ticket_event"


class SlaPolicy(BaseModel):
    """Targets per type and priority, in business hours (editable by an administrator)."""
    id = AutoField()
    type = CharField(max_length=16)
    priority = CharField(max_length=8)
    response_hours = IntegerField()
    resolve_hours = IntegerField()

    class Meta:
        table_name = "service_sla_policy"
        indexes = ((("type", "priority"), True),)


class CalendarDay(BaseModel):
    """An administrator's override of the official calendar: a day off or a working day."""
    id = AutoField()
    day = DateField(unique=True)
    workday = BooleanField()
    note = CharField(max_length=100, default="")

    class Meta:
        table_name = "service_calendar_day"


class TicketSequence(BaseModel):
    """The monthly counter of ticket numbers (FK + year + month + sequence)."""
    period = CharField(max_length=16, primary_key=True)
    value = IntegerField(default=0)

    class Meta:
        table_name = "service_ticket_sequence"


MODELS = [Ticket, TicketEvent, SlaPolicy, CalendarDay, TicketSequence]
