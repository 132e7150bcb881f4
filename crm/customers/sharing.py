"""Sharing a customer with a user or a department, and reassigning customers in bulk.

Both only change who sees a customer (crm/access.py reads shares and owners); nothing of the
customer's history moves or is lost, and the audit says who changed what.
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import JOIN

from crm import access
from crm.accounts.models import Department, User
from crm.audit import services as audit
from crm.customers.models import Customer, CustomerShare
from crm.db import database, utcnow
from crm.events.services import emit


class SharingError(ValueError):
    """A share or a reassignment that cannot be made; the message is for the user."""


def shares(customer) -> list[CustomerShare]:
    """A customer's shares with the user or department and the sharer joined."""
    Target, Sharer = User.alias(), User.alias()
    return list(CustomerShare.select(CustomerShare, Target, Department, Sharer)
                .join(Target, JOIN.LEFT_OUTER, on=(CustomerShare.user == Target.id), attr="user")
                .switch(CustomerShare)
                .join(Department, JOIN.LEFT_OUTER, on=(CustomerShare.department == Department.id),
                      attr="department")
                .switch(CustomerShare)
                .join(Sharer, JOIN.LEFT_OUTER, on=(CustomerShare.created_by == Sharer.id),
                      attr="created_by")
                .where(CustomerShare.customer == customer.id)
                .order_by(CustomerShare.created_at, CustomerShare.id))


def share(customer, by_user, user_id: int | None = None,
          department_id: int | None = None) -> CustomerShare | None:
    """Share ``customer`` with a user or a department; sharing twice is a no-op (None)."""
    from flask_babel import gettext as _
    if bool(user_id) == bool(department_id):
        raise SharingError(_("Choose a person or a department to share with."))
    if user_id:
        target = User.get_or_none((User.id == user_id) & (User.is_active == True))  # noqa: E712
        if target is None:
            raise SharingError(_("This person does not exist or no longer works here."))
        if target.id == customer.owner_id:
            raise SharingError(_("%(name)s already owns this customer.", name=target.name))
        label, field = target.name, CustomerShare.user
    else:
        target = Department.get_or_none(Department.id == department_id)
        if target is None:
            raise SharingError(_("This department does not exist."))
        label, field = target.name, CustomerShare.department
    with database.atomic():
        exists = CustomerShare.select().where((CustomerShare.customer == customer.id)
                                              & (field == target.id)).exists()
        if exists:
            return None
        row = CustomerShare.create(customer=customer.id, user=user_id or None,
                                   department=department_id or None, created_by=by_user.id,
                                   created_at=utcnow())
        audit.record("customer.share", by_user, "customer", customer.id,
                     [("shared_with", "", label)])
        emit("customer.shared", customer_id=customer.id, user_id=by_user.id,
             shared_user_id=user_id or None, shared_department_id=department_id or None)
    return row


def unshare(customer, by_user, share_id: int) -> bool:
    with database.atomic():
        row = next((s for s in shares(customer) if s.id == share_id), None)
        if row is None:
            return False
        label = row.user.name if row.user_id else (row.department.name if row.department_id else "")
        CustomerShare.delete().where(CustomerShare.id == row.id).execute()
        audit.record("customer.unshare", by_user, "customer", customer.id,
                     [("shared_with", label, "")])
        emit("customer.unshared", customer_id=customer.id, user_id=by_user.id,
             shared_user_id=row.user_id, shared_department_id=row.department_id)
    return True


def owner_candidates(by_user) -> list[User]:
    """Who ``by_user`` may hand customers to: active admins, managers and sales reps; a
    manager only inside their department's subtree."""
    query = User.select().where((User.is_active == True)  # noqa: E712
                                & User.role.in_(("admin", "manager", "sales")))
    if by_user.role != "admin":
        query = query.where(User.department.in_(access.department_subtree(by_user.department_id))
                            | (User.id == by_user.id))
    return list(query.order_by(User.username))


@dataclass
class Reassigned:
    moved: int       # customers whose owner changed
    skipped: int     # selected but out of scope, in the trash, or already with the new owner


def reassign(by_user, new_owner_id: int, customer_ids=None, from_owner_id: int | None = None
             ) -> Reassigned:
    """Give customers to another owner: the selected ``customer_ids``, or every customer of
    ``from_owner_id`` (a rep leaves).  Only customers inside ``by_user``'s scope move; each
    move is audited per customer (owner before/after) and emits ``customer.updated``.
    Activities, purchases, contacts and shares stay where they are."""
    from flask_babel import gettext as _
    new_owner = next((u for u in owner_candidates(by_user) if u.id == new_owner_id), None)
    if new_owner is None:
        raise SharingError(_("Choose a new owner you may assign customers to."))
    scope = access.scoped_customers(by_user, Customer.id, Customer.owner)
    if customer_ids is not None:
        wanted = {int(i) for i in customer_ids}
        if not wanted:
            raise SharingError(_("Select at least one customer."))
        scope = scope.where(Customer.id.in_(list(wanted)))
    elif from_owner_id:
        scope = scope.where(Customer.owner == from_owner_id)
        wanted = None
    else:
        raise SharingError(_("Select at least one customer."))
    moved = 0
    with database.atomic():
        rows = list(scope.tuples())
        for customer_id, owner_id in rows:
            if owner_id == new_owner.id:
                continue
            Customer.update(owner=new_owner.id, department=new_owner.department_id,
                            version=Customer.version + 1, updated_at=utcnow()).where(
                Customer.id == customer_id).execute()
            audit.record("customer.reassign", by_user, "customer", customer_id,
                         [("owner", owner_id, new_owner.id)])
            emit("customer.updated", customer_id=customer_id, user_id=by_user.id,
                 fields=["owner"])
            moved += 1
    total = len(wanted) if wanted is not None else len(rows)
    return Reassigned(moved, total - moved)
