"""Numbers like C2026110001: a prefix, the year and month, and a sequence that restarts each
month.  Assigned once, never edited, unique under concurrency (the counter row is updated in
the caller's write transaction; the unique index on the number is the last line of defence)."""
from __future__ import annotations

import datetime as dt

from peewee import IntegrityError

from crm.customers.models import Sequence
from crm.db import database


def next_value(name: str, period: str) -> int:
    with database.atomic():
        updated = (Sequence.update(value=Sequence.value + 1)
                   .where((Sequence.name == name) & (Sequence.period == period)).execute())
        if not updated:
            try:
                with database.atomic():
                    Sequence.insert(name=name, period=period, value=1).execute()
                return 1
            except IntegrityError:   # somebody created the month's row first
                (Sequence.update(value=Sequence.value + 1)
                 .where((Sequence.name == name) & (Sequence.period == period)).execute())
        return (Sequence.select(Sequence.value)
                .where((Sequence.name == name) & (Sequence.period == period)).scalar())


def next_number(name: str, pattern: str, when: dt.datetime | None = None) -> str:
    """``pattern`` is a format string with ``year``, ``month`` and ``seq``."""
    when = when or dt.datetime.now()
    seq = next_value(name, f"{when.year:04d}{when.month:02d}")
    return pattern.format(year=when.year, month=when.month, seq=seq)
