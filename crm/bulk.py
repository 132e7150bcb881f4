"""The bulk path: many customers, activities or purchases at once, with everything the
one-by-one services write (numbers, search tokens, tags, contacts, outbox events, audit,
"last contacted"), in a few multi-row statements per batch instead of a dozen per record.

Import uses it, and so does the benchmark's data generator (bench/generate.py).

* ``bulk_create_customers(rows, user, settings)``: what ``customers.services.create_customer``
  does, per batch of rows in one transaction.
* ``bulk_log_activities(rows)``: what ``activities.services.log_activity`` does.
* ``bulk_record_purchases(rows)``: what ``purchases.services.record_purchase`` does.

**Validation is the caller's job.**  These functions trust their input the way the services
trust a validated form: names present and cut to length, phones and e-mails normalised
(``crm.validation``), kinds and value classes from their lists, owners, contacts, users and
products that exist.  Import validates every row (and reports the bad ones) before it calls
here.  The only checks made here are the ones needed to compute something: a purchase without
lines or with a product that is not on sale raises ``PurchaseError`` before anything is
written.

Each batch is one transaction: a batch that fails leaves nothing of itself behind (no
customer, token, event, audit row, and no used-up customer numbers), and the batches before it
stay committed.  The failure is raised as ``BulkError`` carrying the ids committed so far.

Ids are reserved up front (PostgreSQL: ``nextval`` of the table's sequence; SQLite: after the
largest id, inside a write transaction, which SQLite holds alone), so that contacts, tokens,
lines and events can refer to rows of the same statement without reading them back.
On SQLite call these functions outside a transaction (each batch then begins with
``BEGIN IMMEDIATE``) or inside one that holds the write lock.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
import os
import uuid
from types import SimpleNamespace
from typing import Iterable
from zoneinfo import ZoneInfo

from flask import g, has_app_context
from peewee import IntegrityError

from crm.accounts.models import User
from crm.activities.models import CONTACT_KINDS, Activity
from crm.audit import services as audit
from crm.audit.models import AuditLog
from crm.customers import search_index, search_tokens
from crm.customers.models import Contact, Customer, CustomerTag, Sequence, Tag
from crm.customers.services import CONTACT_FIELDS, EDITABLE
from crm.db import database, is_postgres, utcnow
from crm.events.models import OutboxEvent
from crm.purchases.models import Product, Purchase, PurchaseLine
from crm.purchases.services import PurchaseError

# SQLite allows 32,766 bound parameters per statement; psycopg2 interpolates on the client,
# but very long statements gain nothing either.
MAX_PARAMS = 30000


class BulkError(Exception):
    """A batch failed and was rolled back.  ``created`` holds the ids of the rows of the
    batches committed before it (in input order); ``batch`` is the failing batch's index."""

    def __init__(self, batch: int, created: list[int], cause: BaseException):
        super().__init__(f"batch {batch} failed and was rolled back "
                         f"({len(created)} rows committed before it): {cause}")
        self.batch = batch
        self.created = created
        self.cause = cause


# -- helpers ----------------------------------------------------------------------------------

def _id(value):
    return getattr(value, "id", value) or None


def _batches(rows: Iterable, size: int):
    iterator = iter(rows)
    while True:
        batch = list(itertools.islice(iterator, size))
        if not batch:
            return
        yield batch


def write_transaction():
    """One batch's transaction.  On SQLite a top-level one begins IMMEDIATE: it takes the
    write lock first, so that the ids read after the largest one stay ours."""
    if is_postgres() or database.obj.transaction_depth() > 0:
        return database.atomic()
    return database.atomic("IMMEDIATE")



@contextlib.contextmanager
def session():
    """Around a run of bulk batches (this module's calls, an import): on SQLite, checkpoint
    the WAL every 20,000 pages (80 MB) instead of every 1,000: every batch touches index pages
    all over the customer and audit tables (and, before the FTS5 search index, the token
    B-tree: at 100,000 customers 26 s instead of 19 s for the tokens alone), and copying them
    back after each commit cost more than writing them.  Restored, and the WAL checkpointed,
    at the end.  A setting of this connection only."""
    if is_postgres() or database.obj.transaction_depth() > 0:
        yield
        return
    previous = database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0]
    database.execute_sql("PRAGMA wal_autocheckpoint = 20000")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA wal_autocheckpoint = {int(previous)}")
        if database.obj.transaction_depth() == 0:
            database.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")

