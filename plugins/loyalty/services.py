"""Loyalty domain logic: the ledger, lots, tiers, earning, redemption, refunds and the nightly
job.  No Flask views here; the web, the CLI, the job and other plugins call these functions.

Guarantees (docs/loyalty.md, "The accounting model"):

* Every movement is one append-only ``LoyaltyEntry`` with a unique idempotency ``key``; doing
  the same thing again with the same key changes nothing and returns the first result.
* A movement, its lot or allocations, the member's cached balances and anything it pays for
  (a gift's stock, a redemption) are written in one transaction: all of it or none of it.
* Every balance-changing transaction first locks the member: ``BEGIN IMMEDIATE`` on SQLite (a
  write lock taken before anything is read), ``SELECT ... FOR UPDATE`` on PostgreSQL.  Two
  counters redeeming from one balance at once are served one after the other, and the second
  sees what the first left.  The CHECK constraints (balance, pending, owed, stock, a lot's
  remaining >= 0) are the last line of defence.
* Debits consume credit lots soonest expiry first (lots that never expire last, then oldest).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import re
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from peewee import JOIN, Case, IntegrityError, fn

from crm.db import database, is_postgres, utcnow
from crm.i18n import _l

from .models import (LoyaltyAllocation, LoyaltyCounterPurchase, LoyaltyEntry,
                     LoyaltyGift, LoyaltyLot, LoyaltyMember, LoyaltyProgram,
                     LoyaltyReconciliation, LoyaltyRedemption, LoyaltyRule, LoyaltyTier,
                     LoyaltyTierChange)

log = logging.getLogger("crm.plugins.loyalty")

MAX_POINTS = 10_000_000          # one movement; keeps every sum far inside 32-bit integers
KEY_RE = re.compile(r"^[0-9a-f]{32}$")
CARD_RE = re.compile(r"^\d{6,24}$")
EXPIRING_DAYS = 30               # "expiring soon" on the counter


class LoyaltyError(ValueError):
    """A refusal with a message for the user (lazily translated)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class NotEnoughPoints(LoyaltyError):
    pass


class OutOfStock(LoyaltyError):
    pass


class AlreadyMember(LoyaltyError):
    def __init__(self, member):
        super().__init__(_l("This customer is a member already."))
        self.member = member


@dataclass
class Result:
    """What a movement did.  ``replay`` is True when the key had been used already: nothing
    changed, and ``entry`` is the first movement made with it."""
    entry: LoyaltyEntry
    replay: bool = False
    redemption: LoyaltyRedemption | None = None


# -- transactions, clock, settings ------------------------------------------------------------

@contextlib.contextmanager
def write_transaction():
    """A transaction that may change balances.

    SQLite: at the top level ``BEGIN IMMEDIATE`` takes the write lock before anything is read,
    so no two writers ever work from the same snapshot (a deferred transaction would fail with
    SQLITE_BUSY_SNAPSHOT, or worse, act on a stale read).  Inside an outer transaction (the
    outbox dispatcher's) a no-op write takes the lock before the first read of ours.
    PostgreSQL: an ordinary transaction; ``lock_member`` serialises the writers of one member.
    """
    db = database.obj
    postgres = is_postgres(db)
    if db.transaction_depth() == 0:
        with (db.atomic() if postgres else db.atomic(lock_type="IMMEDIATE")):
            yield
    else:
        with db.atomic():
            if not postgres:
                db.execute_sql("UPDATE loyalty_program SET version = version WHERE id < 0")
            yield


def lock_member(member_id: int) -> LoyaltyMember:
    """The member row, locked until the transaction ends (see ``write_transaction``)."""
    query = LoyaltyMember.select().where(LoyaltyMember.id == member_id)
    if is_postgres():
        query = query.for_update()
    member = query.get_or_none()
    if member is None:
        raise LoyaltyError(_l("This customer is not a member."))
    return member


def business_tz() -> ZoneInfo:
    """The shop's time zone: the day of a check-in, a birthday, the end of a year."""
    from flask import current_app, has_app_context
    name = "Asia/Shanghai"
    if has_app_context():
        name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or name
    return ZoneInfo(name)


def local_date(when: dt.datetime) -> dt.date:
    return when.replace(tzinfo=dt.timezone.utc).astimezone(business_tz()).date()


def local_midnight_utc(day: dt.date) -> dt.datetime:
    """The UTC time at which ``day`` begins in the shop's time zone (naive UTC)."""
    local = dt.datetime(day.year, day.month, day.day, tzinfo=business_tz())
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def program() -> LoyaltyProgram:
    found = LoyaltyProgram.get_or_none(LoyaltyProgram.id == 1)
    if found is None:     # the migration creates it; a deleted row falls back to the defaults
        found = LoyaltyProgram(id=1)
    return found


def tiers() -> list[LoyaltyTier]:
    return list(LoyaltyTier.select().order_by(LoyaltyTier.rank))


def entry_tier() -> LoyaltyTier:
    tier = LoyaltyTier.select().order_by(LoyaltyTier.rank).first()
    if tier is None:
        raise LoyaltyError(_l("No tier is configured: an administrator must add one."))
    return tier


def rule(kind: str) -> LoyaltyRule | None:
    return LoyaltyRule.get_or_none(LoyaltyRule.kind == kind)


