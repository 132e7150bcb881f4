"""The sales pipeline's tables, prefixed ``sales_``; created by the plugin's own migrations."""
from __future__ import annotations

from peewee import (AutoField, BigIntegerField, BooleanField, CharField, DateField, DateTimeField,
                    ForeignKeyField, IntegerField, TextField)

from crm.accounts.models import User
from crm.customers.models import Contact, Customer
from crm.db import BaseModel, utcnow
from crm.purchases.models import Product

KINDS = ("open", "won", "lost")
RULES = ("amount", "close_date", "products", "reason")
SOURCES = ("referral", "website", "exhibition", "cold_call", "existing", "partner", "other")


class Stage(BaseModel):
    """A column of the pipeline.  ``rules`` lists what a deal needs to enter it."""
    id = AutoField()
    name = CharField(max_length=50)
    position = IntegerField(default=0, index=True)
    probability = IntegerField(default=0)          # percent
    kind = CharField(max_length=8, default="open")  # open, won, lost
    rules = CharField(max_length=100, default="")   # comma-separated RULES
    stuck_days = IntegerField(default=14)           # no stage change for this long: stuck
    active = BooleanField(default=True)
    notify_role = CharField(max_length=16, default="")  # a role notified when a deal enters

    class Meta:
        table_name = "sales_stage"

    @property
    def rule_list(self) -> list[str]:
        return [r for r in self.rules.split(",") if r]


class Deal(BaseModel):
    id = AutoField()
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=True)
    contact = ForeignKeyField(Contact, null=True, backref="+", on_delete="SET NULL")
    title = CharField(max_length=200)
    amount_fen = BigIntegerField(default=0)
    expected_close = DateField(null=True, index=True)
    owner = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)
    probability = IntegerField(null=True)           # None: the stage's
    stage = ForeignKeyField(Stage, backref="deals", on_delete="RESTRICT", index=True)
    stage_entered_at = DateTimeField(default=utcnow)
    source = CharField(max_length=20, default="")
    reason = TextField(default="")                  # why won or lost
    notes = TextField(default="")
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    closed_at = DateTimeField(null=True, index=True)
    version = IntegerField(default=1)

    class Meta:
        table_name = "sales_deal"


class DealProduct(BaseModel):
    id = AutoField()
    deal = ForeignKeyField(Deal, backref="products", on_delete="CASCADE", index=True)
    product = ForeignKeyField(Product, backref="+", on_delete="RESTRICT")

    class Meta:
        table_name = "sales_deal_product"
        indexes = ((("deal", "product"), True),)


class StageHistory(BaseModel):
    """One row per stay of a deal in a stage: entered, left (None while it is there)."""
    id = AutoField()
    deal = ForeignKeyField(Deal, backref="history", on_delete="CASCADE", index=True)
    stage = ForeignKeyField(Stage, backref="+", on_delete="RESTRICT", index=True)
    entered_at = DateTimeField(default=utcnow)
    left_at = DateTimeField(null=True)
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    class Meta:
        table_name = "sales_stage_history"


MODELS = [Stage, Deal, DealProduct, StageHistory]
