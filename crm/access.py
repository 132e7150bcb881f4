"""Who may do what, and which customers each person sees.

``can(user, permission, resource)`` combines the role defaults with plugins' votes
(``crm_permission_allowed``: any False denies, else any True allows, else the role default).
``scoped_customers(user)`` is the one query-scoping function: every list, search, count,
detail page, partial, export and plugin query starts from it.  Nothing checks rows by hand.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, g
from peewee import JOIN

from crm.accounts.models import Department, User
from crm.customers.models import Customer

ALL = ("admin", "manager", "sales", "service", "clerk")

ROLE_DEFAULTS: dict[str, tuple] = {
    "customer.browse": ("admin", "manager", "sales", "service"),   # the list without a search
    "customer.view": ALL,
    "customer.create": ("admin", "manager", "sales", "clerk"),
    "customer.edit": ("admin", "manager", "sales"),
    "customer.delete": ("admin", "manager", "sales"),
    "customer.restore": ("admin", "manager", "sales"),
    "customer.share": ("admin", "manager", "sales"),      # on customers they may edit
    "customer.reassign": ("admin", "manager"),
    "customer.export": ("admin", "manager", "sales"),
    "customer.import": ("admin", "manager", "sales"),     # CSV / XLSX in, dry run, undo
    "customer.merge": ("admin", "manager"),
    "customer.purge": ("admin",),
    "backup.manage": ("admin",),
    "customer.personal_data": ("admin",),                # a person's data request (PIPL)
    "customer.anonymise": ("admin",),                    # erase a person, keep the figures
    "customer.unmasked": ("admin", "manager", "sales"),   # phones and e-mails shown in full
    "customer.reveal": ("service", "clerk"),              # masked, one audited click to reveal
    "contact.edit": ("admin", "manager", "sales", "service"),
    "activity.log": ALL,
    "task.assign": ("admin", "manager"),                  # give tasks to others (managers: their departments)
    "purchase.record": ("admin", "manager", "sales", "clerk"),
    "purchase.refund": ("admin", "manager", "clerk"),     # a whole purchase, with a reason
    "product.manage": ("admin", "manager"),
    "user.manage": ("admin",),
    "plugin.view": ("admin",),
    "audit.view": ("admin",),                             # the audit log page (/admin/audit)
}


def register_permissions(app) -> None:
    """Merge the plugins' declared permissions into the role defaults (at start-up)."""
    table = dict(ROLE_DEFAULTS)
    for _plugin, perms in app.extensions["crm.plugins"].call_all("crm_register_permissions"):
        for perm in perms or []:
            table[perm.name] = tuple(perm.roles)
    app.extensions["crm.permissions"] = table


def can(user, permission: str, resource=None) -> bool:
    from flask import current_app
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    host = current_app.extensions["crm.plugins"]
    voters = len(host.pm.hook.crm_permission_allowed.get_hookimpls())
    votes = [v for _p, v in host.safe_call(
        "crm_permission_allowed", user=user, action=permission, resource=resource)]
    if len(votes) < voters:   # a voter failed: it may have meant to deny, so fail closed
        return False
    if any(v is False for v in votes):
        return False
    if any(v is True for v in votes):
        return True
    table = current_app.extensions["crm.permissions"]
    return user.role in table.get(permission, ())


def require(user, permission: str, resource=None) -> None:
    if not can(user, permission, resource):
        abort(403)


def department_subtree(department_id: int | None) -> list[int]:
    """Ids of a department and all its descendants (departments are few: one query)."""
    if department_id is None:
        return []
    children: dict = {}
    for dept_id, parent_id in Department.select(Department.id, Department.parent).tuples():
        children.setdefault(parent_id, []).append(dept_id)
    out, stack = [], [department_id]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(children.get(current, []))
    return out


def department_ancestors(department_id: int | None) -> list[int]:
    """Ids of a department and every department above it."""
    if department_id is None:
        return []
    parents = dict(Department.select(Department.id, Department.parent).tuples())
    out, current = [], department_id
    while current is not None and current not in out:
        out.append(current)
        current = parents.get(current)
    return out


