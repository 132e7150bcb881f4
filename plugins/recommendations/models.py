"""The recommendations' tables, prefixed ``recommendations_``; created by the plugin's own
migrations.  Scores, similarities and popularity are rewritten by each refresh (the nightly
job, ``crm recommendations-refresh``); the shown log and the dismissed actions are kept."""
from __future__ import annotations

from peewee import (AutoField, CharField, CompositeKey, DateTimeField, FloatField,
                    ForeignKeyField, IntegerField)

from crm.accounts.models import User
from crm.customers.models import Customer
from crm.db import BaseModel, utcnow
from crm.purchases.models import Product


class Similarity(BaseModel):
    """Item to item: of the customers who bought ``product_a``, the share who bought
    ``product_b`` too (``score`` = together / buyers of a, a conditional probability)."""
    product_a = ForeignKeyField(Product, backref="+", on_delete="CASCADE")
    product_b = ForeignKeyField(Product, backref="+", on_delete="CASCADE")
    together = IntegerField()              # customers who bought both
    score = FloatField()

    class Meta:
        table_name = "recommendations_similarity"
        primary_key = CompositeKey("product_a", "product_b")


class Score(BaseModel):
    """A customer's precomputed recommendations (the top few), read by the panel in one query."""
    id = AutoField()
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=False)
    product = ForeignKeyField(Product, backref="+", on_delete="CASCADE", index=False)
    score = FloatField()
    reason_product = ForeignKeyField(Product, null=True, backref="+", on_delete="SET NULL",
                                     index=False)
    computed_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "recommendations_score"
        indexes = ((("customer", "score"), False),)


class Popular(BaseModel):
    """Popular in a segment (``kind:value_class``, or ``*`` for everybody): the fallback for
    customers without a purchase history."""
    id = AutoField()
    segment = CharField(max_length=32)
    product = ForeignKeyField(Product, backref="+", on_delete="CASCADE", index=False)
    buyers = IntegerField()
    score = FloatField()

    class Meta:
        table_name = "recommendations_popular"
        indexes = ((("segment", "score"), False),)


class Shown(BaseModel):
    """A product first recommended to a customer on their page (for the acceptance rate: a
    purchase of it before ``window_ends_at``)."""
    id = AutoField()
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=False)
    product = ForeignKeyField(Product, backref="+", on_delete="CASCADE", index=True)
    shown_at = DateTimeField(default=utcnow)
    window_ends_at = DateTimeField()

    class Meta:
        table_name = "recommendations_shown"
        indexes = ((("customer", "product"), True),)


class Dismissed(BaseModel):
    """A next best action a user dismissed for a customer (``action`` is its key, e.g.
    ``winback:2026-05-01``: a new occasion has a new key and shows again)."""
    id = AutoField()
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=False)
    action = CharField(max_length=64)
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    dismissed_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "recommendations_dismissed"
        indexes = ((("customer", "action"), True),)


class Run(BaseModel):
    """One refresh: when, how long, how much it wrote."""
    id = AutoField()
    started_at = DateTimeField(default=utcnow)
    as_of = DateTimeField()
    seconds = FloatField(default=0)
    customers = IntegerField(default=0)
    scores = IntegerField(default=0)
    similarities = IntegerField(default=0)

    class Meta:
        table_name = "recommendations_run"


MODELS = [Similarity, Score, Popular, Shown, Dismissed, Run]