def expiry_for(prog: LoyaltyProgram, earned_at: dt.datetime) -> dt.datetime | None:
    """When points earned at ``earned_at`` expire: N days later, at the end of the year (the
    year earned + ``expiry_years``, in the shop's time zone), or never."""
    if prog.expiry_mode == "never":
        return None
    if prog.expiry_mode == "year_end":
        year = local_date(earned_at).year + max(prog.expiry_years, 0)
        return local_midnight_utc(dt.date(year + 1, 1, 1))
    return earned_at + dt.timedelta(days=max(prog.expiry_days, 1))


def check_key(client_key: str) -> str:
    """A form's idempotency key: 32 lower-case hex digits (``new_key()``)."""
    client_key = (client_key or "").strip().lower()
    if not KEY_RE.match(client_key):
        raise LoyaltyError(_l("The form is out of date. Reload the page and try again."))
    return client_key


def new_key() -> str:
    return secrets.token_hex(16)


# -- the ledger ---------------------------------------------------------------------------------

def _post(member: LoyaltyMember, kind: str, key: str, now: dt.datetime, *, points: int = 0,
          pending: int = 0, owed: int = 0, **fields) -> LoyaltyEntry:
    """Append one movement and move the member's cached balances with it (same transaction).

    The cached balances change by a relative UPDATE, so that even a caller that forgot the
    lock could not overwrite another's change; the CHECK constraints refuse a negative result.
    """
    member.balance += points
    member.pending += pending
    member.owed += owed
    if member.balance < 0 or member.pending < 0 or member.owed < 0:
        raise NotEnoughPoints(_l("Not enough points."))
    fields.setdefault("qualify_at", now)
    entry = LoyaltyEntry.create(member=member.id, key=key, kind=kind, points=points,
                                pending=pending, owed=owed, balance_after=member.balance,
                                pending_after=member.pending, created_at=now, **fields)
    (LoyaltyMember.update(balance=LoyaltyMember.balance + points,
                          pending=LoyaltyMember.pending + pending,
                          owed=LoyaltyMember.owed + owed, last_activity_at=now)
     .where(LoyaltyMember.id == member.id).execute())
    return entry


def _spendable_lots(member_id: int, exclude: int | None = None):
    """Released lots with points left, in the order debits consume them: soonest expiry
    first, lots that never expire last, then the oldest."""
    query = (LoyaltyLot.select()
             .where((LoyaltyLot.member == member_id) & (LoyaltyLot.released == True)  # noqa: E712
                    & (LoyaltyLot.remaining > 0))
             .order_by(LoyaltyLot.expires_at.asc(nulls="LAST"), LoyaltyLot.id))
    if exclude is not None:
        query = query.where(LoyaltyLot.id != exclude)
    return list(query)


def _plan(lots, wanted: int) -> list[tuple[LoyaltyLot, int]]:
    plan = []
    for lot in lots:
        if wanted <= 0:
            break
        take = min(lot.remaining, wanted)
        if take > 0:
            plan.append((lot, take))
            wanted -= take
    return plan


def _consume(entry: LoyaltyEntry, plan) -> None:
    """Record which lots a debit took from and lower their remaining points."""
    for lot, take in plan:
        updated = (LoyaltyLot.update(remaining=LoyaltyLot.remaining - take)
                   .where((LoyaltyLot.id == lot.id) & (LoyaltyLot.remaining >= take)).execute())
        if updated != 1:     # the member lock makes this impossible; never write a half debit
            raise RuntimeError(f"loyalty lot {lot.id} changed under a locked member")
        lot.remaining -= take
        LoyaltyAllocation.create(entry=entry.id, lot=lot.id, points=take)


def _credit(member, kind, key, n, now, *, available_at=None, expires_at=None,
            purchase_id=None, **fields) -> LoyaltyEntry:
    """Credit ``n`` points in a new lot: spendable now, or pending until ``available_at``."""
    if n < 0 or n > MAX_POINTS:
        raise LoyaltyError(_l("The number of points is out of range."))
    released = available_at is None or available_at <= now
    entry = _post(member, kind, key, now, points=n if released else 0,
                  pending=0 if released else n, purchase_id=purchase_id, **fields)
    if n > 0:
        LoyaltyLot.create(member=member.id, entry=entry.id, points=n, remaining=n,
                          released=released, available_at=available_at or now,
                          expires_at=expires_at, purchase_id=purchase_id, created_at=now)
        if released:
            _repay(member, entry, now)
    return entry


def _debit(member, kind, key, n, now, **fields) -> LoyaltyEntry:
    """Take ``n`` spendable points, soonest-expiring lots first."""
    if n <= 0 or n > MAX_POINTS:
        raise LoyaltyError(_l("The number of points is out of range."))
    if member.balance < n:
        raise NotEnoughPoints(_l("Not enough points: the balance is %(balance)s.",
                                 balance=member.balance))
    plan = _plan(_spendable_lots(member.id), n)
    if sum(take for _lot, take in plan) != n:
        raise RuntimeError(f"loyalty member {member.id}: lots do not cover the cached balance")
    entry = _post(member, kind, key, now, points=-n, **fields)
    _consume(entry, plan)
    return entry


