"""The loyalty plugin's tables, all prefixed ``loyalty_``; created by its own migrations.

The accounting model (docs/loyalty.md):

* ``LoyaltyEntry`` is the ledger: one row per movement of points, never updated or deleted
  (database triggers refuse it), each with a unique idempotency ``key``.  A movement changes
  up to three balances of its member: ``points`` (spendable), ``pending`` (earned but still
  inside the return window) and ``owed`` (points a refund could not take back because they
  were already spent; future credits repay them first).
* ``LoyaltyLot`` is a credit lot: the points one credit brought, ``remaining`` of them, when
  they become spendable (``available_at``) and when they expire (``expires_at``).
* ``LoyaltyAllocation`` says which lots each debit consumed (soonest expiry first).
* ``LoyaltyMember.balance``/``pending``/``owed`` are caches of the ledger's sums, changed in the
  same transaction as the entry and guarded by CHECK constraints (never below zero).
"""
from __future__ import annotations

from peewee import (AutoField, BigIntegerField, BooleanField, Check, CharField, DateField,
                    DateTimeField, ForeignKeyField, IntegerField)

from crm.customers.models import Customer
from crm.db import BaseModel, utcnow

TIER_BASES = ("spend", "points")
DOWNGRADE_POLICIES = ("never", "step", "recompute")
EXPIRY_MODES = ("days", "year_end", "never")
CORE_RULES = ("purchase", "checkin", "review", "birthday")


class LoyaltyProgram(BaseModel):
    """The programme's settings: one row (id 1), edited by an administrator."""
    id = AutoField()
    pending_days = IntegerField(default=7)               # return window of purchase points
    expiry_mode = CharField(max_length=10, default="days")   # days | year_end | never
    expiry_days = IntegerField(default=365)
    expiry_years = IntegerField(default=1)               # year_end: end of the year earned + N
    cash_points_per_yuan = IntegerField(default=100)     # N points = 1 yuan off
    window_days = IntegerField(default=365)              # tier qualification window
    downgrade_policy = CharField(max_length=10, default="step")
    grace_days = IntegerField(default=30)
    card_prefix = CharField(max_length=6, default="88")
    version = IntegerField(default=1)

    class Meta:
        table_name = "loyalty_program"


class LoyaltyTier(BaseModel):
    id = AutoField()
    code = CharField(max_length=20, unique=True)
    name = CharField(max_length=50)                      # Chinese name (普通, 银卡 ...)
    name_en = CharField(max_length=50, default="")       # English name; empty: the Chinese one
    rank = IntegerField(unique=True)                     # 0 is the entry tier
    basis = CharField(max_length=10, default="spend")    # spend (fen) | points (earned)
    threshold = IntegerField(default=0, constraints=[Check("threshold >= 0")])
    multiplier_pct = IntegerField(default=100, constraints=[Check("multiplier_pct >= 0")])
    discount_pct = IntegerField(default=0,
                                constraints=[Check("discount_pct >= 0 AND discount_pct <= 100")])
    birthday_points = IntegerField(default=0, constraints=[Check("birthday_points >= 0")])
    version = IntegerField(default=1)

    class Meta:
        table_name = "loyalty_tier"


class LoyaltyRule(BaseModel):
    """An earning rule: ``purchase`` (``rate`` points per yuan, times the tier multiplier),
    ``checkin`` (once a day), ``review``, ``birthday``, and rule types other plugins offer
    (``loyalty_rule_types``): ``points`` per award."""
    id = AutoField()
    kind = CharField(max_length=40, unique=True)
    points = IntegerField(default=0, constraints=[Check("points >= 0")])
    rate = IntegerField(default=0, constraints=[Check("rate >= 0")])
    active = BooleanField(default=True)
    version = IntegerField(default=1)

    class Meta:
        table_name = "loyalty_rule"


class LoyaltyMember(BaseModel):
    id = AutoField()
    customer = ForeignKeyField(Customer, unique=True, backref="+", on_delete="RESTRICT")
    card_no = CharField(max_length=24, unique=True)
    tier = ForeignKeyField(LoyaltyTier, backref="members", on_delete="RESTRICT", index=True)
    tier_since = DateTimeField(default=utcnow)
    grace_until = DateTimeField(null=True)               # below the tier's threshold since ...
    balance = IntegerField(default=0, constraints=[Check("balance >= 0")])
    pending = IntegerField(default=0, constraints=[Check("pending >= 0")])
    owed = IntegerField(default=0, constraints=[Check("owed >= 0")])
    birthday = DateField(null=True)
    consent = BooleanField(default=False)
    consent_at = DateTimeField(null=True)
    enrolled_at = DateTimeField(default=utcnow, index=True)
    enrolled_by = IntegerField(null=True)
    enrol_key = CharField(max_length=40, null=True, unique=True)   # the enrol form's key
    last_activity_at = DateTimeField(null=True, index=True)
    version = IntegerField(default=1)

    class Meta:
        table_name = "loyalty_member"


