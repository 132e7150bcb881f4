"""Domain events through the outbox.

``emit()`` writes the event in the caller's transaction.  After commit, ``dispatch_pending()``
(run by the job worker; in tests inline) delivers it to every plugin's ``crm_handle_event``.
Each plugin's handler runs in its own transaction together with the row that records its
delivery, so a handler's writes and "delivered" commit or roll back together: a failing
handler is retried later, for that plugin only, and never rolls back the original change.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

from flask import g, has_app_context
from peewee import IntegrityError

from crm.contrib import Event
from crm.db import database, utcnow
from crm.events.models import EventDelivery, OutboxEvent


class _DeliveredElsewhere(Exception):
    """The delivery row exists already: a concurrent dispatcher handled this event first.

    Only the delivery row's own unique constraint means that; an ``IntegrityError`` raised by a
    handler's own writes is a failure of that handler like any other.
    """


def emit(name: str, **payload) -> OutboxEvent:
    """Record a domain event inside the current transaction."""
    event = OutboxEvent.create(uid=str(uuid.uuid4()), name=name,
                               payload=json.dumps(payload, default=str, ensure_ascii=False))
    if has_app_context():
        g.outbox_dirty = True
    return event


def backoff(attempts: int) -> dt.timedelta:
    """1 min, 2, 4, 8 ... capped at 6 hours."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def deliver(host, event: OutboxEvent, max_attempts: int) -> bool:
    """Deliver one event to every plugin that has not handled it yet; True when all have."""
    done = {d.plugin for d in EventDelivery.select(EventDelivery.plugin)
            .where(EventDelivery.event == event.id)}
    payload = Event(uid=event.uid, name=event.name, payload=json.loads(event.payload or "{}"),
                    created_at=event.created_at)
    errors = []
    for impl in host._impls("crm_handle_event"):
        if impl.plugin_name in done:
            continue
        try:
            with database.atomic():
                impl.function(payload)
                try:
                    with database.atomic():
                        EventDelivery.create(event=event.id, plugin=impl.plugin_name)
                except IntegrityError:
                    raise _DeliveredElsewhere() from None
        except _DeliveredElsewhere:
            continue   # a concurrent dispatcher won: its writes stand, ours rolled back
        except Exception as exc:  # noqa: BLE001 - isolation: other plugins still get the event
            host.record_failure(impl.plugin_name, "crm_handle_event", exc)
            errors.append(f"{impl.plugin_name}: {type(exc).__name__}: {exc}")
    if not errors:
        OutboxEvent.update(status="done", last_error="").where(OutboxEvent.id == event.id).execute()
        return True
    attempts = event.attempts + 1
    OutboxEvent.update(
        attempts=attempts,
        status="dead" if attempts >= max_attempts else "pending",
        next_attempt_at=utcnow() + backoff(attempts),
        last_error="\n".join(errors)[:2000],
    ).where(OutboxEvent.id == event.id).execute()
    return False


def dispatch_pending(host, max_attempts: int = 8, limit: int = 500, now=None) -> int:
    """Deliver due events, oldest first.  Returns how many were fully delivered."""
    now = now or utcnow()
    events = list(OutboxEvent.select()
                  .where((OutboxEvent.status == "pending") & (OutboxEvent.next_attempt_at <= now))
                  .order_by(OutboxEvent.id).limit(limit))
    return sum(1 for event in events if deliver(host, event, max_attempts))


def retry_dead(event_ids=None) -> int:
    """Put dead events back in the queue (an admin action after fixing a plugin)."""
    query = OutboxEvent.update(status="pending", attempts=0, next_attempt_at=utcnow()).where(
        OutboxEvent.status == "dead")
    if event_ids:
        query = query.where(OutboxEvent.id.in_(event_ids))
    return query.execute()
