"""The service desk's pages: the ticket list, a ticket with its workflow, new tickets from the
customer page, the complaint analysis, and the SLA and calendar settings.

Every ticket is reached through its customer's scope (``services.ticket_for`` starts from
``crm.access.scoped_customers``): a ticket of a customer the user does not see is a 404.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from crm import access
from crm.customers.models import Contact
from crm.purchases.models import Product
from crm.web.htmx import render, see_other, wants_partial

from . import forms, services
from .models import OPEN_STATUSES, PRIORITIES, STATUSES, TYPES, Ticket

bp = Blueprint("service", __name__, url_prefix="/service", template_folder="templates")


@bp.before_request
@login_required
def _signed_in():
    return None


def _settings() -> services.Settings:
    return services.Settings.from_config(current_app.config)


def _page(template, partials=None, status=200, **context):
    return render(template, partials, status=status, **forms.labels(), **context)


def _ticket_or_404(ticket_id: int) -> Ticket:
    access.require(current_user, "service.view")
    ticket = services.ticket_for(current_user, ticket_id)
    if ticket is None:
        abort(404)
    return ticket


def _contact_choices(customer_id):
    rows = Contact.select(Contact.id, Contact.name).where(Contact.customer == customer_id)
    return [("", "—")] + [(str(c.id), c.name) for c in rows.order_by(Contact.name)]


def _product_choices():
    rows = Product.select(Product.id, Product.name).where(Product.active == True)  # noqa: E712
    return [("", "—")] + [(str(p.id), p.name) for p in rows.order_by(Product.name)]


def _assignee_choices():
    return [("", "—")] + [(str(u.id), u.name) for u in services.handlers()]


def _int_or_none(value):
    return int(value) if value and str(value).isdigit() else None


# -- the list -------------------------------------------------------------------------------------

def _filters() -> services.Filters:
    args = request.args
    choice = lambda name, allowed: args.get(name, "") if args.get(name, "") in allowed else ""  # noqa
    assignee = args.get("assignee", "")
    return services.Filters(
        status=choice("status", STATUSES + ("open",)), type=choice("type", TYPES),
        priority=choice("priority", PRIORITIES),
        assignee=assignee if assignee in ("me", "none") or assignee.isdigit() else "",
        sla=choice("sla", ("at_risk", "breached")), escalated=args.get("escalated") == "me",
        customer=args.get("customer", type=int), q=args.get("q", "").strip()[:50],
        page=max(1, args.get("page", 1, type=int) or 1))


@bp.route("/tickets")
def tickets():
    access.require(current_user, "service.view")
    filters = _filters()
    result = services.search(current_user, filters, current_app.config["PAGE_SIZE"])
    customer = (access.get_customer_or_404(current_user, filters.customer)
                if filters.customer else None)
    return _page("service/tickets.html", {"results": "service/_results.html"},
                 filters=filters, result=result, customer=customer,
                 assignees=services.handlers(), sla_state=services.sla_state)


# -- a new ticket -----------------------------------------------------------------------------

@bp.route("/customers/<int:customer_id>/tickets/new", methods=["GET", "POST"])
def new_ticket(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "service.create", customer)
    form = forms.TicketForm()
    form.contact.choices = _contact_choices(customer.id)
    form.product.choices = _product_choices()
    may_assign = access.can(current_user, "service.handle", customer)
    if may_assign:
        form.assignee.choices = _assignee_choices()
    else:
        del form.assignee            # whatever is posted for it is ignored
    if request.method == "GET":
        form.contact.data = request.args.get("contact", "")
    if form.validate_on_submit():
        data = {k: getattr(form, k).data for k in services.TICKET_FIELDS}
        data["contact"] = _int_or_none(form.contact.data)
        data["product"] = _int_or_none(form.product.data)
        data["assignee"] = _int_or_none(form.assignee.data) if may_assign else None
        ticket = services.create_ticket(customer, current_user, data, _settings())
        flash(_("Ticket %(number)s opened.", number=ticket.number), "success")
        if access.can(current_user, "service.view", customer):
            return see_other(url_for("service.ticket", ticket_id=ticket.id))
        return see_other(url_for("customers.detail", customer_id=customer.id))
    status = 422 if request.method == "POST" else 200
    return _page("service/new.html", {"*": "service/_new_form.html"}, status=status,
                 form=form, customer=customer, may_assign=may_assign)


# -- one ticket and its workflow ------------------------------------------------------------------

def _ticket_page(ticket, status=200, **overrides):
    customer = access.get_customer_or_404(current_user, ticket.customer_id)
    handle = access.can(current_user, "service.handle", customer)
    action_forms = {
        "assign": forms.AssignForm(formdata=None, version=ticket.version,
                                   assignee=str(ticket.assignee_id or "")),
        "start": forms.VersionForm(formdata=None, version=ticket.version),
        "resolve": forms.ResolveForm(formdata=None, version=ticket.version,
                                     resolution=ticket.resolution, cause=ticket.cause,
                                     ticket_type=ticket.type),
        "close": forms.CloseForm(formdata=None, version=ticket.version,
                                 resolution=ticket.resolution),
        "reopen": forms.ReopenForm(formdata=None, version=ticket.version),
        "comment": forms.CommentForm(formdata=None),
    }
    action_forms.update(overrides)
    action_forms["assign"].assignee.choices = _assignee_choices()
    edit_form = overrides.get("edit")
    if edit_form is None and handle:
        edit_form = _edit_form(ticket, formdata=None)
    from crm.accounts.models import User
    people = {u.id: u.name for u in User.select(User.id, User.display_name, User.username)
              .where(User.id.in_([i for i in (ticket.assignee_id, ticket.created_by_id,
                                              ticket.escalated_to_id, ticket.followup_by_id)
                                  if i]))}
    product = Product.get_or_none(Product.id == ticket.product_id) if ticket.product_id else None
    contact = Contact.get_or_none(Contact.id == ticket.contact_id) if ticket.contact_id else None
    return _page("service/ticket.html", {"ticket-events": "service/_events.html"},
                 status=status, ticket=ticket, customer=customer, handle=handle,
                 f=action_forms, edit_form=edit_form, people=people, product=product,
                 contact=contact, events=services.history(ticket),
                 sla=services.sla_state(ticket), open_statuses=OPEN_STATUSES)


def _edit_form(ticket, formdata=None):
    """The description form: the ticket's values, or (``formdata``) what was posted."""
    if formdata is None:
        form = forms.TicketForm(formdata=None, data={
            "type": ticket.type, "channel": ticket.channel, "priority": ticket.priority,
            "subject": ticket.subject, "content": ticket.content,
            "contact": str(ticket.contact_id or ""), "product": str(ticket.product_id or ""),
            "version": ticket.version})
    else:
        form = forms.TicketForm(formdata=formdata)
    form.contact.choices = _contact_choices(ticket.customer_id)
    form.product.choices = _product_choices()
    return form


