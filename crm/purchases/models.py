"""Products and purchases with lines.  Money is an integer number of fen."""
from __future__ import annotations

from peewee import (AutoField, BigIntegerField, BooleanField, CharField, DateTimeField,
                    ForeignKeyField, IntegerField, TextField)

from crm.accounts.models import User
from crm.customers.models import Customer
from crm.db import BaseModel, utcnow


class Product(BaseModel):
    id = AutoField()
    sku = CharField(max_length=64, unique=True)
    name = CharField(max_length=200)
    category = CharField(max_length=100, default="", index=True)
    price_fen = BigIntegerField(default=0)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)

    class Meta:
        table_name = "product"

    def __str__(self) -> str:
        return self.name


class Purchase(BaseModel):
    id = AutoField()
    customer = ForeignKeyField(Customer, backref="purchases", on_delete="CASCADE")
    purchased_at = DateTimeField(default=utcnow)
    total_fen = BigIntegerField(default=0)
    status = CharField(max_length=12, default="completed")   # completed | refunded
    note = CharField(max_length=300, default="")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow)
    refunded_fen = BigIntegerField(default=0)     # refunded so far; net = total - refunded

    class Meta:
        table_name = "purchase"
        indexes = ((("customer", "purchased_at"), False),)


class PurchaseLine(BaseModel):
    id = AutoField()
    purchase = ForeignKeyField(Purchase, backref="lines", on_delete="CASCADE", index=True)
    product = ForeignKeyField(Product, backref="lines", on_delete="RESTRICT", index=True)
    quantity = IntegerField(default=1)
    unit_price_fen = BigIntegerField(default=0)
    amount_fen = BigIntegerField(default=0)
    returned_quantity = IntegerField(default=0)    # refunded so far

    class Meta:
        table_name = "purchase_line"

    @property
    def returnable(self) -> int:
        return self.quantity - self.returned_quantity


class PurchaseRefund(BaseModel):
    """One refund of a purchase: some quantity of some of its lines (``lines``: JSON list of
    {"line_id", "product_id", "quantity", "amount_fen"}), with the reason."""
    id = AutoField()
    purchase = ForeignKeyField(Purchase, backref="refunds", on_delete="CASCADE", index=True)
    amount_fen = BigIntegerField()
    reason = CharField(max_length=300)
    lines = TextField(default="[]")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "purchase_refund"
