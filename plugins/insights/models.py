"""The insights plugin's tables, prefixed ``insights_``; created by the plugin's own migrations.

``insights_customer_score`` is a cache rebuilt by ``segments.refresh`` (the periodic job and
``crm insights-refresh``): never edited by hand.  Settings and targets are an administrator's.
"""
from __future__ import annotations

from peewee import (AutoField, BigIntegerField, CharField, CompositeKey, DateField,
                    DateTimeField, DecimalField, ForeignKeyField, IntegerField, TextField)

from crm.customers.models import Customer
from crm.db import BaseModel, utcnow


class CustomerScore(BaseModel):
    """One row per live customer: RFM quintiles, the lifecycle segment and why."""
    customer_id = IntegerField(primary_key=True)
    r = IntegerField(default=0)                 # 1..5 (5: bought most recently); 0: never bought
    f = IntegerField(default=0)                 # 1..5 (5: most purchases)
    m = IntegerField(default=0)                 # 1..5 (5: most spent)
    rfm = IntegerField(default=0)               # the cell, r*100 + f*10 + m (555 is the best)
    segment = CharField(max_length=16, default="other", index=True)
    reason = CharField(max_length=32, default="none")   # the rule that decided the segment
    purchases = IntegerField(default=0)         # completed purchases, all time
    monetary_fen = IntegerField(default=0)      # their total
    first_purchase_at = DateTimeField(null=True)
    last_purchase_at = DateTimeField(null=True)
    last_contact_at = DateTimeField(null=True)
    recent_activities = IntegerField(default=0)     # in the last churn window
    previous_activities = IntegerField(default=0)   # in the three windows before it
    computed_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "insights_customer_score"


class SegmentSnapshot(BaseModel):
    """Segment sizes per day and owner (owner 0: nobody), written by each refresh."""
    day = DateField()
    segment = CharField(max_length=16)
    owner_id = IntegerField(default=0)
    customers = IntegerField(default=0)

    class Meta:
        table_name = "insights_segment_snapshot"
        primary_key = CompositeKey("day", "segment", "owner_id")


class Setting(BaseModel):
    """A tunable rule of the segments (see segments.DEFAULTS), an integer."""
    key = CharField(max_length=32, primary_key=True)
    value = IntegerField()
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "insights_setting"


class Target(BaseModel):
    """A target for a KPI: the value to reach (in the KPI's display unit) and by when."""
    kpi = CharField(max_length=32, primary_key=True)
    value = DecimalField(max_digits=14, decimal_places=2)
    deadline = DateField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "insights_target"


MODELS = [CustomerScore, SegmentSnapshot, Setting, Target]


class Survey(BaseModel):
    """An NPS or CSAT question sent to a customer as a signed short link: answered once, before
    it expires, on a tiny page without sign-in or JavaScript."""
    id = AutoField()
    customer = ForeignKeyField(Customer, backref="+", on_delete="CASCADE", index=True)
    kind = CharField(max_length=8)                # nps (0-10) or csat (1-5)
    created_by = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    answered_at = DateTimeField(null=True, index=True)
    score = IntegerField(null=True)
    comment = TextField(default="")

    class Meta:
        table_name = "insights_survey"


MODELS.append(Survey)


class MarketingSpend(BaseModel):
    """Marketing spend for one acquisition channel (``customer.source``) and one month (its
    first day), in fen: the numerator of the customer acquisition cost.  Entered by a manager
    or an administrator on /insights/spend."""
    id = AutoField()
    channel = CharField(max_length=50)
    month = DateField()                           # the first day of the month
    amount_fen = BigIntegerField(default=0)
    note = CharField(max_length=300, default="")
    entered_by = IntegerField(null=True)          # the user who last entered or changed it
    entered_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)

    class Meta:
        table_name = "insights_marketing_spend"
        indexes = ((("channel", "month"), True), (("month",), False))


MODELS.append(MarketingSpend)


class Figure(BaseModel):
    """A KPI's figure over a settled period for one user's scope and breakdown (views._cached's
    key, hashed), kept until ``expires_at`` so that every server process and the next start
    find it (plugins/insights/figures.py).  A cache: deleting every row loses nothing."""
    key = CharField(max_length=64, primary_key=True)
    kpi = CharField(max_length=40, index=True)
    value = TextField()                           # JSON: value, num, den, by, groups
    expires_at = DateTimeField()

    class Meta:
        table_name = "insights_figure"


MODELS.append(Figure)