class LoyaltyEntry(BaseModel):
    """The ledger: append-only (triggers refuse UPDATE and DELETE)."""
    id = AutoField()
    member = ForeignKeyField(LoyaltyMember, backref="entries", on_delete="RESTRICT")
    key = CharField(max_length=120, unique=True)         # the idempotency key
    kind = CharField(max_length=40)
    points = IntegerField(default=0)                     # change of the spendable balance
    pending = IntegerField(default=0)                    # change of the pending points
    owed = IntegerField(default=0)                       # change of the points owed
    balance_after = IntegerField(default=0)
    pending_after = IntegerField(default=0)
    spend_fen = BigIntegerField(default=0)               # qualifying spend (refunds negative)
    earned = IntegerField(default=0)                     # qualifying points earned
    qualify_at = DateTimeField(default=utcnow)           # when it counts for the tier window
    purchase_id = IntegerField(null=True, index=True)
    lot_id = IntegerField(null=True)                     # release / expire: the lot concerned
    reason = CharField(max_length=300, default="")
    user_id = IntegerField(null=True)
    event_uid = CharField(max_length=36, null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_entry"
        indexes = ((("member", "created_at"), False), (("member", "qualify_at"), False))


class LoyaltyLot(BaseModel):
    """The points one credit brought, and how many of them are left."""
    id = AutoField()
    member = ForeignKeyField(LoyaltyMember, backref="lots", on_delete="RESTRICT")
    entry = ForeignKeyField(LoyaltyEntry, unique=True, backref="+", on_delete="RESTRICT")
    points = IntegerField(constraints=[Check("points > 0")])
    remaining = IntegerField(constraints=[Check("remaining >= 0 AND remaining <= points")])
    released = BooleanField(default=False)               # spendable (else pending)
    available_at = DateTimeField()
    expires_at = DateTimeField(null=True)
    purchase_id = IntegerField(null=True, index=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_lot"
        indexes = ((("member", "released", "expires_at"), False),)


class LoyaltyAllocation(BaseModel):
    """Which lot a debit took its points from (append-only, like the ledger)."""
    id = AutoField()
    entry = ForeignKeyField(LoyaltyEntry, backref="allocations", on_delete="RESTRICT")
    lot = ForeignKeyField(LoyaltyLot, backref="allocations", on_delete="RESTRICT", index=True)
    points = IntegerField(constraints=[Check("points > 0")])

    class Meta:
        table_name = "loyalty_allocation"


class LoyaltyGift(BaseModel):
    id = AutoField()
    name = CharField(max_length=100)
    name_en = CharField(max_length=100, default="")
    points = IntegerField(constraints=[Check("points > 0")])
    stock = IntegerField(default=0, constraints=[Check("stock >= 0")])
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)

    class Meta:
        table_name = "loyalty_gift"


class LoyaltyRedemption(BaseModel):
    """A gift handed over or a cash offset, with the ledger entry that paid for it."""
    id = AutoField()
    member = ForeignKeyField(LoyaltyMember, backref="redemptions", on_delete="RESTRICT")
    entry = ForeignKeyField(LoyaltyEntry, unique=True, backref="+", on_delete="RESTRICT")
    kind = CharField(max_length=10)                      # gift | cash
    gift = ForeignKeyField(LoyaltyGift, null=True, backref="+", on_delete="RESTRICT")
    quantity = IntegerField(default=1)
    points = IntegerField()
    cash_fen = BigIntegerField(default=0)
    user_id = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_redemption"


class LoyaltyTierChange(BaseModel):
    id = AutoField()
    member = ForeignKeyField(LoyaltyMember, backref="tier_changes", on_delete="RESTRICT")
    from_tier = IntegerField(null=True)
    to_tier = IntegerField()
    kind = CharField(max_length=12)                      # enrol | upgrade | downgrade
    reason = CharField(max_length=300, default="")
    user_id = IntegerField(null=True)
    at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_tier_change"
        indexes = ((("member", "at"), False),)


class LoyaltyCounterPurchase(BaseModel):
    """A purchase recorded at the counter, by the idempotency key of its form: a double tap
    finds the purchase the first tap recorded instead of recording a second one."""
    id = AutoField()
    key = CharField(max_length=120, unique=True)
    member = ForeignKeyField(LoyaltyMember, backref="+", on_delete="RESTRICT")
    purchase_id = IntegerField(index=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "loyalty_counter_purchase"


class LoyaltyReconciliation(BaseModel):
    """One run of the nightly job: what it expired, released, and every difference found."""
    id = AutoField()
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    members = IntegerField(default=0)
    released = IntegerField(default=0)
    expired = IntegerField(default=0)
    downgraded = IntegerField(default=0)
    birthdays = IntegerField(default=0)
    differences = IntegerField(default=0)
    report = CharField(max_length=4000, default="")

    class Meta:
        table_name = "loyalty_reconciliation"


MODELS = [LoyaltyProgram, LoyaltyTier, LoyaltyRule, LoyaltyMember, LoyaltyEntry, LoyaltyLot,
          LoyaltyAllocation, LoyaltyGift, LoyaltyRedemption, LoyaltyTierChange,
          LoyaltyCounterPurchase, LoyaltyReconciliation]
