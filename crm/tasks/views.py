"""Task pages: new and edit (on a customer or not), done and reopen (htmx swaps the row)."""
from __future__ import annotations


from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access
from crm.accounts.models import User
from crm.i18n import local_today
from crm.tasks import services
from crm.tasks.forms import TaskForm
from crm.tasks.models import Task
from crm.web.htmx import render, safe_next, see_other, wants_partial

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


@bp.before_request
@login_required
def _signed_in():
    pass


def assignable(user, customer=None) -> list[User]:
    """Whom ``user`` may give a task to: themselves; a manager also the active people of their
    departments, an admin anybody active.  On a customer, only people who can see it."""
    if not access.can(user, "task.assign"):
        return [user]
    query = User.select().where(User.is_active == True)  # noqa: E712
    if user.role != "admin":
        query = query.where(User.department.in_(access.department_subtree(user.department_id))
                            | (User.id == user.id))
    people = list(query.order_by(User.display_name, User.username))
    if customer is not None:
        from crm.customers.models import Customer
        people = [p for p in people if p.id == user.id or access.scoped_customers(p).where(
            Customer.id == customer.id).exists()]
    return people


def _owner_choices(form, people) -> None:
    form.owner.choices = [(p.id, p.name) for p in people]
    if form.owner.data is None:
        form.owner.data = current_user.id


def may_change(user, task: Task, customer=None) -> bool:
    """Who may edit, complete or reopen ``task`` (its customer, if any, already checked to be
    in ``user``'s scope): its owner and its creator; on a customer, whoever may edit that
    customer; a manager or admin, a task of somebody they may give tasks to."""
    if user.id in (task.owner_id, task.created_by_id):
        return True
    if customer is not None and access.can(user, "customer.edit", customer):
        return True
    return access.can(user, "task.assign") and \
        task.owner_id in {p.id for p in assignable(user)}


@bp.app_template_global("may_change_task")
def may_change_task(task: Task) -> bool:
    return may_change(current_user, task, getattr(task, "customer_row", None)
                      if task.customer_id else None)


def _get_task_or_404(task_id: int) -> Task:
    """The task, if ``may_change`` allows it; else 404 (a customer outside the scope too)."""
    task = Task.get_or_none(Task.id == task_id)
    if task is None:
        abort(404)
    customer = None
    if task.customer_id is not None:
        customer = access.get_customer_or_404(current_user, task.customer_id)
    if not may_change(current_user, task, customer):
        abort(404)
    return task


def _back(task: Task | None, customer=None) -> str:
    default = (url_for("customers.detail", customer_id=customer.id) + "#tasks"
               if customer is not None else url_for("activities.followups"))
    return safe_next(request.values.get("next"), default)


@bp.route("/new", methods=["GET", "POST"])
def new():
    customer = None
    if request.values.get("customer"):
        customer = access.get_customer_or_404(current_user,
                                              request.values.get("customer", type=int) or 0)
    form = TaskForm()
    _owner_choices(form, assignable(current_user, customer))
    if form.validate_on_submit():
        task = services.create_task(form.title.data, form.owner.data, due_on=form.due_on.data,
                                    customer=customer, notes=form.notes.data or "",
                                    created_by=current_user)
        flash(_("Task saved."), "success")
        return see_other(_back(task, customer))
    if request.method == "GET" and request.args.get("due") == "today":
        form.due_on.data = local_today()
    return render("tasks/form.html", {"*": "tasks/_form.html"}, form=form, customer=customer,
                  task=None, status=422 if form.errors else 200)


@bp.route("/<int:task_id>/edit", methods=["GET", "POST"])
def edit(task_id: int):
    task = _get_task_or_404(task_id)
    customer = task.customer if task.customer_id else None
    form = TaskForm(obj=task if request.method == "GET" else None)
    if request.method == "GET":
        form.owner.data = task.owner_id
    people = assignable(current_user, customer)
    if task.owner_id and task.owner_id not in {p.id for p in people}:
        people.append(task.owner)            # keep the present owner selectable
    _owner_choices(form, people)
    if form.validate_on_submit():
        services.update_task(task, {"title": form.title.data.strip(), "due_on": form.due_on.data,
                                    "owner": form.owner.data, "notes": form.notes.data or ""},
                             current_user)
        flash(_("Task saved."), "success")
        return see_other(_back(task, customer))
    return render("tasks/form.html", {"*": "tasks/_form.html"}, form=form, customer=customer,
                  task=task, status=422 if form.errors else 200)


@bp.route("/<int:task_id>/done", methods=["POST"])
def done(task_id: int):
    task = _get_task_or_404(task_id)
    services.complete_task(task, current_user)
    if wants_partial():
        return render("tasks/_done.html", task=Task.get_by_id(task.id), back=_back(task))
    flash(_("Task done."), "success")
    return see_other(_back(task))


@bp.route("/<int:task_id>/reopen", methods=["POST"])
def reopen(task_id: int):
    task = _get_task_or_404(task_id)
    services.reopen_task(task, current_user)
    flash(_("Task reopened."), "success")
    return see_other(_back(task))
