"""Reading loyalty data: the counter's look-up, a member's summary, statements and the
dashboard's figures.  Every customer read here comes through ``crm.access.scoped_customers``
(the caller passes the scope)."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from peewee import JOIN, Case, fn

from crm.customers.models import Customer
from crm.customers.queries import Filters, apply_filters
from crm.db import utcnow

from . import services
from .models import (LoyaltyEntry, LoyaltyGift, LoyaltyLot, LoyaltyMember, LoyaltyRedemption,
                     LoyaltyTier, LoyaltyTierChange)

SEARCH_LIMIT = 20


def tier_name(tier, locale: str | None = None) -> str:
    """The tier's (or gift's) name in the user's language: the English name when the locale
    is English and one is set, else the Chinese name."""
    if tier is None:
        return ""
    if locale is None:
        from flask_babel import get_locale
        loc = get_locale()
        locale = loc.language if loc else "zh"
    if locale and not str(locale).startswith("zh") and getattr(tier, "name_en", ""):
        return tier.name_en
    return tier.name


@dataclass
class Hit:
    customer: Customer
    member: LoyaltyMember | None = None
    tier: LoyaltyTier | None = None
    by_card: bool = False


def search(scope, q: str, limit: int = SEARCH_LIMIT) -> list[Hit]:
    """The counter's look-up: a card number (typed or scanned), else the core's search (the
    last 4 digits of a phone, a name, full pinyin or its initials, a customer number), inside
    the scope.  Card matches first, then members, then other customers; at most ``limit``."""
    q = unicodedata.normalize("NFKC", q or "").strip()[:100]
    if not q:
        return []
    hits: dict[int, Hit] = {}
    digits = re.sub(r"[\s\-]", "", q)
    if re.fullmatch(r"\d{6,24}", digits):
        for customer in (scope.join(LoyaltyMember, on=(LoyaltyMember.customer == Customer.id))
                         .where(LoyaltyMember.card_no.startswith(digits))
                         .order_by(LoyaltyMember.card_no).limit(limit)):
            hits[customer.id] = Hit(customer, by_card=True)
    for customer in (apply_filters(scope, Filters(q=q)).order_by(Customer.name, Customer.id)
                     .limit(limit)):
        hits.setdefault(customer.id, Hit(customer))
    if hits:
        members = {m.customer_id: m for m in
                   LoyaltyMember.select(LoyaltyMember, LoyaltyTier).join(LoyaltyTier)
                   .where(LoyaltyMember.customer.in_(list(hits)))}
        for hit in hits.values():
            hit.member = members.get(hit.customer.id)
            hit.tier = hit.member.tier if hit.member else None
    ordered = sorted(hits.values(), key=lambda h: (not h.by_card, h.member is None))
    return ordered[:limit]


def exact_card(scope, q: str) -> Customer | None:
    """The customer whose card number is exactly ``q`` (a scan), inside the scope."""
    digits = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", q or ""))
    if not re.fullmatch(r"\d{6,24}", digits):
        return None
    return (scope.join(LoyaltyMember, on=(LoyaltyMember.customer == Customer.id))
            .where(LoyaltyMember.card_no == digits).first())


@dataclass
class Summary:
    member: LoyaltyMember
    tier: LoyaltyTier
    next_tier: LoyaltyTier | None
    spend_fen: int
    earned: int
    expiring: int                      # spendable points expiring within EXPIRING_DAYS
    expiring_at: dt.datetime | None    # the soonest expiry among them
    pending_lots: list = field(default_factory=list)   # (points, available_at)
    cash_rate: int = 100

    @property
    def to_next(self) -> int | None:
        """How much more spend (fen) or earned points the next tier needs."""
        if self.next_tier is None:
            return None
        value = self.spend_fen if self.next_tier.basis == "spend" else self.earned
        return max(self.next_tier.threshold - value, 0)


def summary(member: LoyaltyMember, now: dt.datetime | None = None) -> Summary:
    now = now or utcnow()
    prog = services.program()
    all_tiers = services.tiers()
    tier = next((t for t in all_tiers if t.id == member.tier_id), None) or \
        LoyaltyTier.get_by_id(member.tier_id)
    higher = [t for t in all_tiers if t.rank > tier.rank]
    spend, earned = services.qualifying(member.id, now, prog.window_days)
    soon = now + dt.timedelta(days=services.EXPIRING_DAYS)
    expiring, expiring_at = (LoyaltyLot.select(fn.COALESCE(fn.SUM(LoyaltyLot.remaining), 0),
                                               fn.MIN(LoyaltyLot.expires_at))
                             .where((LoyaltyLot.member == member.id)
                                    & (LoyaltyLot.released == True)  # noqa: E712
                                    & (LoyaltyLot.remaining > 0)
                                    & LoyaltyLot.expires_at.is_null(False)
                                    & (LoyaltyLot.expires_at <= soon)).tuples().get())
    if isinstance(expiring_at, str):          # SQLite returns MIN() of a datetime as text
        expiring_at = dt.datetime.fromisoformat(expiring_at)
    pending_lots = list(LoyaltyLot.select(LoyaltyLot.remaining, LoyaltyLot.available_at)
                        .where((LoyaltyLot.member == member.id)
                               & (LoyaltyLot.released == False)  # noqa: E712
                               & (LoyaltyLot.remaining > 0))
                        .order_by(LoyaltyLot.available_at).limit(5).tuples())
    return Summary(member, tier, higher[0] if higher else None, spend, earned, int(expiring),
                   expiring_at, pending_lots, max(prog.cash_points_per_yuan, 1))


def entries(member: LoyaltyMember, limit: int = 10, before: int | None = None) -> list:
    query = LoyaltyEntry.select().where(LoyaltyEntry.member == member.id)
    if before:
        query = query.where(LoyaltyEntry.id < before)
    return list(query.order_by(LoyaltyEntry.id.desc()).limit(limit))


def tier_changes(member: LoyaltyMember, limit: int = 5) -> list:
    return list(LoyaltyTierChange.select().where(LoyaltyTierChange.member == member.id)
                .order_by(LoyaltyTierChange.id.desc()).limit(limit))


def gifts(available_only: bool = True) -> list[LoyaltyGift]:
    query = LoyaltyGift.select().order_by(LoyaltyGift.points, LoyaltyGift.id)
    if available_only:
        query = query.where((LoyaltyGift.active == True) & (LoyaltyGift.stock > 0))  # noqa: E712
    return list(query)


def redemption_for(entry: LoyaltyEntry):
    return (LoyaltyRedemption.select(LoyaltyRedemption, LoyaltyGift)
            .join(LoyaltyGift, on=(LoyaltyRedemption.gift == LoyaltyGift.id),
                  join_type=JOIN.LEFT_OUTER, attr="gift_row")
            .where(LoyaltyRedemption.entry == entry.id).first())


# -- the dashboard --------------------------------------------------------------------------------

def _members_in(scope):
    return LoyaltyMember.select().where(LoyaltyMember.customer.in_(scope.select(Customer.id)))


def members_by_tier(scope) -> list[tuple]:
    """(tier, members) for every tier, lowest first, among the customers in scope."""
    counts = dict(_members_in(scope).select(LoyaltyMember.tier, fn.COUNT(LoyaltyMember.id))
                  .group_by(LoyaltyMember.tier).tuples())
    return [(tier, counts.get(tier.id, 0)) for tier in services.tiers()]


def liability(scope) -> tuple[int, int, int]:
    """(spendable points, pending points, their value in fen at the cash-offset rate)."""
    balance, pending = (_members_in(scope).select(fn.COALESCE(fn.SUM(LoyaltyMember.balance), 0),
                                                  fn.COALESCE(fn.SUM(LoyaltyMember.pending), 0))
                        .tuples().get())
    rate = max(services.program().cash_points_per_yuan, 1)
    balance, pending = int(balance), int(pending)
    return balance, pending, (balance + pending) * 100 // rate


def _month_start(day: dt.date, back: int) -> dt.date:
    month = day.month - back
    year = day.year + (month - 1) // 12
    return dt.date(year, (month - 1) % 12 + 1, 1)


def monthly_flow(scope, months: int = 6, now: dt.datetime | None = None) -> list[tuple]:
    """(first day of the month, points earned, points redeemed) for the last ``months``
    months of the shop's calendar, oldest first: one aggregate query.  Earned: what members
    earned (purchases, rules, birthdays), not releases, adjustments or repayments."""
    now = now or utcnow()
    today = services.local_date(now)
    starts = [_month_start(today, back) for back in range(months - 1, -1, -1)]
    bounds = [services.local_midnight_utc(s) for s in starts] + \
        [services.local_midnight_utc(_month_start(today, -1))]
    moved = LoyaltyEntry.points + LoyaltyEntry.pending
    earning = (moved > 0) & LoyaltyEntry.kind.not_in(("release", "adjust", "repay"))
    columns = []
    for low, high in zip(bounds, bounds[1:]):
        inside = (LoyaltyEntry.created_at >= low) & (LoyaltyEntry.created_at < high)
        columns.append(fn.COALESCE(fn.SUM(Case(None, [(inside & earning, moved)], 0)), 0))
        columns.append(fn.COALESCE(fn.SUM(Case(None, [(inside & (LoyaltyEntry.kind == "redeem"),
                                                       0 - LoyaltyEntry.points)], 0)), 0))
    row = (LoyaltyEntry.select(*columns)
           .where((LoyaltyEntry.created_at >= bounds[0])
                  & LoyaltyEntry.member.in_(_members_in(scope).select(LoyaltyMember.id)))
           .tuples().get())
    return [(s, int(row[2 * i]), int(row[2 * i + 1])) for i, s in enumerate(starts)]


def active_members(scope, days: int = 90, now: dt.datetime | None = None) -> tuple[int, int]:
    """(members with a movement in the last ``days`` days, all members), in scope."""
    now = now or utcnow()
    members = _members_in(scope)
    total = members.count()
    active = members.where(LoyaltyMember.last_activity_at >= now - dt.timedelta(days=days)).count()
    return active, total