def _repay(member, trigger: LoyaltyEntry, now) -> None:
    """Points owed (a refund took back points that were already spent) are repaid from the
    next spendable points."""
    if member.owed <= 0 or member.balance <= 0:
        return
    amount = min(member.owed, member.balance)
    plan = _plan(_spendable_lots(member.id), amount)
    entry = _post(member, "repay", f"repay:{trigger.id}", now, points=-amount, owed=-amount)
    _consume(entry, plan)


def _settle(member, now) -> tuple[int, int]:
    """Expire the member's lots that are due and release the pending ones whose return window
    has passed.  Idempotent (keys ``expire:<lot>`` and ``release:<lot>``).  Returns
    (released lots, expired lots)."""
    expired = 0
    for lot in (LoyaltyLot.select()
                .where((LoyaltyLot.member == member.id) & (LoyaltyLot.remaining > 0)
                       & LoyaltyLot.expires_at.is_null(False) & (LoyaltyLot.expires_at <= now))
                .order_by(LoyaltyLot.expires_at, LoyaltyLot.id)):
        take = lot.remaining
        entry = _post(member, "expire", f"expire:{lot.id}", now,
                      points=-take if lot.released else 0,
                      pending=0 if lot.released else -take, lot_id=lot.id)
        _consume(entry, [(lot, take)])
        expired += 1
    released = 0
    for lot in (LoyaltyLot.select()
                .where((LoyaltyLot.member == member.id) & (LoyaltyLot.released == False)  # noqa
                       & (LoyaltyLot.available_at <= now))
                .order_by(LoyaltyLot.available_at, LoyaltyLot.id)):
        LoyaltyLot.update(released=True).where(LoyaltyLot.id == lot.id).execute()
        if lot.remaining > 0:
            entry = _post(member, "release", f"release:{lot.id}", now, points=lot.remaining,
                          pending=-lot.remaining, lot_id=lot.id)
            _repay(member, entry, now)
        released += 1
    return released, expired


def settle(member_id: int, now: dt.datetime | None = None) -> tuple[int, int]:
    """Bring a member up to date (release and expire) in its own transaction, if anything is
    due; a cheap read when nothing is."""
    now = now or utcnow()
    due = LoyaltyLot.select(LoyaltyLot.id).where(
        (LoyaltyLot.member == member_id) & (
            ((LoyaltyLot.released == False) & (LoyaltyLot.available_at <= now))  # noqa: E712
            | ((LoyaltyLot.remaining > 0) & LoyaltyLot.expires_at.is_null(False)
               & (LoyaltyLot.expires_at <= now))))
    if not due.exists():
        return 0, 0
    with write_transaction():
        return _settle(lock_member(member_id), now)


def _replay(key: str) -> Result | None:
    entry = LoyaltyEntry.get_or_none(LoyaltyEntry.key == key)
    if entry is None:
        return None
    return Result(entry, replay=True,
                  redemption=LoyaltyRedemption.get_or_none(LoyaltyRedemption.entry == entry.id))


@contextlib.contextmanager
def _keyed(key: str):
    """Run a keyed movement; a concurrent twin that inserted the same key first (the unique
    index) turns this attempt into a replay of it.  Yields a box for the result."""
    box: dict = {}
    try:
        yield box
    except IntegrityError:
        replay = _replay(key)
        if replay is None:
            raise
        box["result"] = replay


# -- membership ---------------------------------------------------------------------------------

def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def generate_card_no(prefix: str) -> str:
    body = (prefix or "") + "".join(secrets.choice("0123456789") for _ in range(8))
    return body + luhn_digit(body)


def _enrol_locked(customer, *, card_no=None, birthday=None, consent=False, user_id=None,
                  now=None, enrol_key=None) -> LoyaltyMember:
    existing = LoyaltyMember.get_or_none(LoyaltyMember.customer == customer.id)
    if existing is not None:
        raise AlreadyMember(existing)
    card_no = (card_no or "").strip()
    if card_no and not CARD_RE.match(card_no):
        raise LoyaltyError(_l("A card number has 6 to 24 digits."))
    if card_no and LoyaltyMember.select().where(LoyaltyMember.card_no == card_no).exists():
        raise LoyaltyError(_l("This card number belongs to another member."))
    tier = entry_tier()
    prefix = program().card_prefix
    for _attempt in range(10):
        number = card_no or generate_card_no(prefix)
        try:
            with database.atomic():
                member = LoyaltyMember.create(
                    customer=customer.id, card_no=number, tier=tier.id, tier_since=now,
                    birthday=birthday, consent=bool(consent), consent_at=now if consent else None,
                    enrolled_at=now, enrolled_by=user_id, enrol_key=enrol_key)
            break
        except IntegrityError:
            if enrol_key and LoyaltyMember.get_or_none(LoyaltyMember.enrol_key == enrol_key):
                raise
            found = LoyaltyMember.get_or_none(LoyaltyMember.customer == customer.id)
            if found is not None:
                raise AlreadyMember(found) from None
            if card_no:
                raise LoyaltyError(_l("This card number belongs to another member.")) from None
    else:   # ten random numbers taken in a row: the prefix's space is full
        raise LoyaltyError(_l("No free card number: ask an administrator to change the prefix."))
    LoyaltyTierChange.create(member=member.id, from_tier=None, to_tier=tier.id, kind="enrol",
                             reason="", user_id=user_id, at=now)
    return member


def _enrolled_with(enrol_key: str | None) -> LoyaltyMember | None:
    return LoyaltyMember.get_or_none(LoyaltyMember.enrol_key == enrol_key) if enrol_key else None


