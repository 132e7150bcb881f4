"""The needs register's pages: the list (with the monthly review), a need, new needs from the
customer page, and the analysis across customers with its XLSX export.

Every need is reached through its customer's scope (``services.need_for`` starts from
``crm.access.scoped_customers``): a need of a customer the user does not see is a 404.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_babel import get_timezone
from flask_login import current_user, login_required

from crm import access
from crm.customers.models import Contact
from crm.web.htmx import render, see_other

from . import forms, services
from .models import KINDS, STATUSES, TYPES, Need

bp = Blueprint("needs", __name__, url_prefix="/needs", template_folder="templates")


@bp.before_request
@login_required
def _signed_in():
    return None


def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(str(get_timezone()))).date()


def _page(template, partials=None, status=200, **context):
    return render(template, partials, status=status, priority=services.priority,
                  next_steps=services.NEXT, **forms.labels(), **context)


def _need_or_404(need_id: int) -> Need:
    access.require(current_user, "needs.view")
    need = services.need_for(current_user, need_id)
    if need is None:
        abort(404)
    return need


def _filters() -> services.Filters:
    args = request.args
    pick = lambda name, allowed: args.get(name, "") if args.get(name, "") in allowed else ""  # noqa
    return services.Filters(
        status=pick("status", STATUSES + ("unresolved",)), type=pick("type", TYPES),
        kind=pick("kind", KINDS), priority=pick("priority", ("high", "medium", "low")),
        review=args.get("review") == "1", customer=args.get("customer", type=int),
        q=args.get("q", "").strip()[:50], page=max(1, args.get("page", 1, type=int) or 1))


def _contacts(customer_id):
    rows = Contact.select(Contact.id, Contact.name).where(Contact.customer == customer_id)
    return [("", "—")] + [(str(c.id), c.name) for c in rows.order_by(Contact.name)]


def _data(form) -> dict:
    data = {k: getattr(form, k).data for k in services.NEED_FIELDS}
    data["contact"] = int(form.contact.data) if form.contact.data else None
    return data


# -- the list and the monthly review --------------------------------------------------------------

@bp.route("")
def index():
    access.require(current_user, "needs.view")
    filters = _filters()
    customer = (access.get_customer_or_404(current_user, filters.customer)
                if filters.customer else None)
    today = _today()
    result = services.search(current_user, filters, current_app.config["PAGE_SIZE"], today)
    return _page("needs/index.html", {"results": "needs/_results.html"}, filters=filters,
                 result=result, customer=customer, today=today,
                 due=services.review_due(current_user, today))


# -- one need ---------------------------------------------------------------------------------

@bp.route("/customers/<int:customer_id>/new", methods=["GET", "POST"])
def new(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "needs.edit", customer)
    if request.method == "GET":
        form = forms.NeedForm(formdata=None, data={
            "urgency": 3, "importance": 3,
            "customer_value": services.default_customer_value(customer),
            "kind": request.args.get("kind", "explicit") if request.args.get("kind") in KINDS
            else "explicit"})
    else:
        form = forms.NeedForm()
    form.contact.choices = _contacts(customer.id)
    if form.validate_on_submit():
        need = services.create_need(customer, current_user, _data(form), _today())
        flash(_("Need registered."), "success")
        return see_other(url_for("needs.need", need_id=need.id))
    return _page("needs/new.html", {"*": "needs/_form.html"},
                 status=422 if request.method == "POST" else 200, form=form, customer=customer,
                 need=None)


def _need_page(need, status=200, edit_form=None, status_form=None, review_form=None):
    customer = access.get_customer_or_404(current_user, need.customer_id)
    may_edit = access.can(current_user, "needs.edit", customer)
    if may_edit and edit_form is None:
        edit_form = forms.NeedForm(formdata=None, data={
            **{k: getattr(need, k) for k in services.NEED_FIELDS if k != "contact"},
            "contact": str(need.contact_id or ""), "version": need.version})
    if edit_form is not None:
        edit_form.contact.choices = _contacts(customer.id)
    contact = Contact.get_or_none(Contact.id == need.contact_id) if need.contact_id else None
    return _page("needs/need.html", status=status, need=need, customer=customer,
                 may_edit=may_edit, edit_form=edit_form, contact=contact,
                 status_form=status_form or forms.StatusForm(formdata=None),
                 review_form=review_form or forms.ReviewForm(formdata=None),
                 events=services.history(need), today=_today())


@bp.route("/<int:need_id>")
def need(need_id: int):
    return _need_page(_need_or_404(need_id))


def _editable(need_id: int) -> Need:
    need = _need_or_404(need_id)
    customer = access.get_customer_or_404(current_user, need.customer_id)
    access.require(current_user, "needs.edit", customer)
    return need


def _conflict(need_id: int):
    flash(_("Somebody changed this need meanwhile. Here is what it is now; please check and "
            "try again."), "error")
    return _need_page(Need.get_by_id(need_id), status=409)


@bp.route("/<int:need_id>/edit", methods=["POST"])
def edit(need_id: int):
    need = _editable(need_id)
    form = forms.NeedForm()
    form.contact.choices = _contacts(need.customer_id)
    if not form.validate_on_submit():
        return _need_page(need, status=422, edit_form=form)
    try:
        services.update_need(need.id, int(form.version.data or 0), current_user, _data(form))
    except services.Conflict:
        return _conflict(need.id)
    flash(_("Need saved."), "success")
    return see_other(url_for("needs.need", need_id=need.id))


@bp.route("/<int:need_id>/status", methods=["POST"])
def status(need_id: int):
    need = _editable(need_id)
    form = forms.StatusForm()
    if not form.validate_on_submit() or form.status.data not in STATUSES:
        return _need_page(need, status=422, status_form=form)
    try:
        services.change_status(need.id, form.version.data, current_user, form.status.data,
                               form.note.data or "", _today())
    except services.Conflict:
        return _conflict(need.id)
    flash(_("Status changed."), "success")
    return see_other(url_for("needs.need", need_id=need.id))


@bp.route("/<int:need_id>/review", methods=["POST"])
def review(need_id: int):
    need = _editable(need_id)
    form = forms.ReviewForm()
    if not form.validate_on_submit():
        return _need_page(need, status=422, review_form=form)
    try:
        services.review(need.id, form.version.data, current_user, form.note.data or "",
                        _today())
    except services.Conflict:
        return _conflict(need.id)
    flash(_("Reviewed: it comes back next month unless it is resolved."), "success")
    back = url_for("needs.index", review="1") if request.form.get("from") == "review" \
        else url_for("needs.need", need_id=need.id)
    return see_other(back)


# -- across customers ---------------------------------------------------------------------------

@bp.route("/analysis")
def analysis():
    access.require(current_user, "needs.analysis")
    filters = _filters()
    data = services.analysis(current_user, filters, _today())
    return _page("needs/analysis.html", {"analysis": "needs/_analysis.html"}, data=data,
                 filters=filters)


@bp.route("/analysis.xlsx")
def export():
    access.require(current_user, "needs.analysis")
    filters = _filters()
    labels = {"type": forms.TYPE_LABELS, "kind": forms.KIND_LABELS,
              "priority": forms.PRIORITY_LABELS, "status": forms.STATUS_LABELS}
    headers = {"number": _("Customer number"), "customer": _("Customer"),
               "contact": _("Contact"), "type": _("Type"), "kind": _("Kind"),
               "title": _("Need"), "statement": _("In the customer’s words"),
               "situation": _("Situation"), "evidence": _("Evidence"), "urgency": _("Urgency"),
               "importance": _("Importance"), "customer_value": _("Customer value"),
               "score": _("Score"), "priority": _("Priority"), "status": _("Status"),
               "created": _("Registered"), "next_review": _("Next review"),
               "summary": _("Summary by type"), "total": _("Total"), "needs": _("Needs"),
               "customers": _("Customers")}
    title = _("Customer needs analysis")
    body = services.export_xlsx(current_user, filters, _today(), labels, headers, title)
    response = make_response(body)
    response.mimetype = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    filename = f"customer-needs-{_today().isoformat()}.xlsx"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
