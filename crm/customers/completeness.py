"""Data completeness: which required and recommended fields of each customer are filled.

A customer is *complete* when every required field is filled.  The figures are computed in
SQL over the user's scope (one grouped query for the totals, one per page of incomplete
records), so they stay cheap at 100,000 customers.  The brief's target is >= 95% complete.
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import JOIN, Case, fn

from crm.accounts.models import User
from crm.customers.models import Contact, Customer
from crm.i18n import _l

TARGET = 0.95


def _filled(column):
    return (column.is_null(False)) & (column != "")


def _has_contact():
    return fn.EXISTS(Contact.select(Contact.id).where(Contact.customer == Customer.id))


# name -> (label, condition that the field is filled)
REQUIRED = {
    "name": (_l("Name"), lambda: _filled(Customer.name)),
    "owner": (_l("Owner"), lambda: Customer.owner.is_null(False)),
    "reachable": (_l("Phone or e-mail"), lambda: _filled(Customer.phone) | _filled(Customer.email)),
    "industry": (_l("Industry"), lambda: _filled(Customer.industry)),
    "region": (_l("Region"), lambda: _filled(Customer.region)),
}
RECOMMENDED = {
    "email": (_l("E-mail"), lambda: _filled(Customer.email)),
    "address": (_l("Address"), lambda: _filled(Customer.address)),
    "source": (_l("Source"), lambda: _filled(Customer.source)),
    "preferred_channel": (_l("Preferred channel"), lambda: _filled(Customer.preferred_channel)),
    "contact": (_l("At least one contact"), _has_contact),
}


def _complete():
    condition = None
    for _label, filled in REQUIRED.values():
        condition = filled() if condition is None else (condition & filled())
    return condition


def _count(condition):
    return fn.SUM(Case(None, [(condition, 1)], 0))


@dataclass
class Report:
    total: int
    complete: int
    fields: list          # (name, label, filled count, required?)
    owners: list          # (owner name, total, complete)

    @property
    def rate(self) -> float:
        return self.complete / self.total if self.total else 1.0

    @property
    def on_target(self) -> bool:
        return self.rate >= TARGET


def report(scope) -> Report:
    columns = [fn.COUNT(Customer.id).alias("total"), _count(_complete()).alias("complete")]
    names = []
    for group in (REQUIRED, RECOMMENDED):
        for name, (_label, filled) in group.items():
            columns.append(_count(filled()).alias("f_" + name))
            names.append(name)
    row = scope.select(*columns).dicts().get()
    fields = [(name, label, int(row["f_" + name] or 0), name in REQUIRED)
              for group in (REQUIRED, RECOMMENDED) for name, (label, _f) in group.items()]
    Owner = User.alias()
    owners = [(r["name"] or r["username"] or "—", r["total"], int(r["complete"] or 0))
              for r in (scope.select(Owner.display_name.alias("name"),
                                     Owner.username.alias("username"),
                                     fn.COUNT(Customer.id).alias("total"),
                                     _count(_complete()).alias("complete"))
                        .join(Owner, JOIN.LEFT_OUTER, on=(Customer.owner == Owner.id))
                        .group_by(Owner.id, Owner.display_name, Owner.username)
                        .order_by(fn.COUNT(Customer.id).desc()).dicts())]
    return Report(int(row["total"] or 0), int(row["complete"] or 0), fields, owners)


def incomplete(scope, page: int = 1, per_page: int = 50) -> tuple[list, int]:
    """The incomplete customers (oldest first), each with the names of its missing required
    fields; and how many there are."""
    query = scope.where(~_complete())
    total = query.count()
    checks = [(name, filled().alias("c_" + name)) for name, (_l_, filled) in REQUIRED.items()]
    rows = []
    for c in (query.select_extend(*[expr for _n, expr in checks])
              .order_by(Customer.created_at, Customer.id).paginate(page, per_page)):
        missing = [REQUIRED[name][0] for name, _e in checks if not getattr(c, "c_" + name)]
        rows.append((c, missing))
    return rows, total