def enrol(customer, *, card_no=None, birthday=None, consent=False, user_id=None,
          now=None, client_key: str | None = None) -> tuple[LoyaltyMember, bool]:
    """Make ``customer`` a member (entry tier), with a scanned or a generated card number.
    Returns (member, replay): the form's key sent again finds the member it enrolled."""
    now = now or utcnow()
    enrol_key = f"{customer.id}:{check_key(client_key)}" if client_key is not None else None
    try:
        with write_transaction():
            again = _enrolled_with(enrol_key)
            if again is not None:
                return again, True
            return _enrol_locked(customer, card_no=card_no, birthday=birthday, consent=consent,
                                 user_id=user_id, now=now, enrol_key=enrol_key), False
    except IntegrityError:
        again = _enrolled_with(enrol_key)
        if again is None:
            raise
        return again, True


def enrol_new_customer(data: dict, user, settings, *, card_no=None, birthday=None,
                       consent=False, now=None, client_key: str | None = None
                       ) -> tuple[LoyaltyMember, bool]:
    """A new customer (through the core's service: numbered, indexed, audited, its event
    emitted) and their membership, in one transaction: both or neither.  Returns (member,
    replay) like ``enrol``."""
    from crm.customers import services as customers
    now = now or utcnow()
    enrol_key = f"new:{check_key(client_key)}" if client_key is not None else None
    try:
        with write_transaction():
            again = _enrolled_with(enrol_key)
            if again is not None:
                return again, True
            customer = customers.create_customer(data, user, settings)
            return _enrol_locked(customer, card_no=card_no, birthday=birthday, consent=consent,
                                 user_id=user.id, now=now, enrol_key=enrol_key), False
    except IntegrityError:
        again = _enrolled_with(enrol_key)
        if again is None:
            raise
        return again, True


def member_for(customer_id: int) -> LoyaltyMember | None:
    return LoyaltyMember.get_or_none(LoyaltyMember.customer == customer_id)


# -- earning ------------------------------------------------------------------------------------

PRE_ENROLMENT_GRACE = dt.timedelta(days=1)   # a purchase made just before enrolling counts


def purchase_points(total_fen: int, tier: LoyaltyTier) -> int:
    """Points for a purchase: ``rate`` points per yuan times the tier's multiplier, rounded
    down (the member never gets a fraction, the shop never gives one away)."""
    earning = rule("purchase")
    if earning is None or not earning.active or total_fen <= 0:
        return 0
    return total_fen * earning.rate * tier.multiplier_pct // 10000


def _earn_locked(member, purchase, now, event_uid=None) -> LoyaltyEntry:
    prog = program()
    tier = LoyaltyTier.get_by_id(member.tier_id)
    points = purchase_points(purchase.total_fen, tier)
    available_at = purchase.purchased_at + dt.timedelta(days=max(prog.pending_days, 0))
    entry = _credit(member, "purchase", f"purchase:{purchase.id}", points, now,
                    available_at=available_at, expires_at=expiry_for(prog, purchase.purchased_at),
                    purchase_id=purchase.id, spend_fen=purchase.total_fen, earned=points,
                    qualify_at=purchase.purchased_at, event_uid=event_uid,
                    user_id=getattr(purchase, "user_id", None))
    _settle(member, now)
    _upgrade(member, now)
    return entry


def earn_for_purchase(purchase_id: int, *, event_uid: str | None = None,
                      now: dt.datetime | None = None) -> Result | None:
    """Points for a purchase recorded in the core, exactly once (key ``purchase:<id>``), for a
    customer who is a member (purchases made more than a day before enrolling earn nothing).
    Called by the ``purchase.recorded`` handler and, to show the points at once, by the counter
    right after it recorded the purchase: whichever comes second changes nothing."""
    from crm.purchases.models import Purchase
    now = now or utcnow()
    purchase = Purchase.get_or_none(Purchase.id == purchase_id)
    if purchase is None:
        return None
    found = member_for(purchase.customer_id)
    if found is None or purchase.purchased_at < found.enrolled_at - PRE_ENROLMENT_GRACE:
        return None
    key = f"purchase:{purchase.id}"
    with _keyed(key) as box:
        with write_transaction():
            member = lock_member(found.id)
            replay = _replay(key)
            if replay is not None:
                return replay
            box["result"] = Result(_earn_locked(member, purchase, now, event_uid))
    return box["result"]


def refund_purchase(purchase_id: int, refund_fen: int, key: str, *, user_id=None,
                    event_uid=None, now=None) -> Result | None:
    """Take back the points a purchase earned, pro rata to the amount refunded.

    Cumulative, so rounding never drifts: after refunds totalling R of a purchase of T that
    earned E points, exactly floor(E * R / T) points have been taken back (all of them when
    everything is refunded).  They come from the purchase's own lot first (pending or not),
    then from the member's other spendable points; what was already spent is recorded as owed
    and repaid from the next points the member gets.  The qualifying spend of the purchase
    shrinks by the refund (tier downgrades follow the programme's policy).
    """
    from crm.purchases.models import Purchase
    now = now or utcnow()
    if not isinstance(refund_fen, int) or refund_fen <= 0:
        raise LoyaltyError(_l("The refunded amount must be more than zero."))
    purchase = Purchase.get_or_none(Purchase.id == purchase_id)
    if purchase is None:
        return None
    found = member_for(purchase.customer_id)
    if found is None:
        return None
    with _keyed(key) as box:
        with write_transaction():
            member = lock_member(found.id)
            replay = _replay(key)
            if replay is not None:
                return replay
            earn = LoyaltyEntry.get_or_none(LoyaltyEntry.key == f"purchase:{purchase.id}")
            if earn is None:
                # the refund arrived before the purchase's own event (no global order): earn
                # first, so that the purchase's event, when it comes, changes nothing
                if purchase.purchased_at < found.enrolled_at - PRE_ENROLMENT_GRACE:
                    return None
                earn = _earn_locked(member, purchase, now, None)
            box["result"] = Result(_refund_locked(member, earn, refund_fen, key, now,
                                                  user_id=user_id, event_uid=event_uid))
    return box["result"]


