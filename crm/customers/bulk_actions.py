"""Acting on many customers at once from the list: add tags, remove a tag, create a follow-up
task for each (the list's bulk *reassign* is in sharing.py).

The customers are the ticked ids or every customer matching the list's filter, always
re-selected here inside the acting user's scope (``access.scoped_customers``): an id outside
it is skipped like any other refusal, and never named.  At most ``CAP`` customers per action.

Tags are written set-based, ``CHUNK`` customers per transaction, with exactly what an ordinary
tag edit (``services.update_customer``) writes for each changed customer: the version bumped,
one audit row ``update`` / ``tags`` (old and new names), one ``customer.updated`` event with
``fields=["tags"]`` in the outbox.  A customer whose tags do not change gets none of them.
Follow-up tasks go through ``tasks.services.create_task`` (events and notifications as usual).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass

from flask import g, has_app_context, has_request_context, request

from crm import access
from crm.audit import services as audit
from crm.audit.models import AuditLog
from crm.customers import queries
from crm.customers.models import Customer, CustomerTag, Tag
from crm.customers.services import parse_tags
from crm.db import database, utcnow
from crm.events.models import OutboxEvent
from crm.i18n import _l

CAP = 5000          # customers per action, at most
CHUNK = 500         # customers per transaction
MAX_TAGS = 10       # tags added by one action
ROWS_PER_INSERT = 1000


class BulkActionError(ValueError):
    """An action that cannot be done as asked; the message is for the user (a lazy string:
    translated when shown, so the services work outside a request too)."""


class TooMany(BulkActionError):
    """More customers than ``CAP``: ``count`` is how many there are."""

    def __init__(self, count: int, cap: int | None = None):
        self.count = count
        self.cap = CAP if cap is None else cap
        super().__init__(count, self.cap)

    def __str__(self) -> str:      # in the reader's language, when it is shown
        from flask_babel import format_decimal
        from flask_babel import gettext as _
        return _("%(count)s customers: more than %(cap)s at once. Narrow the filter and act "
                 "on the customers in parts.", count=format_decimal(self.count),
                 cap=format_decimal(self.cap))


@dataclass
class Outcome:
    done: int        # customers changed (tagged, untagged) or given a task
    unchanged: int   # allowed, but nothing to do (had the tags already, did not have the tag)
    skipped: int     # not allowed: outside the scope, no permission, no one to give the task to


# -- which customers ----------------------------------------------------------------------------

def clean_ids(values) -> list[int]:
    """The distinct positive integers of ``values`` (the ticked checkboxes), in their order."""
    out = []
    for value in values or ():
        text = str(value).strip()
        if text.isascii() and text.isdigit() and len(text) <= 18 and int(text) > 0:
            out.append(int(text))
    return list(dict.fromkeys(out))


def target_query(user, ids: list[int] | None = None, filters: queries.Filters | None = None):
    """The customers an action applies to, inside ``user``'s scope: the ticked ``ids``, or
    every customer matching ``filters`` (the list's filter, run again here)."""
    scope = access.scoped_customers(user)
    if ids is not None:
        return scope.where(Customer.id.in_(ids)) if ids else scope.where(Customer.id.is_null())
    return queries.apply_filters(scope, filters or queries.Filters())


def target_ids(user, ids: list[int] | None = None, filters: queries.Filters | None = None,
               cap: int | None = None) -> list[int]:
    """The ids of the customers to act on (see ``target_query``); ``TooMany`` above ``cap``
    (``CAP``)."""
    cap = CAP if cap is None else cap
    if ids is not None and len(ids) > cap:
        raise TooMany(len(ids), cap)
    found = [i for (i,) in target_query(user, ids, filters).select(Customer.id)
             .order_by(Customer.id).limit(cap + 1).tuples()]
    if len(found) > cap:
        raise TooMany(target_query(user, ids, filters).count(), cap)
    return found


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _editable(user, customer_ids: list[int]) -> list[int]:
    """Those of ``customer_ids`` in ``user``'s scope that they may edit (``customer.edit`` on
    each customer: plugins vote per customer), in one query for the rows."""
    rows = access.scoped_customers(user).where(Customer.id.in_(customer_ids)).order_by(Customer.id)
    return [c.id for c in rows if access.can(user, "customer.edit", c)]


# -- what an ordinary edit writes, many rows per statement --------------------------------------

def _insert_rows(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), ROWS_PER_INSERT):
        model.insert_many(rows[start:start + ROWS_PER_INSERT]).execute()


def _tag_names(customer_ids: list[int]) -> dict[int, list[str]]:
    """Each customer's tag names, ordered as ``services.set_tags`` reads them (by name)."""
    found: dict[int, list[str]] = {cid: [] for cid in customer_ids}
    for customer_id, name in (CustomerTag.select(CustomerTag.customer, Tag.name).join(Tag)
                              .where(CustomerTag.customer.in_(customer_ids))
                              .order_by(Tag.name).tuples()):
        found[customer_id].append(name)
    return found


