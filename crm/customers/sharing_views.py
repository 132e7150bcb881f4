"""Routes for who sees a customer: reveal a masked value, share and unshare, reassign in bulk.

They hang on the customers blueprint (``customers.reveal`` ...); crm/__init__.py imports this
module before registering it.
"""
from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from crm import access
from crm.accounts.models import Department, User
from crm.customers import masking, sharing
from crm.customers.models import Contact, Customer
from crm.customers.views import bp
from crm.web.htmx import render, safe_next, see_other, wants_partial

@bp.route("/<int:customer_id>/reveal", methods=["POST"])
def reveal(customer_id: int):
    """One masked value in full, audited, in this response only (no-store)."""
    customer = access.get_customer_or_404(current_user, customer_id)
    field = request.form.get("field", "")
    contact = None
    if request.form.get("contact"):
        contact = Contact.get_or_none((Contact.id == request.form.get("contact", type=int))
                                      & (Contact.customer == customer.id))
        if contact is None:
            abort(404)
        if field not in masking.CONTACT_FIELDS:
            abort(400)
    elif field not in masking.CUSTOMER_FIELDS:
        abort(400)
    if masking.mode(current_user, customer) == "masked":
        abort(403)
    value = masking.display(field, masking.reveal(current_user, customer, field, contact))
    span_id = f"rv-{customer.id}-" + (f"c{contact.id}-" if contact else "") + field
    labels = {"phone": _("Phone"), "mobile": _("Mobile"), "email": _("E-mail"),
              "wechat": _("WeChat ID")}
    response = render("customers/revealed.html", {"*": "customers/_revealed.html"},
                      customer=customer, contact=contact, value=value, span_id=span_id,
                      label=labels[field])
    response.headers["Cache-Control"] = "no-store"
    return response


# -- sharing --------------------------------------------------------------------------------------

def share_targets(customer) -> tuple[list, list]:
    """People (sales and managers: the others see every customer anyway) and departments that
    ``customer`` may be shared with."""
    users = list(User.select().where((User.is_active == True)  # noqa: E712
                                     & User.role.in_(("sales", "manager"))
                                     & (User.id != (customer.owner_id or 0)))
                 .order_by(User.username))
    departments = list(Department.select().order_by(Department.name))
    return users, departments


def _may_share(customer) -> bool:
    return (access.can(current_user, "customer.share", customer)
            and access.can(current_user, "customer.edit", customer))


@bp.route("/<int:customer_id>/shares", methods=["GET", "POST"])
def shares(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    may_share = _may_share(customer)
    error = None
    if request.method == "POST":
        if not may_share:
            abort(403)
        target = request.form.get("target", "")
        kind, _sep, raw_id = target.partition(":")
        try:
            target_id = int(raw_id)
        except ValueError:
            target_id = 0
        try:
            row = sharing.share(customer, current_user,
                                user_id=target_id if kind == "u" else None,
                                department_id=target_id if kind == "d" else None)
        except sharing.SharingError as exc:
            error = str(exc)
        else:
            if not wants_partial():
                flash(_("Shared.") if row else _("It was already shared so."), "success")
                return see_other(url_for("customers.detail", customer_id=customer.id) + "#sharing")
    users, departments = share_targets(customer) if may_share else ([], [])
    return render("customers/shares.html", {"*": "customers/_shares.html"},
                  customer=customer, shares=sharing.shares(customer), may_share=may_share,
                  users=users, departments=departments, error=error,
                  status=422 if error else 200)


@bp.route("/<int:customer_id>/shares/<int:share_id>/delete", methods=["POST"])
def unshare(customer_id: int, share_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    if not _may_share(customer):
        abort(403)
    if not sharing.unshare(customer, current_user, share_id):
        abort(404)
    if wants_partial():
        users, departments = share_targets(customer)
        return render("customers/_shares.html", customer=customer, may_share=True,
                      shares=sharing.shares(customer), users=users, departments=departments,
                      error=None)
    flash(_("No longer shared."), "success")
    return see_other(url_for("customers.detail", customer_id=customer.id) + "#sharing")


# -- bulk reassignment ----------------------------------------------------------------------------

@bp.route("/reassign", methods=["GET", "POST"])
def reassign():
    """Give customers to another owner: the ones ticked in the list (``ids``), or every
    customer of one person (``from_owner``: a rep leaves)."""
    access.require(current_user, "customer.reassign")
    candidates = sharing.owner_candidates(current_user)
    error = None
    if request.method == "POST":
        ids = request.form.getlist("ids")
        from_owner = request.form.get("from_owner", type=int)
        try:
            result = sharing.reassign(
                current_user, request.form.get("owner", type=int) or 0,
                customer_ids=[i for i in ids if i.isdigit()] if ids else None,
                from_owner_id=from_owner if not ids else None)
        except sharing.SharingError as exc:
            error = str(exc)
        else:
            message = ngettext("%(num)s customer reassigned.", "%(num)s customers reassigned.",
                               result.moved)
            if result.skipped:
                message += " " + ngettext(
                    "%(num)s skipped (already with that owner, or not yours to move).",
                    "%(num)s skipped (already with that owner, or not yours to move).",
                    result.skipped)
            flash(message, "success")
            return see_other(safe_next(request.form.get("back"), url_for("customers.index")))
    # the people whose customers this user may move (a rep who left included)
    owners = list(User.select().where(User.id.in_(
        access.scoped_customers(current_user, Customer.owner).where(Customer.owner.is_null(False))))
        .order_by(User.username))
    return render("customers/reassign.html", candidates=candidates, owners=owners, error=error,
                  status=422 if error else 200)