def insert_rows(model, fields, rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples in the order of ``fields``): multi-row INSERTs chunked under the
    parameter limit on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL (three to four times
    faster than INSERT there: no statement to parse, no parameters to quote).  Values are
    stored as they are: callers pass ints, strings, bools, dates and naive UTC datetimes,
    which both ways store exactly as peewee does."""
    if not rows:
        return
    if is_postgres():
        _copy(model, fields, rows)
        return
    table = model._meta.table_name
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    placeholder = "(" + ", ".join([database.param] * len(fields)) + ")"
    per_statement = max(1, MAX_PARAMS // len(fields))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        sql = (f'INSERT INTO "{table}" ({columns}) VALUES '
               + ", ".join([placeholder] * len(chunk)))
        database.execute_sql(sql, list(itertools.chain.from_iterable(chunk)))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _copy(model, fields, rows: list[tuple]) -> None:
    table = model._meta.table_name
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    text = "".join("\t".join(map(_copy_text, row)) + "\n" for row in rows)
    database.cursor().copy_expert(f'COPY "{table}" ({columns}) FROM STDIN', io.StringIO(text))


def _reserve_ids(model, count: int) -> list[int]:
    """``count`` ids for new rows of ``model``, unique under concurrency (see module doc)."""
    if count <= 0:
        return []
    table = model._meta.table_name
    if is_postgres():
        cursor = database.execute_sql(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            (table, count))
        return [row[0] for row in cursor.fetchall()]
    start = database.execute_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').fetchone()[0] + 1
    return list(range(start, start + count))


def _reserve_numbers(name: str, period: str, count: int) -> int:
    """Take ``count`` consecutive values of the period's sequence in one update (the pattern
    of ``numbering.next_value``); returns the first.  The row stays locked until commit, so
    a concurrent ``create_customer`` gets the value after the block."""
    where = (Sequence.name == name) & (Sequence.period == period)
    updated = Sequence.update(value=Sequence.value + count).where(where).execute()
    if not updated:
        try:
            with database.atomic():
                Sequence.insert(name=name, period=period, value=count).execute()
            return 1
        except IntegrityError:   # somebody created the period's row first
            Sequence.update(value=Sequence.value + count).where(where).execute()
    end = Sequence.select(Sequence.value).where(where).scalar()
    return end - count + 1


_EVENT_FIELDS = [OutboxEvent.uid, OutboxEvent.name, OutboxEvent.payload, OutboxEvent.created_at,
                 OutboxEvent.status, OutboxEvent.attempts, OutboxEvent.next_attempt_at,
                 OutboxEvent.last_error]


def _event(name: str, now: dt.datetime, **payload) -> tuple:
    """An outbox row exactly as ``events.services.emit`` writes it, but its uid (``_emit_all``
    gives those)."""
    return (name, json.dumps(payload, default=str, ensure_ascii=False), now, "pending", 0, now, "")


def _uids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs, as ``uuid.uuid4()`` makes them, from one read of
    the system's random source instead of one each."""
    raw = os.urandom(16 * count)
    return [str(uuid.UUID(bytes=raw[i:i + 16], version=4)) for i in range(0, 16 * count, 16)]


def _emit_all(events: list[tuple]) -> None:
    insert_rows(OutboxEvent, _EVENT_FIELDS,
                [(uid,) + event for uid, event in zip(_uids(len(events)), events)])
    if events and has_app_context():
        g.outbox_dirty = True


