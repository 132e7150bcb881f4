"""Customers (companies or persons), their contacts and tags, and the numbering sequence."""
from __future__ import annotations

from peewee import (AutoField, BooleanField, CharField, CompositeKey, DateField, DateTimeField,
                    ForeignKeyField, IntegerField, TextField)

from crm.accounts.models import Department, User
from crm.db import BaseModel, utcnow

KINDS = ("company", "person")
VALUE_CLASSES = ("A", "B", "C", "D")
CHANNELS = ("phone", "sms", "wechat", "email", "visit")
SIZES = ("1-9", "10-49", "50-249", "250-999", "1000+")


class Sequence(BaseModel):
    """Counters that restart each period (customer numbers, ticket numbers...)."""
    name = CharField(max_length=32)
    period = CharField(max_length=16)
    value = IntegerField(default=0)

    class Meta:
        table_name = "number_sequence"
        primary_key = CompositeKey("name", "period")


class Customer(BaseModel):
    id = AutoField()
    number = CharField(max_length=32, unique=True)
    kind = CharField(max_length=10, default="company")
    name = CharField(max_length=200, index=True)
    industry = CharField(max_length=100, default="", index=True)
    size = CharField(max_length=20, default="")
    region = CharField(max_length=100, default="", index=True)
    founded_on = DateField(null=True)
    value_class = CharField(max_length=1, default="C", index=True)
    owner = ForeignKeyField(User, null=True, backref="customers", on_delete="SET NULL", index=True)
    department = ForeignKeyField(Department, null=True, on_delete="SET NULL", index=True)
    source = CharField(max_length=50, default="")
    preferred_channel = CharField(max_length=10, default="")
    phone = CharField(max_length=32, default="")      # normalised E.164 (+8613812345678)
    email = CharField(max_length=254, default="")     # normalised
    address = CharField(max_length=300, default="")
    notes = TextField(default="")
    consent_phone = BooleanField(default=False)
    consent_sms = BooleanField(default=False)
    consent_email = BooleanField(default=False)
    consent_wechat = BooleanField(default=False)
    last_contacted_at = DateTimeField(null=True, index=True)
    search_text = TextField(default="")   # unused (an early search); the index: search_index.py
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    version = IntegerField(default=1)
    deleted_at = DateTimeField(null=True, index=True)
    deleted_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")

    class Meta:
        table_name = "customer"
        indexes = (
            # The default list: live customers, newest first (an ordered index scan, no sort).
            (("deleted_at", "created_at", "id"), False),
            (("deleted_at", "name", "id"), False),
            (("deleted_at", "value_class"), False),     # the dashboard's count by class
        )

    def __str__(self) -> str:
        return self.name


class Contact(BaseModel):
    id = AutoField()
    customer = ForeignKeyField(Customer, backref="contacts", on_delete="CASCADE", index=True)
    name = CharField(max_length=100)
    title = CharField(max_length=100, default="")
    mobile = CharField(max_length=32, default="")
    phone = CharField(max_length=32, default="")
    email = CharField(max_length=254, default="")
    wechat = CharField(max_length=64, default="")
    preferred_channel = CharField(max_length=10, default="")
    consent_phone = BooleanField(default=False)
    consent_sms = BooleanField(default=False)
    consent_email = BooleanField(default=False)
    consent_wechat = BooleanField(default=False)
    is_primary = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)

    class Meta:
        table_name = "contact"


class Tag(BaseModel):
    id = AutoField()
    name = CharField(max_length=50, unique=True)

    class Meta:
        table_name = "tag"

    def __str__(self) -> str:
        return self.name


class CustomerTag(BaseModel):
    customer = ForeignKeyField(Customer, backref="customer_tags", on_delete="CASCADE")
    tag = ForeignKeyField(Tag, backref="customer_tags", on_delete="CASCADE", index=True)

    class Meta:
        table_name = "customer_tag"
        primary_key = CompositeKey("customer", "tag")


class SearchToken(BaseModel):
    """The search index on PostgreSQL: prefix-searchable tokens per customer (see
    customers/search_index.py; SQLite keeps them in the FTS5 table ``customer_search``)."""
    POSTGRES_ONLY = True
    token = CharField(max_length=32)
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=True)

    class Meta:
        table_name = "customer_search_token"
        primary_key = CompositeKey("token", "customer")


class CustomerShare(BaseModel):
    """A customer shared with one user or with a department (and the departments below it):
    they see it as if they owned it, while the owner stays who they are (see crm/access.py)."""
    id = AutoField()
    customer = ForeignKeyField(Customer, backref="shares", on_delete="CASCADE", index=True)
    user = ForeignKeyField(User, null=True, backref="+", on_delete="CASCADE", index=True)
    department = ForeignKeyField(Department, null=True, backref="+", on_delete="CASCADE",
                                 index=True)
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "customer_share"
        indexes = ((("customer", "user"), True), (("customer", "department"), True))


class CustomerMerge(BaseModel):
    """One merge of two customers, kept for review: the loser's and the winner's values before,
    the fields taken from the loser, and what moved."""
    id = AutoField()
    winner = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=True)
    loser = ForeignKeyField(Customer, null=True, backref="+", on_delete="SET NULL", index=True)
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    at = DateTimeField(default=utcnow, index=True)
    before = TextField(default="{}")     # JSON: {"winner": {...}, "loser": {...}}
    taken = TextField(default="[]")      # JSON: field names whose value came from the loser
    moved = TextField(default="{}")      # JSON: {"contacts": n, "activities": n, ...}

    class Meta:
        table_name = "customer_merge"