def _refund_locked(member, earn, refund_fen, key, now, *, user_id=None, event_uid=None):
    total, earned = earn.spend_fen, earn.earned
    before = (LoyaltyEntry.select(fn.COALESCE(fn.SUM(LoyaltyEntry.spend_fen), 0),
                                  fn.COALESCE(fn.SUM(LoyaltyEntry.earned), 0))
              .where((LoyaltyEntry.purchase_id == earn.purchase_id)
                     & (LoyaltyEntry.kind == "refund")).tuples().get())
    refunded_before, reversed_before = -int(before[0]), -int(before[1])
    refunded = min(total, refunded_before + refund_fen)
    target = earned * refunded // total if total > 0 else 0
    wanted = max(target - reversed_before, 0)
    lot = LoyaltyLot.get_or_none(LoyaltyLot.entry == earn.id)
    plan, from_pending, from_balance = [], 0, 0
    if lot is not None and wanted > 0 and lot.remaining > 0:
        take = min(lot.remaining, wanted)
        plan.append((lot, take))
        if lot.released:
            from_balance += take
        else:
            from_pending += take
    rest = wanted - from_pending - from_balance
    if rest > 0:
        more = _plan(_spendable_lots(member.id, exclude=lot.id if lot else None), rest)
        plan.extend(more)
        from_balance += sum(take for _lot, take in more)
    owed = wanted - from_pending - from_balance
    entry = _post(member, "refund", key, now, points=-from_balance, pending=-from_pending,
                  owed=owed, spend_fen=-(refunded - refunded_before), earned=-wanted,
                  qualify_at=earn.qualify_at, purchase_id=earn.purchase_id, user_id=user_id,
                  event_uid=event_uid,
                  reason=json.dumps({"refund_fen": refund_fen, "refunded_fen": refunded,
                                     "total_fen": total}))
    _consume(entry, plan)
    return entry


def award(member_id: int, kind: str, ref: str, *, user_id=None, now=None,
          reason: str = "") -> Result:
    """Points of a rule that gives a fixed number (check-in, review, birthday and rule types
    of other plugins), once per ``ref`` (key ``<kind>:<member>:<ref>``)."""
    now = now or utcnow()
    ref = (ref or "").strip()[:60]
    if not ref:
        raise LoyaltyError(_l("A reference is required."))
    earning = rule(kind)
    if earning is None or not earning.active or earning.points <= 0:
        raise LoyaltyError(_l("This way of earning points is switched off."))
    key = f"{kind}:{member_id}:{ref}"
    with _keyed(key) as box:
        with write_transaction():
            member = lock_member(member_id)
            replay = _replay(key)
            if replay is not None:
                return replay
            _settle(member, now)
            points = earning.points
            if kind == "birthday":
                points += LoyaltyTier.get_by_id(member.tier_id).birthday_points
            entry = _credit(member, kind, key, points, now,
                            expires_at=expiry_for(program(), now), earned=points,
                            user_id=user_id, reason=reason[:300])
            _upgrade(member, now)
            box["result"] = Result(entry)
    return box["result"]


def checkin(member_id: int, *, user_id=None, now=None) -> Result:
    """The daily check-in: once per day of the shop's calendar."""
    now = now or utcnow()
    return award(member_id, "checkin", local_date(now).isoformat(), user_id=user_id, now=now)


def award_customer(customer_id: int, kind: str, ref: str, now=None) -> Result | None:
    """For other plugins: points of rule ``kind`` for a customer, if a member (else None)."""
    member = member_for(customer_id)
    if member is None:
        return None
    return award(member.id, kind, ref, now=now)


# -- spending -----------------------------------------------------------------------------------

def _check_points(points) -> int:
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise LoyaltyError(_l("Enter a whole number of points, more than zero."))
    if points > MAX_POINTS:
        raise LoyaltyError(_l("The number of points is out of range."))
    return points


