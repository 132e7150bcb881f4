"""Routes of the duplicate finder and of merging (they hang on the customers blueprint)."""
from __future__ import annotations

import json

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm import access
from crm.accounts.models import User
from crm.customers import merge as merging
from crm.customers.models import Customer, CustomerMerge
from crm.customers.views import bp
from crm.web.htmx import render, see_other


@bp.route("/duplicate-pairs")
def duplicate_pairs():
    access.require(current_user, "customer.merge")
    pairs = merging.duplicate_pairs(access.scoped_customers(current_user))
    return render("customers/duplicate_pairs.html", pairs=pairs)


def _field_rows(a: Customer, b: Customer) -> list:
    owners = {u.id: u.name for u in User.select().where(User.id.in_(
        [i for i in (a.owner_id, b.owner_id) if i]))}
    rows = []
    for name in merging.MERGEABLE:
        attr = name + "_id" if name == "owner" else name
        va, vb = getattr(a, attr), getattr(b, attr)
        if name == "owner":
            va, vb = owners.get(va, ""), owners.get(vb, "")
        rows.append((name, va, vb, va != vb))
    return rows


@bp.route("/merge", methods=["GET", "POST"])
def merge():
    """Compare two customers field by field, pick the values to keep, merge into the first."""
    access.require(current_user, "customer.merge")
    source = request.form if request.method == "POST" else request.args
    a_id, b_id = source.get("a", type=int), source.get("b", type=int)
    if not a_id or not b_id:
        abort(404)
    a = access.get_customer_or_404(current_user, a_id)
    b = access.get_customer_or_404(current_user, b_id)
    error = None
    if request.method == "POST":
        # "keep": which record survives (its number stays); "f_<field>": "a" or "b", whose
        # value that field ends with
        keep = "b" if request.form.get("keep") == "b" else "a"
        winner, loser = (a, b) if keep == "a" else (b, a)
        lose = "b" if keep == "a" else "a"
        taken = [name for name in merging.MERGEABLE if request.form.get("f_" + name) == lose]
        try:
            record = merging.merge(winner, loser, taken, current_user)
        except merging.MergeError as exc:
            error = str(exc)
        else:
            flash(_("%(loser)s was merged into %(winner)s.", loser=loser.name, winner=winner.name),
                  "success")
            return see_other(url_for("customers.merge_review", merge_id=record.id))
    return render("customers/merge.html", a=a, b=b, rows=_field_rows(a, b), error=error,
                  status=422 if error else 200)


@bp.route("/merges")
def merges():
    access.require(current_user, "customer.merge")
    scope = access.scoped_customers(current_user, Customer.id)
    rows = list(CustomerMerge.select().where(CustomerMerge.winner.in_(scope))
                .order_by(CustomerMerge.at.desc()).limit(200))
    names = {c.id: (c.name, c.number) for c in Customer.select(Customer.id, Customer.name,
                                                                Customer.number)
             .where(Customer.id.in_([r.winner_id for r in rows] or [0]))}
    losers = {}
    for r in rows:
        before = json.loads(r.before)
        losers[r.id] = (before.get("loser_name", ""), before.get("loser_number", ""))
    return render("customers/merges.html", rows=rows, names=names, losers=losers)


@bp.route("/merges/<int:merge_id>")
def merge_review(merge_id: int):
    record = CustomerMerge.get_or_none(CustomerMerge.id == merge_id)
    if record is None:
        abort(404)
    winner = access.get_customer_or_404(current_user, record.winner_id)   # scope first: 404
    access.require(current_user, "customer.merge", winner)
    before = json.loads(record.before)
    loser = (before.get("loser_name", ""), before.get("loser_number", ""))
    taken = set(json.loads(record.taken))
    rows = [(name, before["winner"].get(name), before["loser"].get(name), name in taken)
            for name in merging.MERGEABLE
            if before["winner"].get(name) != before["loser"].get(name)]
    owner_ids = [v for _n, *values, _t in rows if _n == "owner" for v in values if v]
    owners = {u.id: u.name for u in User.select().where(User.id.in_(owner_ids or [0]))}
    rows = [(n, owners.get(k, k) if n == "owner" else k, owners.get(m, m) if n == "owner" else m, t)
            for n, k, m, t in rows]
    by = User.get_or_none(User.id == record.user_id) if record.user_id else None
    return render("customers/merge_review.html", record=record, winner=winner, loser=loser,
                  rows=rows, moved=json.loads(record.moved), by=by)