def _record_tag_changes(user, changes: dict[int, tuple[list[str], list[str]]]) -> None:
    """For each changed customer: version + 1, the audit row and the outbox event an ordinary
    tag edit writes (``services.update_customer``).  ``changes``: id -> (old, new) names."""
    if not changes:
        return
    ids = sorted(changes)
    now = utcnow()
    Customer.update(version=Customer.version + 1, updated_at=now).where(
        Customer.id.in_(ids)).execute()
    ip = (request.remote_addr or "") if has_request_context() else ""
    user_id = getattr(user, "id", None)
    _insert_rows(AuditLog, [
        dict(action="update", user=user_id, entity="customer", entity_id=cid, field="tags",
             old=", ".join(changes[cid][0]), new=", ".join(changes[cid][1]), ip=ip, at=now)
        for cid in ids])
    raw = os.urandom(16 * len(ids))
    _insert_rows(OutboxEvent, [
        dict(uid=str(uuid.UUID(bytes=raw[16 * n:16 * n + 16], version=4)),
             name="customer.updated",
             payload=json.dumps(dict(customer_id=cid, user_id=user_id, fields=["tags"]),
                                default=str, ensure_ascii=False),
             created_at=now, status="pending", attempts=0, next_attempt_at=now, last_error="")
        for n, cid in enumerate(ids)])
    if has_app_context():
        g.outbox_dirty = True


# -- tags -----------------------------------------------------------------------------------------

def clean_tag_names(raw: str) -> list[str]:
    """The names typed in the "add tags" box (``services.parse_tags``); an error when there
    is none or too many."""
    names = parse_tags(raw)
    if not names:
        raise BulkActionError(_l("Type at least one tag."))
    if len(names) > MAX_TAGS:
        raise BulkActionError(_l("At most %(n)s tags at once.", n=MAX_TAGS))
    return names


def add_tags(user, customer_ids: list[int], names: list[str], requested: int | None = None
             ) -> Outcome:
    """Add the tags ``names`` to each of ``customer_ids`` that ``user`` may edit.  ``requested``
    is how many customers were asked for (ticked ids, some perhaps outside the scope); the
    difference counts as skipped."""
    names = list(dict.fromkeys(n.strip()[:50] for n in names if n and n.strip()))
    if not names:
        clean_tag_names("")          # raises: "Type at least one tag."
    done = unchanged = allowed_total = 0
    for chunk in _chunks(list(customer_ids)):
        allowed = _editable(user, chunk)
        allowed_total += len(allowed)
        if not allowed:
            continue
        with database.atomic():
            Tag.insert_many([{"name": n} for n in names]).on_conflict_ignore().execute()
            tag_ids = dict(Tag.select(Tag.name, Tag.id).where(Tag.name.in_(names)).tuples())
            old = _tag_names(allowed)
            links, changes = [], {}
            for cid in allowed:
                missing = [n for n in names if n not in old[cid]]
                if not missing:
                    continue
                links.extend({"customer": cid, "tag": tag_ids[n]} for n in missing)
                changes[cid] = (old[cid], sorted(set(old[cid]) | set(names)))
            for start in range(0, len(links), ROWS_PER_INSERT):
                CustomerTag.insert_many(links[start:start + ROWS_PER_INSERT]) \
                    .on_conflict_ignore().execute()
            _record_tag_changes(user, changes)
        done += len(changes)
        unchanged += len(allowed) - len(changes)
    if done:
        queries.forget_choices()
    total = len(customer_ids) if requested is None else max(requested, len(customer_ids))
    return Outcome(done, unchanged, total - allowed_total)


def remove_tag(user, customer_ids: list[int], tag_id: int, requested: int | None = None
               ) -> Outcome:
    """Take the tag ``tag_id`` off each of ``customer_ids`` that ``user`` may edit."""
    tag = Tag.get_or_none(Tag.id == tag_id) if tag_id else None
    if tag is None:
        raise BulkActionError(_l("Choose the tag to remove."))
    done = unchanged = allowed_total = 0
    for chunk in _chunks(list(customer_ids)):
        allowed = _editable(user, chunk)
        allowed_total += len(allowed)
        if not allowed:
            continue
        with database.atomic():
            old = _tag_names(allowed)
            having = [cid for cid in allowed if tag.name in old[cid]]
            if having:
                CustomerTag.delete().where(CustomerTag.customer.in_(having)
                                           & (CustomerTag.tag == tag.id)).execute()
            _record_tag_changes(user, {
                cid: (old[cid], sorted(n for n in old[cid] if n != tag.name)) for cid in having})
        done += len(having)
        unchanged += len(allowed) - len(having)
    if done:
        queries.forget_choices()
    total = len(customer_ids) if requested is None else max(requested, len(customer_ids))
    return Outcome(done, unchanged, total - allowed_total)