@bp.route("/tickets/<int:ticket_id>")
def ticket(ticket_id: int):
    return _ticket_page(_ticket_or_404(ticket_id))


def _handled(ticket_id: int) -> Ticket:
    ticket = _ticket_or_404(ticket_id)
    customer = access.get_customer_or_404(current_user, ticket.customer_id)
    access.require(current_user, "service.handle", customer)
    return ticket


def _conflict(ticket_id: int):
    flash(_("Somebody changed this ticket meanwhile. Here is what it is now; please check "
            "and try again."), "error")
    return _ticket_page(Ticket.get_by_id(ticket_id), status=409)


def _done(ticket, message):
    flash(message, "success")
    return see_other(url_for("service.ticket", ticket_id=ticket.id))


@bp.route("/tickets/<int:ticket_id>/edit", methods=["POST"])
def edit(ticket_id: int):
    ticket = _handled(ticket_id)
    form = _edit_form(ticket, formdata=request.form)
    form.assignee.choices = [("", "—")]
    form.assignee.data = ""
    if not form.validate_on_submit():
        return _ticket_page(ticket, status=422, edit=form)
    data = {k: getattr(form, k).data for k in services.TICKET_FIELDS}
    data["contact"] = _int_or_none(form.contact.data)
    data["product"] = _int_or_none(form.product.data)
    try:
        services.edit(ticket.id, int(form.version.data or 0), current_user, data, _settings())
    except services.Conflict:
        return _conflict(ticket.id)
    return _done(ticket, _("Ticket saved."))


@bp.route("/tickets/<int:ticket_id>/assign", methods=["POST"])
def assign(ticket_id: int):
    ticket = _handled(ticket_id)
    form = forms.AssignForm()
    form.assignee.choices = _assignee_choices()
    if not form.validate_on_submit():
        return _ticket_page(ticket, status=422, assign=form)
    try:
        services.assign(ticket.id, form.version.data, current_user, int(form.assignee.data))
    except services.Conflict:
        return _conflict(ticket.id)
    return _done(ticket, _("Ticket assigned."))


@bp.route("/tickets/<int:ticket_id>/start", methods=["POST"])
def start(ticket_id: int):
    ticket = _handled(ticket_id)
    form = forms.VersionForm()
    if not form.validate_on_submit():
        return _ticket_page(ticket, status=422, start=form)
    try:
        services.start(ticket.id, form.version.data, current_user)
    except services.Conflict:
        return _conflict(ticket.id)
    return _done(ticket, _("Work on the ticket has started."))


@bp.route("/tickets/<int:ticket_id>/resolve", methods=["POST"])
def resolve(ticket_id: int):
    ticket = _handled(ticket_id)
    form = forms.ResolveForm()
    form.ticket_type.data = ticket.type
    if not form.validate_on_submit():
        return _ticket_page(ticket, status=422, resolve=form)
    try:
        services.resolve(ticket.id, form.version.data, current_user, form.resolution.data,
                         form.cause.data)
    except services.Conflict:
        return _conflict(ticket.id)
    return _done(ticket, _("Ticket resolved. Close it after the follow-up with the customer."))