def _touch_last_contacted(latest: dict[int, dt.datetime]) -> None:
    """Move each customer's last_contacted_at forward to ``latest[id]`` (never back)."""
    items = sorted(latest.items())
    per_statement = MAX_PARAMS // 2
    for start in range(0, len(items), per_statement):
        chunk = items[start:start + per_statement]
        values = ", ".join([f"({database.param}, {database.param})"] * len(chunk))
        params = list(itertools.chain.from_iterable(chunk))
        if is_postgres():
            sql = ('UPDATE "customer" AS c SET "last_contacted_at" = v.t '
                   f'FROM (VALUES {values}) AS v(id, t) '
                   'WHERE c."id" = v.id AND (c."last_contacted_at" IS NULL '
                   'OR c."last_contacted_at" < v.t)')
        else:
            sql = ('UPDATE "customer" SET "last_contacted_at" = v.column2 '
                   f'FROM (VALUES {values}) AS v '
                   'WHERE "customer"."id" = v.column1 AND ("customer"."last_contacted_at" IS NULL '
                   'OR "customer"."last_contacted_at" < v.column2)')
        database.execute_sql(sql, params)


def _local_period(when: dt.datetime, tz: ZoneInfo) -> tuple[int, int]:
    local = when.replace(tzinfo=dt.timezone.utc).astimezone(tz)
    return local.year, local.month


# -- customers --------------------------------------------------------------------------------

_CUSTOMER_FIELDS = list(Customer._meta.sorted_fields)                  # id first
_CUSTOMER_INDEX = {f.name: i for i, f in enumerate(_CUSTOMER_FIELDS)}
_CONTACT_FIELDS = [f for f in Contact._meta.sorted_fields if f.name != "id"]
_CONTACT_INDEX = {f.name: i for i, f in enumerate(_CONTACT_FIELDS)}
_CUSTOMER_COLUMNS = [k for k in EDITABLE if k != "owner"]


def _field_default(field):
    default = field.default
    return default() if callable(default) else default


def bulk_create_customers(rows: Iterable[dict], user, settings,
                          batch_size: int = 5000) -> list[int]:
    """Create customers from ``rows``: dicts of the cleaned fields ``create_customer`` takes
    (``services.EDITABLE``), plus optionally ``contacts`` (a list of dicts of
    ``services.CONTACT_FIELDS``), ``tags`` (a list of names) and ``created_at`` (naive UTC;
    default now).  ``user`` creates them (and owns those without an owner); ``settings`` is a
    ``customers.services.Settings``.  Returns the new ids in the order of ``rows``.

    Numbers come from the sequence of the month (business time zone) of each row's
    ``created_at``: a customer created in March 2025 gets ``C202503....``, as the one-by-one
    path would have given it then; one block per month and batch is reserved in one update.
    Per customer, as ``create_customer``: its search tokens, a ``customer.created`` outbox
    event with the same payload, and a ``create`` entry in its history (who, when, from which
    address).  That entry is one audit row, not one per non-empty field as ``create_customer``
    writes: the field rows would be 17 rows per customer with contacts (1.7 million at 100,000
    customers, each in the audit table's six B-trees), the largest single cost of an import,
    and they repeat values the record itself holds (a later change still records each field's
    old value).  As ``save_contact`` one after the other, only the last contact marked
    primary stays primary; contacts emit no ``customer.updated``: they are part of the
    creation.

    The pure-Python part of a batch (search tokens: pinyin) is computed in a helper thread
    while the previous batch is being written: the database drivers release the GIL while
    the database works, so the two cores of a small server both work (Python code of the two
    threads still takes turns).  ``batch_size`` is the size of what a failure rolls back,
    and on SQLite the number of commits: each commit writes every index page the batch
    touched to the WAL (with the FTS5 search index, batches of 2,000 and 5,000 take about
    the same time at 100,000 customers: bench/RESULTS.md).
    """
    user_id = _id(user)
    tz = ZoneInfo(settings.timezone)
    created: list[int] = []
    prepared = _ahead(_batches(rows, batch_size), lambda batch: _prepare_customers(batch, user_id, tz))
    written = 0     # the failing batch's index, whether its preparation or its writing failed
    with session():
        try:
            for batch in prepared:
                created.extend(_write_customers(batch, user, user_id, settings))
                written += 1
        except Exception as exc:
            raise BulkError(written, list(created), exc) from exc
        finally:
            prepared.close()    # stop the helper thread now, not when garbage-collected
            from crm.customers.queries import forget_choices
            forget_choices()    # the list's region and industry choices
    return created


