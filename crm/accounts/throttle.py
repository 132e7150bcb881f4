"""Sign-in throttling, per account and per address, from a table of recent failed sign-ins.

Every failed sign-in is a row ``(at, username, ip)`` in ``login_failure``.  Before checking a
password, the sign-in counts the failures of the last ``LOGIN_THROTTLE_MINUTES`` for the
username typed (known or not: unknown names are throttled alike, so the answer tells nothing
about which accounts exist) and for the client's address.  At ``LOGIN_MAX_FAILURES_PER_ACCOUNT``
or ``LOGIN_MAX_FAILURES_PER_ADDRESS`` the attempt is refused without looking at the password,
until the oldest failure that counts has left the window (a sliding window, so the wait is
exact and short).  A successful sign-in clears its account's failures (not its address's: one
valid account must not reset an address that is guessing at others).

Why a table rather than flask-limiter: the table lives in the database every gunicorn worker
already shares (SQLite file or PostgreSQL), so the count is the same whichever worker answers,
survives restarts, and needs no Redis; flask-limiter's in-memory storage would give each worker
its own count.  It counts failures only (flask-limiter counts requests), so people who type
their password right are never slowed down.  The cost is one small insert per failure (the
audit row costs the same) and one indexed look-up per attempt.  See docs/security.md.
"""
from __future__ import annotations

import datetime as dt
import math

from flask import current_app

from crm.accounts.models import LoginFailure
from crm.db import utcnow


def _key(username: str) -> str:
    return (username or "").strip().casefold()[:64]


def _settings():
    config = current_app.config
    return (dt.timedelta(minutes=config["LOGIN_THROTTLE_MINUTES"]),
            config["LOGIN_MAX_FAILURES_PER_ACCOUNT"], config["LOGIN_MAX_FAILURES_PER_ADDRESS"])


def _blocked_until(condition, limit: int, since: dt.datetime, window: dt.timedelta):
    """When the ``limit``-th newest failure matching ``condition`` leaves the window, or None
    when there are fewer than ``limit`` failures in it."""
    if limit <= 0:
        return None
    row = (LoginFailure.select(LoginFailure.at)
           .where(condition & (LoginFailure.at > since))
           .order_by(LoginFailure.at.desc()).offset(limit - 1).limit(1).first())
    return row.at + window if row is not None else None


def retry_after(username: str, ip: str, now: dt.datetime | None = None) -> int:
    """Seconds until this username from this address may try again (0: now)."""
    now = now or utcnow()
    window, per_account, per_address = _settings()
    since = now - window
    until = [_blocked_until(LoginFailure.username == _key(username), per_account, since, window),
             _blocked_until(LoginFailure.ip == (ip or "")[:64], per_address, since, window)]
    latest = max((u for u in until if u is not None), default=None)
    if latest is None or latest <= now:
        return 0
    return math.ceil((latest - now).total_seconds())


def record_failure(username: str, ip: str) -> None:
    window, _a, _b = _settings()
    now = utcnow()
    # forget what no longer counts (the `at` index makes this cheap), then remember this one
    LoginFailure.delete().where(LoginFailure.at <= now - window).execute()
    LoginFailure.create(at=now, username=_key(username), ip=(ip or "")[:64])


def clear_account(username: str) -> None:
    LoginFailure.delete().where(LoginFailure.username == _key(username)).execute()
