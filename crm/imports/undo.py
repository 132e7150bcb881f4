""""Undo this import": revert what a commit wrote, batch by batch, each batch one transaction.

* Customers it created are deleted for good (their contacts, tags and search tokens with
  them; plugins delete their rows on ``customer.purged``), unless they changed since (edited,
  or an activity or a purchase was added): those are kept and reported.
* Customers it updated get back the values it overwrote, through ``update_customer`` (audited
  per field), only if nobody changed them since (their version is still the one the import
  left): otherwise they are kept as they are and reported, never overwritten.  Contacts it
  added are deleted; plugin columns are restored when the plugin can ``load`` their value.
* Activities and purchases it created are deleted (a purchase with its lines and its
  timeline entry).

Every reverted row is marked (phase ``undone``) in the batch's transaction, so an undo that
stopped half-way can be started again and goes on where it stopped.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

from flask import current_app, g, has_app_context

from crm.accounts.models import User
from crm.activities.models import Activity
from crm.audit import services as audit
from crm.audit.models import AuditLog
from crm.customers import services as customer_services
from crm.customers.models import Contact, Customer
from crm.db import database, utcnow
from crm.events.models import OutboxEvent
from crm.i18n import _l
from crm.imports.customer_rows import import_columns
from crm.imports.models import Import, ImportRow
from crm.purchases.models import Purchase

BATCH = 500


def _decode(field: str, value):
    if value is None:
        return None
    if field == "founded_on":
        return dt.date.fromisoformat(value) if value else None
    return value


def run(job_id: int, user_id: int | None = None) -> None:
    """The body of an undo (inline or in the job worker).  Never raises."""
    from crm.imports.services import user_locale
    job = Import.get_by_id(job_id)
    user = User.get_or_none(User.id == (user_id or job.undone_by_id or job.user_id))
    with user_locale(user):
        _run(job, user)


def _run(job: Import, user) -> None:
    report = json.loads(job.undo_report or "{}")
    kept = report.setdefault("kept", [])
    counts = report.setdefault("counts", {"deleted": 0, "restored": 0})
    try:
        while True:
            rows = list(ImportRow.select().where(
                (ImportRow.job == job.id) & (ImportRow.phase == "commit")
                & ImportRow.action.in_(("create", "update"))).order_by(ImportRow.line.desc())
                .limit(BATCH))
            if not rows:
                break
            with database.atomic():
                if job.kind == "customers":
                    _customers(rows, user, kept, counts)
                else:
                    _records(job.kind, rows, user, kept, counts)
                ImportRow.update(phase="undone").where(
                    ImportRow.id.in_([r.id for r in rows])).execute()
                Import.update(heartbeat_at=utcnow(),
                              undo_report=json.dumps(report, ensure_ascii=False)).where(
                    Import.id == job.id).execute()
    except Exception as exc:  # noqa: BLE001 - recorded, the undo can be started again
        current_app.logger.exception("undo of import %s stopped", job.id)
        Import.update(status="interrupted", heartbeat_at=utcnow(),
                      message=str(_l("Undo stopped by an error (%(error)s); what it reverted "
                                     "so far stays reverted. Start it again to go on.",
                                     error=f"{type(exc).__name__}: {exc}"[:300]))).where(
            Import.id == job.id).execute()
        return
    now = utcnow()
    Import.update(status="undone", undone_at=now, heartbeat_at=now,
                  undone_by=user.id if user else None, message="",
                  undo_report=json.dumps(report, ensure_ascii=False)).where(
        Import.id == job.id).execute()
    audit.record("import.undo", user, "import", job.id,
                 [("file", "", job.file_name), ("deleted", "", counts["deleted"]),
                  ("restored", "", counts["restored"]), ("kept", "", len(kept))])
    from crm.imports.services import remove_file
    remove_file(Import.get_by_id(job.id))


def _customers(rows, user, kept: list, counts: dict) -> None:
    created = {r.record_id: r for r in rows if r.action == "create" and r.record_id}
    if created:
        _delete_created(created, user, kept, counts)
    columns = None
    for row in rows:
        if row.action != "update":
            continue
        if columns is None:
            columns = {"x_" + c.name: c for c in import_columns(user)}
        _restore(row, user, columns, kept, counts)


def _delete_created(created: dict, user, kept: list, counts: dict) -> None:
    ids = list(created)
    current = {c.id: c for c in Customer.select(Customer.id, Customer.number, Customer.name,
                                                Customer.version)
               .where(Customer.id.in_(ids))}
    busy = {cid for (cid,) in Activity.select(Activity.customer).where(
        Activity.customer.in_(ids)).distinct().tuples()}
    busy |= {cid for (cid,) in Purchase.select(Purchase.customer).where(
        Purchase.customer.in_(ids)).distinct().tuples()}
    doomed = []
    for cid, row in created.items():
        customer = current.get(cid)
        if customer is None:
            continue                                  # already deleted: nothing to revert
        if customer.version != (row.version or 1) or cid in busy:
            kept.append([row.line, customer.name, str(_l(
                "Created by this import and changed since (edited, or an activity or a "
                "purchase was added): kept."))])
            continue
        doomed.append(customer)
    if not doomed:
        return
    now = utcnow()
    user_id = getattr(user, "id", None)
    ip = audit._ip()
    AuditLog.insert_many([dict(at=now, user=user_id, action="import.undo", entity="customer",
                               entity_id=c.id, field=f, old=old, new="", ip=ip)
                          for c in doomed for f, old in (("number", c.number),
                                                         ("name", c.name))]).execute()
    OutboxEvent.insert_many([dict(uid=str(uuid.uuid4()), name="customer.purged",
                                  payload=json.dumps({"customer_id": c.id, "user_id": user_id}),
                                  created_at=now, next_attempt_at=now)
                             for c in doomed]).execute()
    if has_app_context():
        g.outbox_dirty = True
    Customer.delete().where(Customer.id.in_([c.id for c in doomed])).execute()
    counts["deleted"] += len(doomed)


def _restore(row, user, columns: dict, kept: list, counts: dict) -> None:
    diff = json.loads(row.diff or "{}")
    customer = Customer.get_or_none(Customer.id == row.record_id)
    if customer is None or customer.deleted_at is not None:
        kept.append([row.line, row.label, str(_l("No longer exists or is in the trash: not "
                                                 "restored."))])
        return
    if customer.version != row.version:
        kept.append([row.line, customer.name, str(_l(
            "Changed since the import: not restored (nothing was overwritten)."))])
        return
    data = {f: _decode(f, old) for f, (old, _new, *_rest) in diff.items()
            if f in customer_services.EDITABLE}
    tags = None
    if "tags" in diff:
        old = diff["tags"][0] or ""
        tags = [t for t in old.split(", ") if t]
    extras, lost = [], []
    for name, values in diff.items():
        if name.startswith("x_"):
            column = columns.get(name)
            if column is not None and column.load is not None:
                extras.append((column, values[0]))
            else:
                lost.append(name[2:])
    try:
        customer_services.update_customer(customer.id, data, row.version, user, tags=tags,
                                          extra_save=extras)
    except customer_services.Conflict:
        kept.append([row.line, customer.name, str(_l(
            "Changed since the import: not restored (nothing was overwritten)."))])
        return
    contact_info = diff.get("_contact")
    if contact_info and len(contact_info) > 2:
        contact = Contact.get_or_none(Contact.id == contact_info[2])
        if contact is not None:
            customer_services.delete_contact(customer, contact, user)
    if lost:
        kept.append([row.line, customer.name, str(_l(
            "Restored, except the plugin columns %(names)s, whose old value is unknown.",
            names=", ".join(lost)))])
    counts["restored"] += 1


def _records(kind: str, rows, user, kept: list, counts: dict) -> None:
    ids = [r.record_id for r in rows if r.action == "create" and r.record_id]
    if not ids:
        return
    model = Activity if kind == "activities" else Purchase
    present = [i for (i,) in model.select(model.id).where(model.id.in_(ids)).tuples()]
    if not present:
        return
    entity = "activity" if kind == "activities" else "purchase"
    audit.record("import.undo", user, entity, None, [("ids", "", ", ".join(map(str, present)))])
    model.delete().where(model.id.in_(present)).execute()
    counts["deleted"] += len(present)