def _ahead(batches, prepare):
    """``prepare(batch)`` for each batch, the next one computed in a helper thread while the
    caller works on the current one.  An error of ``prepare`` is raised for its own batch."""
    from concurrent.futures import ThreadPoolExecutor
    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if second is None:     # one batch (an import's): no thread to start and wait for
        yield prepare(first)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-bulk") as pool:
        pending = None
        for batch in itertools.chain((first, second), batches):
            future = pool.submit(prepare, batch)
            if pending is not None:
                yield pending.result()
            pending = future
        if pending is not None:
            yield pending.result()


def _prepare_customers(batch: list[dict], user_id, tz) -> dict:
    """Everything about a batch that needs no database: column values, contacts, the search
    tokens (those of the number come when it is known), tags, months."""
    now = utcnow()
    template = [_field_default(f) for f in _CUSTOMER_FIELDS]
    template[_CUSTOMER_INDEX["created_by"]] = user_id
    template[_CUSTOMER_INDEX["updated_at"]] = now
    contact_template = [_field_default(f) for f in _CONTACT_FIELDS]
    customers, periods, contacts, tokens, tags = [], [], [], [], []
    for position, row in enumerate(batch):
        values = list(template)
        for key in _CUSTOMER_COLUMNS:
            if key in row:
                values[_CUSTOMER_INDEX[key]] = row[key]
        values[_CUSTOMER_INDEX["owner"]] = _id(row.get("owner")) or user_id
        created_at = row.get("created_at") or now
        values[_CUSTOMER_INDEX["created_at"]] = created_at
        customers.append(values)
        periods.append(_local_period(created_at, tz))
        row_contacts = list(row.get("contacts") or ())
        # save_contact one by one: a primary contact makes the earlier ones non-primary
        primary = max((i for i, c in enumerate(row_contacts) if c.get("is_primary")), default=None)
        contact_ns = []
        for i, contact in enumerate(row_contacts):
            cvalues = list(contact_template)
            for key in CONTACT_FIELDS:
                if key in contact:
                    cvalues[_CONTACT_INDEX[key]] = contact[key]
            cvalues[_CONTACT_INDEX["is_primary"]] = primary == i
            cvalues[_CONTACT_INDEX["created_at"]] = created_at
            contacts.append((position, cvalues))
            contact_ns.append(SimpleNamespace(name=contact.get("name", ""),
                                              mobile=contact.get("mobile", ""),
                                              phone=contact.get("phone", ""),
                                              email=contact.get("email", "")))
        customer_ns = SimpleNamespace(name=row.get("name", ""), number="",
                                      phone=row.get("phone", ""), email=row.get("email", ""))
        tokens.append(search_tokens.customer_tokens(customer_ns, contact_ns))
        tags.append(list(dict.fromkeys(row.get("tags") or ())))
    return dict(now=now, customers=customers, periods=periods, contacts=contacts, tokens=tokens,
                tags=tags)


_AUDIT_FIELDS = [AuditLog.at, AuditLog.user, AuditLog.action, AuditLog.entity,
                 AuditLog.entity_id, AuditLog.field, AuditLog.old, AuditLog.new, AuditLog.ip]


