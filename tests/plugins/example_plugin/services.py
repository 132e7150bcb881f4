"""The example plugin's domain logic (no Flask here)."""
from __future__ import annotations

import datetime as dt

from crm.customers.models import Customer
from crm.db import utcnow

from .models import ExampleEventLog, ExampleNote

DENIED_NAMES = ("evil corp",)          # crm_validate_customer refuses these names
DENIED_REGIONS = ("atlantis",)         # ... and these regions (a form-level error)


def note_text(customer) -> str:
    if customer is None:
        return ""
    note = ExampleNote.get_or_none(ExampleNote.customer == customer.id)
    return note.text if note else ""


def save_note(customer, text) -> None:
    """Create, change or (empty text) delete the customer's note.  Runs in the caller's
    transaction: the customer form calls it inside the customer's own save."""
    text = (text or "").strip()
    if not text:
        ExampleNote.delete().where(ExampleNote.customer == customer.id).execute()
        return
    (ExampleNote.insert(customer=customer.id, text=text, updated_at=utcnow())
     .on_conflict(conflict_target=[ExampleNote.customer],
                  update={ExampleNote.text: text, ExampleNote.updated_at: utcnow()})
     .execute())


def pinned_where(value: str):
    """The list filter ``x_example_pinned``: customers whose note is pinned ("1") or not."""
    if value not in ("0", "1"):
        raise ValueError("Choose pinned or not pinned.")
    pinned = ExampleNote.select(ExampleNote.customer).where(ExampleNote.pinned == True)  # noqa: E712
    return Customer.id.in_(pinned) if value == "1" else Customer.id.not_in(pinned)


def notes_for(customers) -> dict:
    """{customer id: note text} for a page of customers: one query whatever the page size."""
    ids = [c.id for c in customers]
    if not ids:
        return {}
    return dict(ExampleNote.select(ExampleNote.customer, ExampleNote.text)
                .where(ExampleNote.customer.in_(ids)).tuples())


def toggle_pin(customer) -> bool:
    note = ExampleNote.get_or_none(ExampleNote.customer == customer.id)
    if note is None:
        return False
    ExampleNote.update(pinned=~ExampleNote.pinned).where(ExampleNote.id == note.id).execute()
    return not note.pinned


def latest_notes(scope, pinned_only: bool = False, limit: int = 20) -> list:
    """(customer, note) pairs among the customers of ``scope`` (crm.access.scoped_customers)."""
    query = (ExampleNote.select(ExampleNote, Customer).join(Customer)
             .where(ExampleNote.customer.in_(scope.select(Customer.id))))
    if pinned_only:
        query = query.where(ExampleNote.pinned == True)  # noqa: E712
    return list(query.order_by(ExampleNote.updated_at.desc(), ExampleNote.id.desc()).limit(limit))


def record_event(event) -> None:
    """Log a domain event once per uid: delivered twice, it is still one row (idempotent)."""
    (ExampleEventLog.insert(uid=event.uid, name=event.name,
                            customer_id=event.payload.get("customer_id"))
     .on_conflict_ignore().execute())


def purge_event_log(days: int = 90) -> int:
    cutoff = utcnow() - dt.timedelta(days=days)
    return ExampleEventLog.delete().where(ExampleEventLog.handled_at < cutoff).execute()


def stats() -> tuple[int, int]:
    return ExampleNote.select().count(), ExampleEventLog.select().count()
