"""Figures of settled periods kept in the database (``insights_figure``).

A KPI over a period that time can no longer change (``kpis.settled``) is computed once and kept
``INSIGHTS_CLOSED_CACHE_SECONDS`` (six hours by default) under the same key as the in-process
cache (the KPI, the user, the period, the breakdown, the segment rules), hashed.  Every server
process, and the next start, then find it, and the nightly job computes the last two months for
each administrator and manager ahead of their first visit (``warm``).  Late edits of past data
(a backdated purchase, a refund, a reassignment) show when the row expires; a change of the
marketing spend drops the acquisition cost's rows at once (``forget``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

from crm.db import utcnow

from . import kpis
from .models import Figure


def key_of(cache_key: tuple) -> str:
    return hashlib.sha256(repr(cache_key).encode()).hexdigest()


def _number(value):
    return None if value is None else float(value)


def load(cache_key: tuple, kpi) -> kpis.Result | None:
    row = Figure.get_or_none((Figure.key == key_of(cache_key)) & (Figure.expires_at > utcnow()))
    if row is None:
        return None
    data = json.loads(row.value)
    return kpis.Result(kpi, data["value"], data["num"], data["den"],
                       {group: (v, n, d) for group, v, n, d in data["groups"]}, data["by"])


def known(cache_key: tuple) -> bool:
    return Figure.select().where((Figure.key == key_of(cache_key))
                                 & (Figure.expires_at > utcnow())).exists()


def store(cache_key: tuple, result: kpis.Result, seconds: int) -> None:
    value = json.dumps({"value": _number(result.value), "num": _number(result.num),
                        "den": _number(result.den), "by": result.by,
                        "groups": [[group, _number(v), _number(n), _number(d)]
                                   for group, (v, n, d) in result.groups.items()]})
    expires = utcnow() + dt.timedelta(seconds=seconds)
    (Figure.insert(key=key_of(cache_key), kpi=result.kpi.key, value=value, expires_at=expires)
     .on_conflict(conflict_target=[Figure.key],
                  update={Figure.value: value, Figure.expires_at: expires})
     .execute())


def forget(kpi_key: str) -> None:
    Figure.delete().where(Figure.kpi == kpi_key).execute()


def purge_expired() -> int:
    return Figure.delete().where(Figure.expires_at <= utcnow()).execute()
