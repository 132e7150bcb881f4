"""The community plugin's tables, prefixed ``community_``; created by its own migrations.

Every foreign key is indexed, and so is every column a list filters or orders by (the
customer panel, the group page, the engagement figures).  Times are naive UTC.
"""
from __future__ import annotations

from peewee import (AutoField, BooleanField, CharField, DateField, DateTimeField,
                    ForeignKeyField, IntegerField, TextField)

from crm.accounts.models import User
from crm.customers.models import Customer
from crm.db import BaseModel, utcnow

ROLES = ("member", "representative")


class CommunityGroup(BaseModel):
    """A group of customers: a member club, an interest group, a city's VIP circle."""
    id = AutoField()
    name = CharField(max_length=100, index=True)
    description = TextField(default="")
    rules = TextField(default="")
    archived_at = DateTimeField(null=True, index=True)       # archived: read-only, off the list
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)

    class Meta:
        table_name = "community_group"


class CommunityOwner(BaseModel):
    """A staff user who runs the group: manages members and events, moderates topics."""
    id = AutoField()
    group = ForeignKeyField(CommunityGroup, backref="+", on_delete="CASCADE", index=True)
    user = ForeignKeyField(User, backref="+", on_delete="CASCADE", index=True)

    class Meta:
        table_name = "community_owner"
        indexes = ((("group", "user"), True),)


class CommunityMember(BaseModel):
    """A customer in a group, since ``joined_on``, as a member or the group's representative."""
    id = AutoField()
    group = ForeignKeyField(CommunityGroup, backref="+", on_delete="CASCADE", index=True)
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=True)
    role = CharField(max_length=16, default="member")
    joined_on = DateField(index=True)
    added_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "community_member"
        indexes = ((("group", "customer"), True),)


class CommunityEvent(BaseModel):
    """An event of a group; ``capacity`` 0 means no limit."""
    id = AutoField()
    group = ForeignKeyField(CommunityGroup, backref="+", on_delete="CASCADE", index=True)
    title = CharField(max_length=120)
    description = TextField(default="")
    location = CharField(max_length=200, default="")
    starts_at = DateTimeField(index=True)
    capacity = IntegerField(default=0)
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "community_event"
        indexes = ((("group", "starts_at"), False),)


class CommunitySignup(BaseModel):
    """A customer registered for an event; a cancelled sign-up keeps its row
    (``cancelled_at`` set) and is taken back by signing up again."""
    id = AutoField()
    event = ForeignKeyField(CommunityEvent, backref="+", on_delete="CASCADE", index=True)
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=True)
    signed_up_at = DateTimeField(default=utcnow, index=True)
    cancelled_at = DateTimeField(null=True)
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)

    class Meta:
        table_name = "community_signup"
        indexes = ((("event", "customer"), True),)


class CommunityCheckin(BaseModel):
    """A customer checked in at an event by a staff user: once per (event, customer).
    ``walk_in`` when they had no sign-up at the time."""
    id = AutoField()
    event = ForeignKeyField(CommunityEvent, backref="+", on_delete="CASCADE", index=True)
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=True)
    checked_in_at = DateTimeField(default=utcnow, index=True)
    walk_in = BooleanField(default=False)
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)

    class Meta:
        table_name = "community_checkin"
        indexes = ((("event", "customer"), True),)


class CommunityTopic(BaseModel):
    """A topic of a group, written by a staff user (``author``) on behalf of a member
    (``customer``).  Owners and administrators pin, close (no more replies) and hide it."""
    id = AutoField()
    group = ForeignKeyField(CommunityGroup, backref="+", on_delete="CASCADE", index=True)
    title = CharField(max_length=120)
    body = TextField(default="")
    author = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)
    customer = ForeignKeyField(Customer, null=True, backref="+", on_delete="SET NULL",
                               index=True)
    created_at = DateTimeField(default=utcnow, index=True)
    last_reply_at = DateTimeField(default=utcnow, index=True)
    replies = IntegerField(default=0)
    pinned = BooleanField(default=False)
    closed = BooleanField(default=False)
    hidden = BooleanField(default=False)

    class Meta:
        table_name = "community_topic"
        indexes = ((("group", "pinned", "last_reply_at"), False),)


class CommunityReply(BaseModel):
    """A reply to a topic, written like a topic (author and on-behalf-of customer)."""
    id = AutoField()
    topic = ForeignKeyField(CommunityTopic, backref="+", on_delete="CASCADE", index=True)
    body = TextField()
    author = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)
    customer = ForeignKeyField(Customer, null=True, backref="+", on_delete="SET NULL",
                               index=True)
    created_at = DateTimeField(default=utcnow, index=True)
    hidden = BooleanField(default=False)

    class Meta:
        table_name = "community_reply"


MODELS = [CommunityGroup, CommunityOwner, CommunityMember, CommunityEvent, CommunitySignup,
          CommunityCheckin, CommunityTopic, CommunityReply]