def _write_customers(batch: dict, user, user_id, settings) -> list[int]:
    customers, now = batch["customers"], batch["now"]
    at = _CUSTOMER_INDEX
    with write_transaction():
        # Numbers first: the sequence update is this transaction's first write.
        by_period: dict[tuple[int, int], list[int]] = {}
        for i, period in enumerate(batch["periods"]):
            by_period.setdefault(period, []).append(i)
        numbers = [""] * len(customers)
        for (year, month) in sorted(by_period):   # a fixed order: no deadlock between imports
            positions = by_period[(year, month)]
            first = _reserve_numbers("customer", f"{year:04d}{month:02d}", len(positions))
            for offset, i in enumerate(positions):
                numbers[i] = settings.number_pattern.format(year=year, month=month,
                                                            seq=first + offset)
        ids = _reserve_ids(Customer, len(customers))
        owners = {values[at["owner"]] for values in customers}
        departments = dict(User.select(User.id, User.department).where(User.id.in_(owners))
                           .tuples())

        events = []
        ip = audit._ip()
        audit_rows = []
        for values, customer_id, number in zip(customers, ids, numbers):
            values[at["id"]] = customer_id
            values[at["number"]] = number
            values[at["department"]] = departments.get(values[at["owner"]])
            events.append(_event("customer.created", now, customer_id=customer_id, number=number,
                                 user_id=user_id))
            audit_rows.append((now, user_id, "create", "customer", customer_id, "", "", "", ip))
        # customer_tokens() of a customer is the union of its name's, phones', e-mails',
        # contacts' and number's tokens: the number's are added now that it is known.
        token_rows = [(customer_id, tokens | search_tokens.number_tokens(number))
                      for customer_id, tokens, number in zip(ids, batch["tokens"], numbers)]
        contact_rows = []
        for position, cvalues in batch["contacts"]:
            cvalues[_CONTACT_INDEX["customer"]] = ids[position]
            contact_rows.append(cvalues)

        insert_rows(Customer, _CUSTOMER_FIELDS, customers)
        insert_rows(Contact, _CONTACT_FIELDS, contact_rows)
        search_index.add_many(token_rows)
        tag_names: dict[str, list[int]] = {}
        for customer_id, names in zip(ids, batch["tags"]):
            for name in names:
                tag_names.setdefault(name, []).append(customer_id)
        if tag_names:
            Tag.insert_many([(n,) for n in sorted(tag_names)], fields=[Tag.name]) \
                .on_conflict_ignore().execute()
            tag_ids = dict(Tag.select(Tag.name, Tag.id).where(Tag.name.in_(list(tag_names)))
                           .tuples())
            insert_rows(CustomerTag, [CustomerTag.customer, CustomerTag.tag],
                        sorted({(cid, tag_ids[n]) for n, cids in tag_names.items() for cid in cids}))
        _emit_all(events)
        insert_rows(AuditLog, _AUDIT_FIELDS, audit_rows)
    return ids


# -- activities -------------------------------------------------------------------------------

_ACTIVITY_FIELDS = [Activity.id, Activity.customer, Activity.contact, Activity.kind,
                    Activity.occurred_at, Activity.summary, Activity.outcome,
                    Activity.next_followup_on, Activity.followup_done, Activity.user,
                    Activity.purchase, Activity.created_at]


def bulk_log_activities(rows: Iterable[dict], batch_size: int = 5000) -> list[int]:
    """Log activities from ``rows``: dicts with ``customer`` (an id or a Customer), ``kind``,
    ``summary`` and optionally ``occurred_at`` (naive UTC, default now), ``outcome``,
    ``contact``, ``next_followup_on``, ``followup_done``, ``user``, ``purchase`` and
    ``created_at`` (default now).  As ``log_activity``: an ``activity.logged`` event each, and
    "last contacted" moved forward (never back) for contact kinds -- once per customer and
    batch, to its latest activity.  Returns the new ids in the order of ``rows``."""
    created: list[int] = []
    for index, batch in enumerate(_batches(rows, batch_size)):
        try:
            with write_transaction():
                created.extend(_insert_activities(batch, utcnow()))
        except Exception as exc:
            raise BulkError(index, list(created), exc) from exc
    return created


def _insert_activities(batch: list[dict], now: dt.datetime) -> list[int]:
    ids = _reserve_ids(Activity, len(batch))
    rows, events, latest = [], [], {}
    for activity_id, row in zip(ids, batch):
        customer_id, kind, user_id = _id(row["customer"]), row["kind"], _id(row.get("user"))
        occurred_at = row.get("occurred_at") or now
        rows.append((activity_id, customer_id, _id(row.get("contact")), kind, occurred_at,
                     (row.get("summary") or "").strip(), row.get("outcome") or "",
                     row.get("next_followup_on"), bool(row.get("followup_done", False)),
                     user_id, _id(row.get("purchase")), row.get("created_at") or now))
        events.append(_event("activity.logged", now, activity_id=activity_id,
                             customer_id=customer_id, kind=kind, user_id=user_id))
        if kind in CONTACT_KINDS and (customer_id not in latest or latest[customer_id] < occurred_at):
            latest[customer_id] = occurred_at
    insert_rows(Activity, _ACTIVITY_FIELDS, rows)
    _touch_last_contacted(latest)
    _emit_all(events)
    return ids


