"""Administration: users, departments, plugins, the outbox and the audit log."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext, to_utc
from flask_login import current_user, login_required
from peewee import JOIN, fn

from crm import access
from crm.accounts import policy, sessions, throttle
from crm.accounts import services as accounts
from crm.accounts.models import Department, User
from crm.admin.forms import ROLE_LABELS, DepartmentForm, UserForm
from crm.audit import queries as audit_queries
from crm.audit import services as audit
from crm.audit.labels import ACTION_LABELS
from crm.db import database
from crm.events.models import OutboxEvent
from crm.events.services import retry_dead
from crm.plugins import host
from crm.web.htmx import htmx_target, render, see_other

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admin_only():
    permission = "audit.view" if request.endpoint == "admin.audit" else "user.manage"
    if not access.can(current_user, permission):
        abort(403)


def _department_choices():
    depts = list(Department.select().order_by(Department.name))
    by_parent: dict = {}
    for d in depts:
        by_parent.setdefault(d.parent_id, []).append(d)
    out = [(0, "—")]

    def walk(parent, depth):
        for d in by_parent.get(parent, []):
            out.append((d.id, "\u3000" * depth + d.name))
            walk(d.id, depth + 1)
    walk(None, 0)
    return out


@bp.route("/users")
def users():
    rows = list(User.select(User, Department).join(Department, on=(User.department == Department.id),
                                                   join_type=JOIN.LEFT_OUTER, attr="dept")
                .order_by(User.username))
    return render("admin/users.html", rows=rows, roles=ROLE_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_form(user_id: int | None = None):
    user = None
    if user_id is not None:
        user = User.get_or_none(User.id == user_id)
        if user is None:
            abort(404)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    form.department.choices = _department_choices()
    form.password.description = (
        (_("Leave empty to keep the current password.") + " " if user else "") + policy.hint()
        + " " + _("The user chooses a new one at the next sign-in."))
    if request.method == "GET" and user is not None:
        form.department.data = user.department_id or 0
    if form.validate_on_submit():
        dept = Department.get_or_none(Department.id == form.department.data)
        weak = policy.problems(form.password.data, form.username.data) \
            if form.password.data else []
        form.password.errors.extend(weak)
        if user is None:
            if not form.password.data:
                form.password.errors.append(_("A new user needs a password."))
            elif User.select().where(User.username == form.username.data.strip()).exists():
                form.username.errors.append(_("This username is taken."))
            elif not weak:
                with database.atomic():
                    # an administrator knows this password: the user replaces it at once
                    created = accounts.create_user(form.username.data, form.password.data,
                                                   form.role.data, form.display_name.data, dept,
                                                   form.locale.data, must_change_password=True)
                    created.is_active = form.is_active.data
                    created.save(only=[User.is_active])
                    audit.record("user_created", current_user, "user", created.id,
                                 [("role", "", created.role)])
                flash(_("User %(name)s created.", name=created.username), "success")
                return see_other(url_for("admin.users"))
        else:
            if user.id == current_user.id and (form.role.data != "admin" or not form.is_active.data):
                form.role.errors.append(_("You cannot remove your own administrator access."))
            elif User.select().where((User.username == form.username.data) &
                                     (User.id != user.id)).exists():
                form.username.errors.append(_("This username is taken."))
            elif not weak:
                with database.atomic():
                    _save_user(user, form, dept)
                flash(_("User %(name)s saved.", name=user.username), "success")
                return see_other(url_for("admin.users"))
    status = 422 if request.method == "POST" else 200
    return render("admin/user_form.html", {"*": "admin/_user_form.html"}, form=form, user=user,
                  status=status)


def _save_user(user: User, form: UserForm, dept: Department | None) -> None:
    """Apply the admin's form; role, department, active flag, username and a password set by the
    administrator are audited (permission changes), field by field."""
    old_dept = Department.get_or_none(Department.id == user.department_id) \
        if user.department_id else None
    changes = [(name, old, new) for name, old, new in (
        ("username", user.username, form.username.data),
        ("role", user.role, form.role.data),
        ("department", old_dept.name if old_dept else "", dept.name if dept else ""),
        ("is_active", user.is_active, form.is_active.data)) if old != new]
    user.username = form.username.data
    user.display_name = form.display_name.data or ""
    user.role = form.role.data
    user.department = dept
    user.locale = form.locale.data
    user.is_active = form.is_active.data
    user.save()
    if form.password.data:
        # the user's sessions end, and they choose their own password at the next sign-in
        # (an administrator typing their own new password here keeps it, and their session)
        own = user.id == current_user.id
        accounts.set_password(user, form.password.data, must_change=not own)
        if own:
            sessions.renew(user)
        throttle.clear_account(user.username)
        changes.append(("password", "", "***"))
    if changes:
        audit.record("user_changed", current_user, "user", user.id, changes)


@bp.route("/audit")
def audit_log():
    """The audit log: newest first, filtered by action, user and dates, 50 rows a page."""
    filters = audit_queries.AuditFilters.from_args(request.args)
    page = audit_queries.audit_page(filters, to_utc=to_utc)
    context = dict(filters=filters, page=page, subjects=audit_queries.subject_names(page.rows))
    partials = {"audit-results": "admin/_audit_results.html"}
    if htmx_target() not in partials:   # the whole page: the filter form and its choices
        actions = set(audit_queries.actions_in_use()) | set(ACTION_LABELS)
        context["actions"] = sorted(actions, key=lambda a: str(ACTION_LABELS.get(a, a)))
        context["users"] = audit_queries.user_choices()
    return render("admin/audit.html", partials, **context)


@bp.route("/departments", methods=["GET", "POST"])
def departments():
    form = DepartmentForm()
    form.parent.choices = _department_choices()
    if form.validate_on_submit():
        Department.create(name=form.name.data.strip(), parent=form.parent.data or None)
        flash(_("Department created."), "success")
        return see_other(url_for("admin.departments"))
    counts = {d: n for d, n in User.select(User.department, fn.COUNT(User.id)).group_by(User.department)
              .tuples()}
    status = 422 if request.method == "POST" else 200
    return render("admin/departments.html", form=form, tree=_department_choices()[1:],
                  counts=counts, status=status)


@bp.route("/plugins")
def plugins():
    return render("admin/plugins.html", plugins=host().info(), failures=host().failures[-20:],
                  outbox=_outbox_counts())


def _outbox_counts():
    return {s: n for s, n in OutboxEvent.select(OutboxEvent.status, fn.COUNT(OutboxEvent.id))
            .group_by(OutboxEvent.status).tuples()}


@bp.route("/outbox/retry", methods=["POST"])
def outbox_retry():
    n = retry_dead()
    current_app.extensions["crm.tasks"]["dispatch_outbox"]()
    flash(ngettext("%(num)s event queued again.", "%(num)s events queued again.", n), "success")
    return see_other(url_for("admin.plugins"))