def redeem_cash(member_id: int, points: int, client_key: str, *, user_id=None,
                now=None) -> Result:
    """Points as money off the bill: ``cash_points_per_yuan`` points are 1 yuan; any amount
    of points that makes whole fen, up to the balance."""
    now = now or utcnow()
    points = _check_points(points)
    key = f"redeem:{member_id}:{check_key(client_key)}"
    with _keyed(key) as box:
        with write_transaction():
            member = lock_member(member_id)
            replay = _replay(key)
            if replay is not None:
                return replay
            _settle(member, now)
            rate = max(program().cash_points_per_yuan, 1)
            if (points * 100) % rate:
                step = rate // math.gcd(rate, 100)
                raise LoyaltyError(_l("Use a multiple of %(step)s points (%(rate)s points are "
                                      "1 yuan).", step=step, rate=rate))
            cash_fen = points * 100 // rate
            entry = _debit(member, "redeem", key, points, now, user_id=user_id)
            redemption = LoyaltyRedemption.create(member=member.id, entry=entry.id, kind="cash",
                                                  points=points, cash_fen=cash_fen,
                                                  user_id=user_id, created_at=now)
            box["result"] = Result(entry, redemption=redemption)
    return box["result"]


def redeem_gift(member_id: int, gift_id: int, quantity: int, client_key: str, *,
                user_id=None, now=None) -> Result:
    """A gift from the catalogue: its points times the quantity, and its stock, or nothing."""
    now = now or utcnow()
    if not isinstance(quantity, int) or quantity <= 0 or quantity > 99:
        raise LoyaltyError(_l("The quantity must be between 1 and 99."))
    key = f"redeem:{member_id}:{check_key(client_key)}"
    with _keyed(key) as box:
        with write_transaction():
            member = lock_member(member_id)
            replay = _replay(key)
            if replay is not None:
                return replay
            gift = LoyaltyGift.get_or_none((LoyaltyGift.id == gift_id)
                                           & (LoyaltyGift.active == True))  # noqa: E712
            if gift is None:
                raise LoyaltyError(_l("This gift is not in the catalogue any more."))
            _settle(member, now)
            points = gift.points * quantity
            entry = _debit(member, "redeem", key, points, now, user_id=user_id)
            taken = (LoyaltyGift.update(stock=LoyaltyGift.stock - quantity)
                     .where((LoyaltyGift.id == gift.id) & (LoyaltyGift.stock >= quantity))
                     .execute())
            if not taken:
                raise OutOfStock(_l("Not enough in stock: %(stock)s left.",
                                    stock=LoyaltyGift.get_by_id(gift.id).stock))
            redemption = LoyaltyRedemption.create(member=member.id, entry=entry.id, kind="gift",
                                                  gift=gift.id, quantity=quantity,
                                                  points=points, user_id=user_id,
                                                  created_at=now)
            box["result"] = Result(entry, redemption=redemption)
    return box["result"]


