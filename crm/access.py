"""Who may do what, and which customers each person sees.

``can(user, permission, resource)`` combines the role defaults with plugins' votes
(``crm_permission_allowed``: any False denies, else any True allows, else the role default).
``scoped_customers(user)`` is the one query-scoping function: every list, search, count,
detail page, partial, export and plugin query starts from it.  Nothing checks rows by hand.
"""
from __future__ import annotations

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
    "contact.edit": ("admin", "manager", "sales", "service"),
    "activity.log": ALL,
    "purchase.record": ("admin", "manager", "sales", "clerk"),
    "product.manage": ("admin", "manager"),
    "user.manage": ("admin",),
    "plugin.view": ("admin",),
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


def scoped_customers(user, *fields, include_deleted: bool = False):
    """The customers ``user`` may see, as a peewee query to refine further."""
    query = Customer.select(*fields) if fields else Customer.select()
    if not include_deleted:
        query = query.where(Customer.deleted_at.is_null())
    role = getattr(user, "role", None)
    if role in ("admin", "service", "clerk"):
        return query
    if role == "manager":
        cache = g.setdefault("_dept_subtree", {})
        if user.department_id not in cache:
            cache[user.department_id] = department_subtree(user.department_id)
        depts = cache[user.department_id]
        owners = User.select(User.id).where(User.department.in_(depts)) if depts else [user.id]
        return query.where((Customer.owner.in_(owners)) | (Customer.owner == user.id))
    if role == "sales":
        return query.where(Customer.owner == user.id)
    return query.where(Customer.id.is_null())   # unknown role: nothing


def get_customer_or_404(user, customer_id: int, include_deleted: bool = False) -> Customer:
    """A customer inside the user's scope, else 404 (never 403: no enumeration of ids)."""
    customer = scoped_customers(user, include_deleted=include_deleted).where(
        Customer.id == customer_id).first()
    if customer is None:
        abort(404)
    return customer


def why_visible(user, customer) -> str:
    """The rule that grants ``user`` access to ``customer`` (for "Why can I see this?")."""
    if user.role == "admin":
        return "admin"
    if customer.owner_id == user.id:
        return "owner"
    if user.role in ("service", "clerk"):
        return user.role
    if user.role == "manager":
        return "department"
    return "none"


JOIN = JOIN  # re-exported for plugin queries that join the scoped customers