@bp.route("/tickets/<int:ticket_id>/close", methods=["POST"])
def close(ticket_id: int):
    ticket = _handled(ticket_id)
    form = forms.CloseForm()
    if not form.validate_on_submit():
        return _ticket_page(ticket, status=422, close=form)
    try:
        services.close(ticket.id, form.version.data, current_user, form.resolution.data,
                       form.followup_channel.data, form.followup_note.data,
                       form.satisfaction.data)
    except services.Conflict:
        return _conflict(ticket.id)
    return _done(ticket, _("Ticket closed."))


@bp.route("/tickets/<int:ticket_id>/reopen", methods=["POST"])
def reopen(ticket_id: int):
    ticket = _handled(ticket_id)
    form = forms.ReopenForm()
    if not form.validate_on_submit():
        return _ticket_page(ticket, status=422, reopen=form)
    try:
        services.reopen(ticket.id, form.version.data, current_user, form.reason.data,
                        _settings())
    except services.Conflict:
        return _conflict(ticket.id)
    return _done(ticket, _("Ticket reopened."))


@bp.route("/tickets/<int:ticket_id>/comments", methods=["POST"])
def comment(ticket_id: int):
    ticket = _ticket_or_404(ticket_id)
    customer = access.get_customer_or_404(current_user, ticket.customer_id)
    form = forms.CommentForm()
    if not form.validate_on_submit():
        if wants_partial():
            return _page("service/_events.html", status=422, ticket=ticket,
                         events=services.history(ticket), f={"comment": form})
        return _ticket_page(ticket, status=422, comment=form)
    services.comment(ticket.id, current_user, form.note.data,
                     access.can(current_user, "service.handle", customer))
    if wants_partial():
        return _page("service/_events.html", ticket=ticket, events=services.history(ticket),
                     f={"comment": forms.CommentForm(formdata=None)})
    return _done(ticket, _("Note added."))


# -- complaint analysis ---------------------------------------------------------------------------

@bp.route("/analysis")
def analysis():
    access.require(current_user, "service.analysis")
    months = request.args.get("months", 6, type=int)
    months = months if months in (3, 6, 12, 24) else 6
    data = services.analysis(current_user, months, _settings().timezone)
    return _page("service/analysis.html", {"*": "service/_analysis.html"}, data=data,
                 months=months, csat=services.csat(current_user, 30 * months))


# -- settings: SLA targets and the calendar -------------------------------------------------------

def _sla_form_class():
    class SlaForm(FlaskForm):
        pass
    for ticket_type in TYPES:
        for priority in PRIORITIES:
            setattr(SlaForm, f"response_{ticket_type}_{priority}",
                    forms.sla_hours_field(_("First response (hours)")))
            setattr(SlaForm, f"resolve_{ticket_type}_{priority}",
                    forms.sla_hours_field(_("Resolution (hours)")))
    return SlaForm


@bp.route("/settings/sla", methods=["GET", "POST"])
def sla():
    access.require(current_user, "service.admin")
    table = services.sla_table()
    initial = {}
    for (ticket_type, priority), (response, resolve) in table.items():
        initial[f"response_{ticket_type}_{priority}"] = response
        initial[f"resolve_{ticket_type}_{priority}"] = resolve
    form = _sla_form_class()(data=None if request.method == "POST" else initial)
    if form.validate_on_submit():
        values, valid = {}, True
        for ticket_type in TYPES:
            for priority in PRIORITIES:
                response = form[f"response_{ticket_type}_{priority}"]
                resolve = form[f"resolve_{ticket_type}_{priority}"]
                if resolve.data < response.data:
                    resolve.errors = list(resolve.errors) + [
                        _("The resolution target cannot be shorter than the first response.")]
                    valid = False
                values[(ticket_type, priority)] = (response.data, resolve.data)
        if valid:
            services.save_sla_table(values)
            flash(_("SLA targets saved. They apply to tickets opened from now on."), "success")
            return see_other(url_for("service.sla"))
    status = 422 if request.method == "POST" else 200
    return _page("service/sla.html", status=status, form=form, types=TYPES,
                 priorities=PRIORITIES, settings=_settings())


@bp.route("/settings/calendar", methods=["GET", "POST"])
def calendar():
    access.require(current_user, "service.admin")
    form = forms.CalendarForm()
    if form.validate_on_submit():
        services.set_calendar_day(form.day.data, form.workday.data == "1", form.note.data or "")
        flash(_("Calendar saved."), "success")
        return see_other(url_for("service.calendar"))
    status = 422 if request.method == "POST" else 200
    from .workdays import statutory_label, statutory_workday
    return _page("service/calendar.html", status=status, form=form,
                 days=services.calendar_overrides(), statutory_workday=statutory_workday,
                 statutory_label=statutory_label)


@bp.route("/settings/calendar/delete", methods=["POST"])
def calendar_delete():
    access.require(current_user, "service.admin")
    form = forms.DeleteDayForm()
    if form.validate_on_submit():
        services.delete_calendar_day(form.day.data)
        flash(_("The override was removed: the official calendar applies to that day."),
              "success")
    return see_other(url_for("service.calendar"))