def adjust(member_id: int, points: int, reason: str, client_key: str, *, user_id=None,
           now=None) -> Result:
    """A manual adjustment with its reason (permission ``loyalty.adjust``).  Added points are
    spendable at once and expire like any others; they do not count toward a tier.  Removed
    points come from the spendable balance, soonest expiry first."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise LoyaltyError(_l("Say why the points are adjusted."))
    if not isinstance(points, int) or points == 0 or abs(points) > MAX_POINTS:
        raise LoyaltyError(_l("Enter a whole number of points other than zero."))
    key = f"adjust:{member_id}:{check_key(client_key)}"
    with _keyed(key) as box:
        with write_transaction():
            member = lock_member(member_id)
            replay = _replay(key)
            if replay is not None:
                return replay
            _settle(member, now)
            if points > 0:
                entry = _credit(member, "adjust", key, points, now,
                                expires_at=expiry_for(program(), now), user_id=user_id,
                                reason=reason[:300])
            else:
                entry = _debit(member, "adjust", key, -points, now, user_id=user_id,
                               reason=reason[:300])
            box["result"] = Result(entry)
    return box["result"]


# -- tiers --------------------------------------------------------------------------------------

def qualifying(member_id: int, now: dt.datetime, window_days: int) -> tuple[int, int]:
    """(qualifying spend in fen, qualifying points earned) over the rolling window ending now.
    Refunds count at the date of the purchase they refund."""
    since = now - dt.timedelta(days=max(window_days, 1))
    spend, earned = (LoyaltyEntry.select(fn.COALESCE(fn.SUM(LoyaltyEntry.spend_fen), 0),
                                         fn.COALESCE(fn.SUM(LoyaltyEntry.earned), 0))
                     .where((LoyaltyEntry.member == member_id)
                            & (LoyaltyEntry.qualify_at > since)
                            & (LoyaltyEntry.qualify_at <= now)).tuples().get())
    return int(spend), int(earned)


def qualified_tier(all_tiers: list[LoyaltyTier], spend: int, earned: int) -> LoyaltyTier:
    """The highest tier whose threshold the figures reach (never the spendable balance)."""
    best = all_tiers[0]
    for tier in all_tiers:
        value = spend if tier.basis == "spend" else earned
        if value >= tier.threshold and tier.rank >= best.rank:
            best = tier
    return best


def _reason(tier, spend, earned, window) -> str:
    return json.dumps({"basis": tier.basis, "value": spend if tier.basis == "spend" else earned,
                       "threshold": tier.threshold, "window": window})


def _upgrade(member, now, user_id=None) -> bool:
    """Upgrades happen at once, after any movement that may qualify."""
    prog = program()
    all_tiers = tiers()
    if not all_tiers:
        return False
    spend, earned = qualifying(member.id, now, prog.window_days)
    target = qualified_tier(all_tiers, spend, earned)
    current = next((t for t in all_tiers if t.id == member.tier_id), all_tiers[0])
    if target.rank > current.rank:
        LoyaltyMember.update(tier=target.id, tier_since=now, grace_until=None).where(
            LoyaltyMember.id == member.id).execute()
        LoyaltyTierChange.create(member=member.id, from_tier=current.id, to_tier=target.id,
                                 kind="upgrade", reason=_reason(target, spend, earned,
                                                                prog.window_days),
                                 user_id=user_id, at=now)
        member.tier_id, member.tier_since, member.grace_until = target.id, now, None
        return True
    if target.rank >= current.rank and member.grace_until is not None:
        LoyaltyMember.update(grace_until=None).where(LoyaltyMember.id == member.id).execute()
        member.grace_until = None
    return False


def review_tiers(now: dt.datetime | None = None) -> int:
    """Downgrades, by the programme's policy (the nightly job): ``never``; ``step`` (one tier
    down per grace period); ``recompute`` (straight to the tier the figures reach).  A member
    who falls below their tier keeps it for ``grace_days`` first; requalifying in that time
    clears the grace.  Returns the number of downgrades."""
    now = now or utcnow()
    prog = program()
    all_tiers = tiers()
    if not all_tiers:
        return 0
    by_id = {t.id: t for t in all_tiers}
    since = now - dt.timedelta(days=max(prog.window_days, 1))
    sums = {mid: (int(s), int(e)) for mid, s, e in
            LoyaltyEntry.select(LoyaltyEntry.member, fn.SUM(LoyaltyEntry.spend_fen),
                                fn.SUM(LoyaltyEntry.earned))
            .where((LoyaltyEntry.qualify_at > since) & (LoyaltyEntry.qualify_at <= now))
            .group_by(LoyaltyEntry.member).tuples()}
    lowest = all_tiers[0].rank
    candidates = (LoyaltyMember.select(LoyaltyMember.id, LoyaltyMember.tier,
                                       LoyaltyMember.grace_until)
                  .join(LoyaltyTier).where((LoyaltyTier.rank > lowest)
                                           | LoyaltyMember.grace_until.is_null(False)).tuples())
    downgrades = 0
    for member_id, tier_id, grace_until in candidates:
        spend, earned = sums.get(member_id, (0, 0))
        target = qualified_tier(all_tiers, spend, earned)
        current = by_id.get(tier_id, all_tiers[0])
        if target.rank >= current.rank and grace_until is None:
            continue
        if target.rank < current.rank and prog.downgrade_policy == "never":
            continue
        with write_transaction():
            member = lock_member(member_id)
            downgrades += _downgrade(member, now, prog, all_tiers)
    return downgrades


def _downgrade(member, now, prog, all_tiers) -> int:
    spend, earned = qualifying(member.id, now, prog.window_days)
    target = qualified_tier(all_tiers, spend, earned)
    by_id = {t.id: t for t in all_tiers}
    current = by_id.get(member.tier_id, all_tiers[0])
    if target.rank >= current.rank:
        if member.grace_until is not None:
            LoyaltyMember.update(grace_until=None).where(LoyaltyMember.id == member.id).execute()
        return 0
    if prog.downgrade_policy == "never":
        return 0
    grace = dt.timedelta(days=max(prog.grace_days, 0))
    if member.grace_until is None and grace:
        LoyaltyMember.update(grace_until=now + grace).where(
            LoyaltyMember.id == member.id).execute()
        return 0
    if member.grace_until is not None and now < member.grace_until:
        return 0
    if prog.downgrade_policy == "step":
        below = [t for t in all_tiers if t.rank < current.rank]
        new = max(below[-1], target, key=lambda t: t.rank) if below else target
    else:
        new = target
    still_above = new.rank > target.rank
    LoyaltyMember.update(tier=new.id, tier_since=now,
                         grace_until=(now + grace) if still_above and grace else None).where(
        LoyaltyMember.id == member.id).execute()
    LoyaltyTierChange.create(member=member.id, from_tier=current.id, to_tier=new.id,
                             kind="downgrade", reason=_reason(current, spend, earned,
                                                              prog.window_days), at=now)
    return 1


# -- the nightly job ------------------------------------------------------------------------------

def _birthdays(now) -> int:
    """Birthday points on the member's birthday (28 February for 29 February outside leap
    years), once a year (key ``birthday:<member>:<year>``)."""
    earning = rule("birthday")
    if earning is None or not earning.active or earning.points <= 0:
        return 0
    today = local_date(now)
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    count = 0
    for member_id, birthday in (LoyaltyMember.select(LoyaltyMember.id, LoyaltyMember.birthday)
                                .where(LoyaltyMember.birthday.is_null(False)).tuples()):
        month, day = birthday.month, birthday.day
        if month == 2 and day == 29 and not leap:
            day = 28
        if (month, day) != (today.month, today.day):
            continue
        result = award(member_id, "birthday", str(today.year), now=now)
        count += 0 if result.replay else 1
    return count


def reconcile() -> list[str]:
    """Compare every member's cached balances with the ledger and the lots, every lot with its
    allocations, every debit with what it allocated.  Returns the differences (none, when the
    books are right).  Read in one snapshot (REPEATABLE READ on PostgreSQL)."""
    problems: list[str] = []
    top_level = database.transaction_depth() == 0
    with database.atomic():
        if is_postgres() and top_level:
            database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        ledger = {mid: (int(p), int(q), int(o)) for mid, p, q, o in
                  LoyaltyEntry.select(LoyaltyEntry.member, fn.SUM(LoyaltyEntry.points),
                                      fn.SUM(LoyaltyEntry.pending), fn.SUM(LoyaltyEntry.owed))
                  .group_by(LoyaltyEntry.member).tuples()}
        lots: dict = {}
        for mid, released, remaining in (LoyaltyLot.select(LoyaltyLot.member, LoyaltyLot.released,
                                                           fn.SUM(LoyaltyLot.remaining))
                                         .group_by(LoyaltyLot.member, LoyaltyLot.released)
                                         .tuples()):
            available, pending = lots.get(mid, (0, 0))
            lots[mid] = (available + int(remaining), pending) if released else \
                (available, pending + int(remaining))
        for mid, balance, pending, owed in (LoyaltyMember.select(
                LoyaltyMember.id, LoyaltyMember.balance, LoyaltyMember.pending,
                LoyaltyMember.owed).tuples()):
            sums = ledger.get(mid, (0, 0, 0))
            if (balance, pending, owed) != sums:
                problems.append(f"member {mid}: cached balance/pending/owed "
                                f"{(balance, pending, owed)} != ledger {sums}")
            if (balance, pending) != lots.get(mid, (0, 0)):
                problems.append(f"member {mid}: cached balance/pending {(balance, pending)} != "
                                f"lots {lots.get(mid, (0, 0))}")
        allocated = fn.COALESCE(fn.SUM(LoyaltyAllocation.points), 0)
        for lot_id, points, remaining, used in (
                LoyaltyLot.select(LoyaltyLot.id, LoyaltyLot.points, LoyaltyLot.remaining,
                                  allocated)
                .join(LoyaltyAllocation, JOIN.LEFT_OUTER)
                .group_by(LoyaltyLot.id, LoyaltyLot.points, LoyaltyLot.remaining)
                .having(LoyaltyLot.points - LoyaltyLot.remaining != allocated).tuples()):
            problems.append(f"lot {lot_id}: {points} points, {remaining} left, but {used} "
                            f"allocated")
        for entry_id, points, pending, used in (
                LoyaltyEntry.select(LoyaltyEntry.id, LoyaltyEntry.points, LoyaltyEntry.pending,
                                    allocated)
                .join(LoyaltyAllocation, JOIN.LEFT_OUTER)
                .group_by(LoyaltyEntry.id, LoyaltyEntry.points, LoyaltyEntry.pending)
                .having(allocated != Case(None, [(
                    (LoyaltyEntry.points + LoyaltyEntry.pending) < 0,
                    0 - (LoyaltyEntry.points + LoyaltyEntry.pending))], 0))
                .tuples()):
            problems.append(f"entry {entry_id}: moves {points}/{pending} but allocated {used}")
    return problems


def nightly(now: dt.datetime | None = None) -> LoyaltyReconciliation:
    """Release matured pending points, expire lots, give birthday points, review tiers, then
    reconcile every balance with its ledger and record the run (differences are logged as
    errors and shown on the loyalty admin page)."""
    now = now or utcnow()
    run = LoyaltyReconciliation.create(started_at=utcnow())
    due = (LoyaltyLot.select(LoyaltyLot.member).distinct()
           .where(((LoyaltyLot.released == False) & (LoyaltyLot.available_at <= now))  # noqa
                  | ((LoyaltyLot.remaining > 0) & LoyaltyLot.expires_at.is_null(False)
                     & (LoyaltyLot.expires_at <= now))).tuples())
    released = expired = 0
    for (member_id,) in list(due):
        r, e = settle(member_id, now)
        released, expired = released + r, expired + e
    birthdays = _birthdays(now)
    downgraded = review_tiers(now)
    problems = reconcile()
    if problems:
        log.error("loyalty reconciliation: %d difference(s):\n%s", len(problems),
                  "\n".join(problems[:50]))
    LoyaltyReconciliation.update(
        finished_at=utcnow(), members=LoyaltyMember.select().count(), released=released,
        expired=expired, birthdays=birthdays, downgraded=downgraded,
        differences=len(problems), report="\n".join(problems)[:4000]).where(
        LoyaltyReconciliation.id == run.id).execute()
    return LoyaltyReconciliation.get_by_id(run.id)


# -- counter purchases ----------------------------------------------------------------------------

def record_counter_purchase(customer, member_id: int, user, lines, note: str,
                            client_key: str) -> tuple[int, bool]:
    """Record a purchase through the core (lines priced from the catalogue, its activity and
    its ``purchase.recorded`` event) once per form key: (purchase id, replay).  The points come
    after commit, from ``earn_for_purchase``, never in the purchase's transaction."""
    from crm.purchases import services as purchases
    key = f"purchase-form:{member_id}:{check_key(client_key)}"
    previous = LoyaltyCounterPurchase.get_or_none(LoyaltyCounterPurchase.key == key)
    if previous is not None:
        return previous.purchase_id, True
    try:
        with write_transaction():
            purchase = purchases.record_purchase(customer, user, lines, note)
            LoyaltyCounterPurchase.create(key=key, member=member_id, purchase_id=purchase.id)
    except IntegrityError:
        previous = LoyaltyCounterPurchase.get_or_none(LoyaltyCounterPurchase.key == key)
        if previous is None:
            raise
        return previous.purchase_id, True
    return purchase.id, False

