"""Logging activities from the customer page, the timeline, and "my tasks" (the follow-ups
set when logging an activity, with the tasks of crm/tasks)."""
from __future__ import annotations


from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access
from crm.activities import queries, services
from crm.activities.forms import ActivityForm
from crm.activities.models import Activity
from crm.customers.models import Contact
from crm.i18n import local_today
from crm.tasks import services as task_services
from crm.web.htmx import render, safe_next, see_other, wants_partial

bp = Blueprint("activities", __name__)


@bp.before_request
@login_required
def _signed_in():
    return None


@bp.route("/customers/<int:customer_id>/activities", methods=["GET", "POST"])
def customer_activities(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    if request.method == "GET":   # the timeline, page by page ("load more")
        page = max(1, request.args.get("page", 1, type=int))
        return render("activities/timeline.html", {"*": "activities/_timeline_items.html"},
                      customer=customer, timeline=queries.timeline(customer, page))
    access.require(current_user, "activity.log", customer)
    form = ActivityForm()
    contacts = list(Contact.select(Contact.id, Contact.name).where(Contact.customer == customer.id))
    form.contact.choices = [("", "—")] + [(str(c.id), c.name) for c in contacts]
    if form.validate_on_submit():
        contact_id = int(form.contact.data) if (form.contact.data or "").isdigit() else None
        if contact_id and contact_id not in {c.id for c in contacts}:
            abort(404)
        occurred = services.to_utc(form.occurred_at.data, str(get_timezone()))
        activity = services.log_activity(customer, current_user, form.kind.data,
                                         form.summary.data, occurred, form.outcome.data,
                                         contact_id, form.next_followup_on.data)
        if wants_partial():
            fresh = ActivityForm(formdata=None)
            fresh.contact.choices = form.contact.choices
            return render("activities/_logged.html", form=fresh, customer=customer,
                          items=queries.timeline_item(customer, activity.id),
                          customer_refreshed=customer.__class__.get_by_id(customer.id))
        flash(_("Activity logged."), "success")
        return see_other(url_for("customers.detail", customer_id=customer.id) + "#timeline")
    return render("activities/log.html", {"*": "activities/_form.html"}, form=form,
                  customer=customer, status=422)


@bp.route("/followups")
def followups():
    default = current_app.config["FOLLOWUP_STALE_DAYS"]
    days = request.args.get("days", default, type=int)
    days = days if days and 0 < days <= 3650 else default
    scope = access.scoped_customers(current_user)
    today = local_today()
    data = queries.followups(current_user, scope, today, days)
    tasks = task_services.open_tasks(current_user, scope)
    grouped = {"overdue": [], "today": [], "later": []}
    for task in tasks:
        when = ("later" if task.due_on is None or task.due_on > today
                else "today" if task.due_on == today else "overdue")
        grouped[when].append(task)
    return render("activities/followups.html", {"*": "activities/_followups.html"},
                  data=data, tasks=grouped, today=today)


@bp.route("/activities/<int:activity_id>/done", methods=["POST"])
def done(activity_id: int):
    activity = Activity.get_or_none(Activity.id == activity_id)
    if activity is None:
        abort(404)
    access.get_customer_or_404(current_user, activity.customer_id)   # scope, 404 outside it
    if activity.user_id != current_user.id and current_user.role not in ("admin", "manager"):
        abort(404)
    services.complete_followup(activity)
    if wants_partial():
        return render("activities/_done.html", activity=activity)
    flash(_("Follow-up done."), "success")
    return see_other(safe_next(request.form.get("next"), url_for("activities.followups")))
