"""The needs register's domain logic (no Flask): registering and editing needs, the priority
score, status changes, the monthly review, the cross-customer analysis and the XLSX sheet.

Writes run in one transaction with their history row; edits are
``UPDATE ... WHERE version = expected`` (a stale form gets ``Conflict``).
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from peewee import JOIN, fn

from crm import access
from crm.accounts.models import User
from crm.customers.models import Contact, Customer
from crm.db import database, is_postgres, utcnow

from .models import STATUSES, TYPES, UNRESOLVED, Need, NeedEvent

VALUE_FROM_CLASS = {"A": 5, "B": 4, "C": 3, "D": 2}
NEXT = {"to_confirm": ("analysing", "closed"), "analysing": ("resolved", "closed"),
        "resolved": ("closed", "analysing"), "closed": ("analysing",)}
NEED_FIELDS = ("contact", "kind", "type", "title", "statement", "situation", "evidence",
               "urgency", "importance", "customer_value")


class Conflict(Exception):
    def __init__(self, need):
        super().__init__("stale need")
        self.need = need


def write_transaction():
    """SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a plain transaction.  Nested: a savepoint."""
    return database.atomic() if is_postgres() else database.atomic("IMMEDIATE")


def score(urgency: int, importance: int, customer_value: int) -> int:
    return int(urgency) + int(importance) + int(customer_value)


def priority(total: int) -> str:
    """>= 12 high, 8-11 medium, < 8 low."""
    return "high" if total >= 12 else "medium" if total >= 8 else "low"


def default_customer_value(customer) -> int:
    return VALUE_FROM_CLASS.get(getattr(customer, "value_class", ""), 3)


def first_of_next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _values(data: dict) -> dict:
    values = {k: data.get(k) for k in NEED_FIELDS if k in data}
    if "contact" in values:
        values["contact"] = getattr(values["contact"], "id", values["contact"]) or None
    for key in ("statement", "situation", "evidence"):
        if key in values:
            values[key] = (values[key] or "").strip()
    values["score"] = score(data["urgency"], data["importance"], data["customer_value"])
    return values


def create_need(customer, user, data: dict, today: dt.date, now=None) -> Need:
    """An explicit need (the customer said it) starts in analysis; an implicit one (inferred)
    waits to be confirmed.  Unresolved needs come back for review on the 1st of next month."""
    now = now or utcnow()
    with write_transaction():
        values = _values(data)
        status = "analysing" if values.get("kind") == "explicit" else "to_confirm"
        need = Need.create(customer=customer.id, created_by=user.id, created_at=now,
                           updated_at=now, status=status,
                           next_review_on=first_of_next_month(today), **values)
        NeedEvent.create(need=need.id, user=user.id, kind="created", to_status=status, at=now)
    return need


def update_need(need_id: int, version: int, user, data: dict, now=None) -> Need:
    now = now or utcnow()
    with write_transaction():
        values = _values(data)
        updated = (Need.update(updated_at=now, version=Need.version + 1, **values)
                   .where((Need.id == need_id) & (Need.version == version)).execute())
        if not updated:
            raise Conflict(Need.get_by_id(need_id))
        NeedEvent.create(need=need_id, user=user.id, kind="edited", at=now)
        return Need.get_by_id(need_id)


def change_status(need_id: int, version: int, user, to_status: str, note: str, today: dt.date,
                  now=None) -> Need:
    """Move along to confirm → analysing → resolved → closed (or back to analysing)."""
    now = now or utcnow()
    with write_transaction():
        need = Need.get_by_id(need_id)
        if need.version != version or to_status not in NEXT.get(need.status, ()):
            raise Conflict(need)
        values = {"status": to_status, "updated_at": now, "version": Need.version + 1}
        if to_status == "resolved":
            values["resolution"] = note.strip()
        values["next_review_on"] = (first_of_next_month(today) if to_status in UNRESOLVED
                                    else None)
        updated = (Need.update(**values)
                   .where((Need.id == need_id) & (Need.version == version)).execute())
        if not updated:
            raise Conflict(Need.get_by_id(need_id))
        NeedEvent.create(need=need_id, user=user.id, kind="status", from_status=need.status,
                         to_status=to_status, note=note.strip(), at=now)
        return Need.get_by_id(need_id)


def review(need_id: int, version: int, user, note: str, today: dt.date, now=None) -> Need:
    """The monthly review of an unresolved need: noted, and due again next month."""
    now = now or utcnow()
    with write_transaction():
        need = Need.get_by_id(need_id)
        if need.version != version or need.status not in UNRESOLVED:
            raise Conflict(need)
        (Need.update(reviewed_at=now, next_review_on=first_of_next_month(today),
                     updated_at=now, version=Need.version + 1)
         .where((Need.id == need_id) & (Need.version == version)).execute())
        NeedEvent.create(need=need_id, user=user.id, kind="reviewed", note=note.strip(), at=now)
        return Need.get_by_id(need_id)


def history(need: Need) -> list[NeedEvent]:
    return list(NeedEvent.select(NeedEvent, User).join(User, JOIN.LEFT_OUTER)
                .where(NeedEvent.need == need.id).order_by(NeedEvent.at, NeedEvent.id))


# -- reads ------------------------------------------------------------------------------------

def scoped_needs(user):
    return Need.select().where(Need.customer.in_(access.scoped_customers(user, Customer.id)))


def need_for(user, need_id: int) -> Need | None:
    return scoped_needs(user).where(Need.id == need_id).first()


def _priority_condition(level: str):
    if level == "high":
        return Need.score >= 12
    if level == "medium":
        return (Need.score >= 8) & (Need.score < 12)
    return Need.score < 8


@dataclass
class Filters:
    status: str = ""          # a status or "unresolved"
    type: str = ""
    kind: str = ""
    priority: str = ""        # high, medium, low
    review: bool = False      # due for the monthly review
    customer: int | None = None
    q: str = ""
    page: int = 1

    def args(self, **changes) -> dict:
        values = {"status": self.status, "type": self.type, "kind": self.kind,
                  "priority": self.priority, "review": "1" if self.review else "",
                  "customer": self.customer, "q": self.q, "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items()
                if v not in ("", None, False) and not (k == "page" and v == 1)}

    @property
    def active(self) -> bool:
        return bool(self.status or self.type or self.kind or self.priority or self.review
                    or self.customer)


def filtered(user, filters: Filters, today: dt.date):
    query = scoped_needs(user)
    if filters.status == "unresolved":
        query = query.where(Need.status.in_(UNRESOLVED))
    elif filters.status:
        query = query.where(Need.status == filters.status)
    if filters.type:
        query = query.where(Need.type == filters.type)
    if filters.kind:
        query = query.where(Need.kind == filters.kind)
    if filters.priority:
        query = query.where(_priority_condition(filters.priority))
    if filters.review:
        query = query.where(Need.status.in_(UNRESOLVED) & (Need.next_review_on <= today))
    if filters.customer:
        query = query.where(Need.customer == filters.customer)
    if filters.q:
        query = query.where(Need.title.contains(filters.q) | Need.statement.contains(filters.q))
    return query


def _with_customer(query):
    return (query.select_extend(Customer.id, Customer.name, Customer.number)
            .join(Customer, on=(Need.customer == Customer.id)))


def search(user, filters: Filters, page_size: int, today: dt.date) -> dict:
    query = filtered(user, filters, today)
    total = query.count()
    pages = max(1, -(-total // page_size))
    page = min(max(1, filters.page), pages)
    rows = list(_with_customer(query).order_by(Need.score.desc(), Need.created_at.desc(),
                                               Need.id.desc()).paginate(page, page_size))
    return {"rows": rows, "total": total, "page": page, "pages": pages}


def customer_needs(customer) -> list[Need]:
    return list(Need.select().where(Need.customer == customer.id)
                .order_by(Need.status.in_(UNRESOLVED).desc(), Need.score.desc(), Need.id.desc())
                .limit(20))


def review_due(user, today: dt.date) -> int:
    return filtered(user, Filters(review=True), today).count()


def analysis(user, filters: Filters, today: dt.date) -> dict:
    """Counts by type × priority, and the most common needs (same title, case-folded)."""
    query = filtered(user, filters, today)
    grid = {t: {"high": 0, "medium": 0, "low": 0} for t in TYPES}
    common: dict = {}
    for ticket_type, total, title, customer_id in query.select(
            Need.type, Need.score, Need.title, Need.customer).tuples():
        if ticket_type in grid:
            grid[ticket_type][priority(total)] += 1
        key = " ".join(title.split()).casefold()
        entry = common.setdefault(key, {"title": " ".join(title.split()), "count": 0,
                                        "customers": set(), "types": {}, "score": 0})
        entry["count"] += 1
        entry["customers"].add(customer_id)
        entry["types"][ticket_type] = entry["types"].get(ticket_type, 0) + 1
        entry["score"] += total
    top = sorted(common.values(), key=lambda e: (-len(e["customers"]), -e["count"], e["title"]))
    for entry in top:
        entry["customers"] = len(entry["customers"])
        entry["type"] = max(entry["types"], key=entry["types"].get)
        entry["average"] = round(entry["score"] / entry["count"], 1)
    return {"grid": grid, "common": top[:30], "total": sum(e["count"] for e in top)}


# -- the XLSX sheet ---------------------------------------------------------------------------

def _text(cell, value) -> None:
    """A text cell that stays text: a value starting with = + - @ is never a formula."""
    cell.value = "" if value is None else str(value)
    cell.data_type = "s"


def export_xlsx(user, filters: Filters, today: dt.date, labels: dict, headers: dict,
                title: str) -> bytes:
    """The "customer needs analysis" workbook: one row per need, then the summary by type and
    priority.  ``labels`` translate codes; ``headers`` name the columns (in the user's language)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    query = (_with_customer(filtered(user, filters, today))
             .switch(Need).join(Contact, JOIN.LEFT_OUTER, on=(Need.contact == Contact.id),
                                attr="contact_row")
             .select_extend(Contact.name)
             .order_by(Need.score.desc(), Need.created_at.desc(), Need.id.desc()))
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    columns = ["number", "customer", "contact", "type", "kind", "title", "statement",
               "situation", "evidence", "urgency", "importance", "customer_value", "score",
               "priority", "status", "created", "next_review"]
    sheet.append([str(headers[c]) for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    row_number = 1
    for need in query:
        row_number += 1
        contact = need.contact_row.name if getattr(need, "contact_row", None) else ""
        values = {
            "number": need.customer.number, "customer": need.customer.name, "contact": contact,
            "type": labels["type"].get(need.type, need.type),
            "kind": labels["kind"].get(need.kind, need.kind), "title": need.title,
            "statement": need.statement, "situation": need.situation, "evidence": need.evidence,
            "priority": labels["priority"].get(priority(need.score)),
            "status": labels["status"].get(need.status, need.status),
        }
        for index, column in enumerate(columns, start=1):
            cell = sheet.cell(row=row_number, column=index)
            if column in ("urgency", "importance", "customer_value", "score"):
                cell.value = getattr(need, column)
            elif column == "created":
                cell.value = need.created_at.date()
                cell.number_format = "yyyy-mm-dd"
            elif column == "next_review":
                cell.value = need.next_review_on
                cell.number_format = "yyyy-mm-dd"
            else:
                _text(cell, values[column])
    for letter, width in zip("ABCDEFGHIJKLMNOPQ", (14, 28, 10, 8, 8, 24, 40, 30, 30, 6, 6, 6, 6,
                                                   8, 8, 12, 12)):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    summary = book.create_sheet(str(headers["summary"])[:31])
    data = analysis(user, filters, today)
    summary.append([str(headers["type"]), str(labels["priority"]["high"]),
                    str(labels["priority"]["medium"]), str(labels["priority"]["low"]),
                    str(headers["total"])])
    for ticket_type, cells in data["grid"].items():
        summary.append([str(labels["type"].get(ticket_type, ticket_type)), cells["high"],
                        cells["medium"], cells["low"], sum(cells.values())])
    summary.append([])
    summary.append([str(headers["title"]), str(headers["needs"]), str(headers["customers"])])
    for entry in data["common"]:
        row = summary.max_row + 1
        _text(summary.cell(row=row, column=1), entry["title"])
        summary.cell(row=row, column=2, value=entry["count"])
        summary.cell(row=row, column=3, value=entry["customers"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def status_counts(user) -> dict:
    return dict(scoped_needs(user).select(Need.status, fn.COUNT(Need.id))
                .group_by(Need.status).tuples())


ALL_STATUSES = STATUSES
