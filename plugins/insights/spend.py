"""Marketing spend per acquisition channel and month (no Flask): the numerator of the customer
acquisition cost (``kpis._cac``).  A channel is a value of ``customer.source``; a month is
stored as its first day; an amount in fen.  One entry per channel and month (a unique index);
every change is audited and guarded by a version column (a stale edit is a conflict, never a
silent overwrite)."""
from __future__ import annotations

import datetime as dt
import re

from peewee import JOIN, IntegrityError

from crm.accounts.models import User
from crm.audit import services as audit
from crm.db import database, utcnow

from .models import MarketingSpend

ENTITY = "insights_spend"
FIELDS = ("channel", "month", "amount_fen", "note")


class Conflict(Exception):
    """The entry changed (or went) since the form was shown."""


class Duplicate(Exception):
    """There is already an entry for this channel and month."""


def channels() -> dict:
    """{channel: label}: the customer's acquisition sources (``customer.source``)."""
    from crm.customers.forms import SOURCE_LABELS
    return {k: v for k, v in SOURCE_LABELS.items() if k}


MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\s*$")


def parse_month(text: str) -> dt.date | None:
    """"2026-05" (what ``<input type=month>`` sends) or "2026-05-01": the month's first day;
    None when it is not a month (or not between 2000 and 2100)."""
    match = MONTH.match(text or "")
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    if match.group(3):
        try:
            dt.date(year, month, int(match.group(3)))
        except ValueError:
            return None
    return dt.date(year, month, 1)


def entries(page: int = 1, size: int = 50):
    """A page of the entries, newest month first, with who entered them; and their count."""
    query = (MarketingSpend.select(MarketingSpend, User.display_name, User.username)
             .join(User, JOIN.LEFT_OUTER, on=(User.id == MarketingSpend.entered_by))
             .order_by(MarketingSpend.month.desc(), MarketingSpend.channel))
    total = MarketingSpend.select().count()
    return list(query.paginate(page, size).objects()), total


def get(entry_id: int) -> MarketingSpend | None:
    return MarketingSpend.get_or_none(MarketingSpend.id == entry_id)


def _clash(channel: str, month: dt.date, other_than: int | None = None) -> bool:
    query = MarketingSpend.select().where((MarketingSpend.channel == channel)
                                          & (MarketingSpend.month == month))
    if other_than is not None:
        query = query.where(MarketingSpend.id != other_than)
    return query.exists()


def create(channel: str, month: dt.date, amount_fen: int, note: str, user) -> MarketingSpend:
    values = {"channel": channel, "month": month, "amount_fen": int(amount_fen),
              "note": note or ""}
    try:
        with database.atomic():
            if _clash(channel, month):
                raise Duplicate()
            entry = MarketingSpend.create(entered_by=getattr(user, "id", None),
                                          entered_at=utcnow(), **values)
            audit.record("create", user, ENTITY, entry.id,
                         [(k, "", v) for k, v in values.items()])
    except IntegrityError as exc:       # the unique index, under a concurrent entry
        raise Duplicate() from exc
    return entry


def update(entry_id: int, expected_version: int, channel: str, month: dt.date,
           amount_fen: int, note: str, user) -> MarketingSpend:
    values = {"channel": channel, "month": month, "amount_fen": int(amount_fen),
              "note": note or ""}
    try:
        with database.atomic():
            current = get(entry_id)
            if current is None or current.version != expected_version:
                raise Conflict()
            if _clash(channel, month, other_than=entry_id):
                raise Duplicate()
            changes = [(k, getattr(current, k), v) for k, v in values.items()
                       if getattr(current, k) != v]
            updated = (MarketingSpend
                       .update(version=MarketingSpend.version + 1, entered_at=utcnow(),
                               entered_by=getattr(user, "id", None), **values)
                       .where((MarketingSpend.id == entry_id)
                              & (MarketingSpend.version == expected_version))
                       .execute())
            if not updated:
                raise Conflict()
            if changes:
                audit.record("update", user, ENTITY, entry_id, changes)
    except IntegrityError as exc:
        raise Duplicate() from exc
    return get(entry_id)


def delete(entry_id: int, expected_version: int, user) -> None:
    with database.atomic():
        current = get(entry_id)
        if current is None or current.version != expected_version:
            raise Conflict()
        MarketingSpend.delete().where((MarketingSpend.id == entry_id)
                                      & (MarketingSpend.version == expected_version)).execute()
        audit.record("delete", user, ENTITY, entry_id,
                     [(k, getattr(current, k), "") for k in FIELDS])