def _cached(name: str, key, compute):
    cache = g.setdefault(name, {})
    if key not in cache:
        cache[key] = compute(key)
    return cache[key]


def shared_with(user):
    """Ids of the customers shared with ``user``: with them, or with their department or a
    department above it (a share with a department covers its sub-departments), as a subquery."""
    from crm.customers.models import CustomerShare
    depts = _cached("_dept_ancestors", user.department_id, department_ancestors)
    condition = CustomerShare.user == user.id
    if depts:
        condition = condition | CustomerShare.department.in_(depts)
    return CustomerShare.select(CustomerShare.customer).where(condition)


def scoped_customers(user, *fields, include_deleted: bool = False):
    """The customers ``user`` may see, as a peewee query to refine further.

    admin, service and clerk: all (service sees sensitive fields masked; a clerk has no
    browsing of the list, only the counter's look-up, see ``customer.browse``); manager: the
    customers owned by anybody in their department's subtree, their own, and those shared with
    them; sales: their own and those shared with them; anybody else: nothing."""
    query = Customer.select(*fields) if fields else Customer.select()
    if not include_deleted:
        query = query.where(Customer.deleted_at.is_null())
    role = getattr(user, "role", None)
    if role in ("admin", "service", "clerk"):
        return query
    if role == "manager":
        depts = _cached("_dept_subtree", user.department_id, department_subtree)
        owners = User.select(User.id).where(User.department.in_(depts)) if depts else [user.id]
        return query.where(Customer.owner.in_(owners) | (Customer.owner == user.id)
                           | Customer.id.in_(shared_with(user)))
    if role == "sales":
        return query.where((Customer.owner == user.id) | Customer.id.in_(shared_with(user)))
    return query.where(Customer.id.is_null())   # unknown role: nothing


def get_customer_or_404(user, customer_id: int, include_deleted: bool = False) -> Customer:
    """A customer inside the user's scope, else 404 (never 403: no enumeration of ids)."""
    customer = scoped_customers(user, include_deleted=include_deleted).where(
        Customer.id == customer_id).first()
    if customer is None:
        abort(404)
    return customer


@dataclass(frozen=True)
class Why:
    """Why ``user`` sees a customer: ``rule`` is one of admin, owner, department, shared_user,
    shared_department, service, clerk, none; ``detail`` names the department or the sharer."""
    rule: str
    detail: str = ""


def why_visible(user, customer) -> Why:
    """The rule that grants ``user`` access to ``customer`` (for "Why can I see this?")."""
    from crm.customers.models import CustomerShare
    if user.role == "admin":
        return Why("admin")
    if customer.owner_id == user.id:
        return Why("owner")
    if user.role == "manager" and customer.owner_id:
        owner = User.get_or_none(User.id == customer.owner_id)
        depts = _cached("_dept_subtree", user.department_id, department_subtree)
        if owner is not None and owner.department_id in depts:
            dept = Department.get_or_none(Department.id == owner.department_id)
            return Why("department", dept.name if dept else "")
    share = (CustomerShare.select().where((CustomerShare.customer == customer.id)
                                          & (CustomerShare.user == user.id)).first())
    if share is not None:
        sharer = User.get_or_none(User.id == share.created_by_id) if share.created_by_id else None
        return Why("shared_user", sharer.name if sharer else "")
    depts = department_ancestors(user.department_id)
    if depts:
        share = (CustomerShare.select().where((CustomerShare.customer == customer.id)
                                              & CustomerShare.department.in_(depts)).first())
        if share is not None:
            dept = Department.get_or_none(Department.id == share.department_id)
            return Why("shared_department", dept.name if dept else "")
    if user.role in ("service", "clerk"):
        return Why(user.role)
    return Why("none")


JOIN = JOIN  # re-exported for plugin queries that join the scoped customers