def tags_on(customers_query, limit: int = 200) -> list[Tag]:
    """The tags that some of the customers of ``customers_query`` have (for "remove a tag")."""
    ids = customers_query.select(Customer.id)
    return list(Tag.select().where(Tag.id.in_(
        CustomerTag.select(CustomerTag.tag).where(CustomerTag.customer.in_(ids))))
        .order_by(Tag.name).limit(limit))


# -- follow-up tasks ------------------------------------------------------------------------------

OWNER = "owner"     # the assignee choice "each customer's owner"


def task_assignees(user) -> list:
    """Whom ``user`` may give tasks to (the tasks module's rule: themselves; with
    ``task.assign`` the active people of their departments, an admin anybody active)."""
    from crm.tasks.views import assignable
    return assignable(user)


def clean_task(title: str, due_on: str, assignee: str) -> tuple[str, dt.date | None, str]:
    """The follow-up form's values, or ``BulkActionError``: (title, due date, assignee) where
    the assignee is ``OWNER`` or a user id as text."""
    title = (title or "").strip()
    if not title:
        raise BulkActionError(_l("Say what is to be done."))
    if len(title) > 200:
        raise BulkActionError(_l("The task's title is too long (200 characters at most)."))
    due = None
    if (due_on or "").strip():
        try:
            due = dt.date.fromisoformat(due_on.strip())
        except ValueError:
            raise BulkActionError(_l("The due date is not a date (YYYY-MM-DD).")) from None
    assignee = (assignee or OWNER).strip()
    if assignee != OWNER and not (assignee.isascii() and assignee.isdigit()
                                  and len(assignee) < 19):
        raise BulkActionError(_l("Choose whom to give the tasks to."))
    return title, due, assignee


def new_nonce() -> str:
    """A token for one bulk form: its tasks are keyed on it, so a form sent twice (a double
    click, "back" and send again) creates each task once."""
    return uuid.uuid4().hex


def create_tasks(user, customer_ids: list[int], title: str, due_on: dt.date | None = None,
                 assignee: str | int = OWNER, notes: str = "", requested: int | None = None,
                 nonce: str = "") -> Outcome:
    """A follow-up task on each of ``customer_ids``, for each customer's owner (``OWNER``) or
    for the user ``assignee``, through ``tasks.services.create_task`` (its event and the
    assignee's notification as usual).

    Who may be given a task is the tasks module's rule (``task_assignees``): a customer whose
    owner is not among them (or who has none), or that the chosen person cannot see, is
    skipped.  One transaction per ``CHUNK`` customers, with one audit row each.  With
    ``nonce`` (``new_nonce``) each task is made at most once: sent again, the ones that exist
    count as unchanged."""
    from crm.tasks.services import create_task
    people = {p.id: p for p in task_assignees(user)}
    chosen = None
    if str(assignee) != OWNER:
        text = str(assignee)
        chosen = people.get(int(text)) if text.isascii() and text.isdigit() and len(text) < 19 \
            else None
        if chosen is None:
            raise BulkActionError(_l("Choose whom to give the tasks to."))
    title = title.strip()[:200]
    nonce = "".join(ch for ch in (nonce or "") if ch.isalnum())[:40]
    done = unchanged = planned = 0
    for chunk in _chunks(list(customer_ids)):
        owners = dict(access.scoped_customers(user, Customer.id, Customer.owner)
                      .where(Customer.id.in_(chunk)).tuples())      # never outside the scope
        if chosen is None:
            plan = [(cid, owners[cid]) for cid in chunk if owners.get(cid) in people]
        elif chosen.id == user.id:
            plan = [(cid, chosen.id) for cid in chunk if cid in owners]
        else:
            visible = {i for (i,) in access.scoped_customers(chosen, Customer.id)
                       .where(Customer.id.in_(list(owners))).tuples()} if owners else set()
            plan = [(cid, chosen.id) for cid in chunk if cid in visible]
        planned += len(plan)
        if not plan:
            continue
        with database.atomic():
            made = [create_task(title, owner_id, due_on=due_on, customer=cid, notes=notes,
                                created_by=user, key=f"bulk:{nonce}:{cid}" if nonce else None)
                    for cid, owner_id in plan]
            made = [task for task in made if task is not None]
            if made:
                audit.record("task.bulk_create", user, "task", None,
                             [("title", "", title), ("customers", "", len(made))])
        done += len(made)
        unchanged += len(plan) - len(made)
    total = len(customer_ids) if requested is None else max(requested, len(customer_ids))
    return Outcome(done, unchanged, total - planned)
