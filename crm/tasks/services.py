"""Create, complete, reopen and list tasks."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN, fn

from crm.accounts.models import User
from crm.activities.queries import in_scope
from crm.customers.models import Customer
from crm.db import database, utcnow
from crm.events.services import emit
from crm.i18n import N_
from crm.notifications import notify
from crm.tasks.models import Task


def create_task(title: str, owner, *, due_on: dt.date | None = None, customer=None,
                notes: str = "", created_by=None, source: str = "",
                key: str | None = None) -> Task | None:
    """A new task for ``owner``.  With ``key`` (a rule's reminder) it is made at most once:
    the answer is None when a task with that key exists.  The owner is notified when
    somebody else gave them the task."""
    owner_id = getattr(owner, "id", owner)
    customer_id = getattr(customer, "id", customer)
    creator_id = getattr(created_by, "id", created_by)
    row = {"title": title.strip()[:200], "notes": notes or "", "owner": owner_id,
           "due_on": due_on, "customer": customer_id, "created_by": creator_id,
           "source": source[:40], "key": key, "created_at": utcnow()}
    with database.atomic():
        if key is not None:
            if not Task.insert(row).on_conflict_ignore().as_rowcount().execute():
                return None
            task = Task.get(Task.key == key)
        else:
            task = Task.create(**row)
        emit("task.created", id=task.id, owner=owner_id, customer=customer_id,
             due_on=due_on.isoformat() if due_on else None, source=task.source)
        if creator_id and owner_id and creator_id != owner_id:
            by = User.get_or_none(User.id == creator_id)
            notify([owner_id], N_("%(name)s gave you a task: %(title)s"),
                   url=f"/tasks/{task.id}/edit", kind="task", key=f"task:{task.id}",
                   name=by.name if by else "", title=task.title)
    return task


def update_task(task: Task, data: dict, user) -> Task:
    """Change title, notes, due date or owner (a new owner is notified)."""
    old_owner = task.owner_id
    with database.atomic():
        Task.update(**data).where(Task.id == task.id).execute()
        task = Task.get_by_id(task.id)
        if task.owner_id and task.owner_id != old_owner and task.owner_id != user.id:
            notify([task.owner_id], N_("%(name)s gave you a task: %(title)s"),
                   url=f"/tasks/{task.id}/edit", kind="task",
                   key=f"task:{task.id}:owner:{task.owner_id}", name=user.name,
                   title=task.title)
    return task


def complete_task(task: Task, user) -> bool:
    """Mark ``task`` done; False when it already was (a second click changes nothing)."""
    with database.atomic():
        hit = (Task.update(done_at=utcnow(), done_by=user.id)
               .where((Task.id == task.id) & Task.done_at.is_null()).execute())
        if hit:
            emit("task.completed", id=task.id, by=user.id, customer=task.customer_id)
    return bool(hit)


def reopen_task(task: Task, user) -> bool:
    with database.atomic():
        hit = (Task.update(done_at=None, done_by=None)
               .where((Task.id == task.id) & Task.done_at.is_null(False)).execute())
        if hit:
            emit("task.reopened", id=task.id, by=user.id)
    return bool(hit)


# -- reading ----------------------------------------------------------------------------------

def _with_customer(query):
    return (query.select_extend(Customer.id, Customer.name, Customer.number)
            .join(Customer, JOIN.LEFT_OUTER, on=(Task.customer == Customer.id),
                  attr="customer_row"))


def _visible_customer(scope):
    """Tasks on no customer, or on a live customer in ``scope`` (a customer in the trash, or
    handed to somebody outside the user's scope, takes its tasks out of the list)."""
    return Task.customer.is_null() | fn.EXISTS(in_scope(scope, Task.customer))


def open_tasks(user, scope, limit: int = 200) -> list[Task]:
    """``user``'s open tasks, the ones with a due date first (earliest first)."""
    query = (_with_customer(Task.select())
             .where((Task.owner == user.id) & Task.done_at.is_null() & _visible_customer(scope))
             .order_by(Task.due_on.asc(nulls="LAST"), Task.id).limit(limit))
    return list(query)


def customer_tasks(customer, limit: int = 50) -> tuple[list[Task], int]:
    """A customer's open tasks (any owner) and how many were done."""
    rows = list(Task.select(Task, User.id, User.display_name, User.username)
                .join(User, JOIN.LEFT_OUTER, on=(Task.owner == User.id), attr="owner_row")
                .where((Task.customer == customer.id) & Task.done_at.is_null())
                .order_by(Task.due_on.asc(nulls="LAST"), Task.id).limit(limit))
    for row in rows:
        row.customer_row = customer
    done = Task.select().where((Task.customer == customer.id) & Task.done_at.is_null(False)).count()
    return rows, done


@dataclass
class Counts:
    overdue: int
    today: int


def counts(user, scope, today: dt.date) -> Counts:
    base = Task.select().where((Task.owner == user.id) & Task.done_at.is_null()
                               & Task.due_on.is_null(False) & _visible_customer(scope))
    return Counts(base.where(Task.due_on < today).count(),
                  base.where(Task.due_on == today).count())