# -- purchases --------------------------------------------------------------------------------

_PURCHASE_FIELDS = [Purchase.id, Purchase.customer, Purchase.purchased_at, Purchase.total_fen,
                    Purchase.status, Purchase.note, Purchase.user, Purchase.created_at]
_LINE_FIELDS = [PurchaseLine.purchase, PurchaseLine.product, PurchaseLine.quantity,
                PurchaseLine.unit_price_fen, PurchaseLine.amount_fen]


def bulk_record_purchases(rows: Iterable[dict], batch_size: int = 2000) -> list[int]:
    """Record purchases from ``rows``: dicts with ``customer``, ``lines`` (a list of
    (product id, quantity)) and optionally ``user``, ``note``, ``purchased_at`` (naive UTC,
    default now) and ``created_at``.  As ``record_purchase``: prices from the catalogue (never
    the row), lines with their amounts and the total in fen, a ``purchase`` activity on the
    timeline (with its ``activity.logged`` event, moving "last contacted" forward), and a
    ``purchase.recorded`` event with the same payload.  Returns the new ids in input order.

    A row without lines, or with a product that is unknown or not on sale, raises
    ``PurchaseError`` (inside ``BulkError``): its batch is not written."""
    created: list[int] = []
    for index, batch in enumerate(_batches(rows, batch_size)):
        try:
            created.extend(_record_purchase_batch(batch))
        except Exception as exc:
            raise BulkError(index, list(created), exc) from exc
    return created


def _record_purchase_batch(batch: list[dict]) -> list[int]:
    now = utcnow()
    cleaned = []
    wanted = set()
    for row in batch:
        lines = [(pid, qty) for pid, qty in (row.get("lines") or ()) if pid and qty and qty > 0]
        if not lines:
            raise PurchaseError("no lines")
        wanted.update(pid for pid, _ in lines)
        cleaned.append(lines)
    products = {p.id: p for p in Product.select(Product.id, Product.name, Product.price_fen)
                .where(Product.id.in_(sorted(wanted)) & (Product.active == True))}  # noqa: E712
    if len(products) != len(wanted):
        raise PurchaseError("unknown product")

    with write_transaction():
        ids = _reserve_ids(Purchase, len(batch))
        purchase_rows, line_rows, activity_rows, events = [], [], [], []
        for purchase_id, row, lines in zip(ids, batch, cleaned):
            customer_id, user_id = _id(row["customer"]), _id(row.get("user"))
            purchased_at = row.get("purchased_at") or now
            total = 0
            payload_lines = []
            for pid, qty in lines:
                price = products[pid].price_fen
                amount = price * qty
                total += amount
                line_rows.append((purchase_id, pid, qty, price, amount))
                payload_lines.append({"product_id": pid, "quantity": qty, "amount_fen": amount})
            purchase_rows.append((purchase_id, customer_id, purchased_at, total, "completed",
                                  (row.get("note") or "").strip(), user_id,
                                  row.get("created_at") or now))
            activity_rows.append(dict(
                customer=customer_id, user=user_id, kind="purchase", outcome="done",
                summary="; ".join(f"{products[pid].name} × {qty}" for pid, qty in lines),
                occurred_at=purchased_at, purchase=purchase_id,
                created_at=row.get("created_at") or now))
            events.append(_event("purchase.recorded", now, purchase_id=purchase_id,
                                 customer_id=customer_id, total_fen=total, lines=payload_lines))
        insert_rows(Purchase, _PURCHASE_FIELDS, purchase_rows)
        insert_rows(PurchaseLine, _LINE_FIELDS, line_rows)
        _insert_activities(activity_rows, now)     # activity.logged before purchase.recorded
        _emit_all(events)
    return ids
