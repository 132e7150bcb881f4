"""The community plugin's pages: the groups, a group (members, events, topics, figures), an
event (sign-up, check-in), a topic (replies, moderation), and a customer's groups.

Groups are the community's, seen by every user with ``community.view``; the customers in them
are seen only through ``crm.access.scoped_customers``: a page lists, names and lets one act on
only the customers the reader may see (a customer outside the scope in a URL is a 404).
Running a group (members, events, moderation) takes ``community.manage`` or being one of the
group's owners; creating, editing and archiving groups takes ``community.manage``.

Every form is a plain POST answered by a 303 (htmx: 204 with ``HX-Location``); bad input is
answered 422 with the form and its messages (htmx: the partial it targets).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access
from crm.accounts.models import User
from crm.customers.models import Customer
from crm.db import utcnow
from crm.web.htmx import render, see_other

from . import facts, forms, services
from .models import ROLES, CommunityEvent, CommunityGroup, CommunityReply, CommunityTopic

bp = Blueprint("community", __name__, url_prefix="/community", template_folder="templates")
VIEW, MANAGE = "community.view", "community.manage"
JOIN_PREFIX = "community"          # the customer page has forms of its own: unique ids


@bp.before_request
@login_required
def _signed_in():
    access.require(current_user, VIEW)
    return None


# -- helpers ------------------------------------------------------------------------------------

def _scope():
    return access.scoped_customers(current_user, Customer.id)


def _row_or_404(model, row_id: int):
    row = model.get_or_none(model.id == row_id)
    if row is None:
        abort(404)
    return row


def _group_or_404(group_id: int) -> CommunityGroup:
    return _row_or_404(CommunityGroup, group_id)


def may_run(group) -> bool:
    """Manage members and events, moderate topics: managers, and the group's owners."""
    return access.can(current_user, MANAGE) or services.is_owner(current_user, group.id)


def _require_run(group) -> None:
    if not may_run(group):
        abort(403)


def _event_or_404(event_id: int) -> CommunityEvent:
    return _row_or_404(CommunityEvent, event_id)


def _topic_or_404(topic_id: int) -> CommunityTopic:
    topic = CommunityTopic.get_or_none(CommunityTopic.id == topic_id)
    if topic is None or (topic.hidden and not may_run(_group_or_404(topic.group_id))):
        abort(404)
    return topic


def _attach(form, exc: services.CommunityError) -> None:
    """The refusal's message at its field, or at the top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors or []) + [exc.message]
    else:
        form.form_errors.append(exc.message)


def _customer_in_scope(value):
    """A customer id from a form, inside the reader's scope, else None."""
    try:
        customer_id = int(value or 0)
    except (TypeError, ValueError):
        return None
    if not customer_id:
        return None
    return access.scoped_customers(current_user).where(Customer.id == customer_id).first()


def _by_number(number: str, field: str = "number"):
    customer = services.customer_by_number(number, _scope())
    if customer is None:
        raise services.CommunityError(
            _("No customer with this number among the customers you may see."), field)
    return customer


def _to_utc(local: dt.datetime) -> dt.datetime:
    zone = ZoneInfo(str(get_timezone()))
    return local.replace(tzinfo=zone).astimezone(dt.timezone.utc).replace(tzinfo=None)


def _member_choices(group_id: int, blank: str | None = None, exclude=()) -> list:
    out = [("", blank)] if blank is not None else []
    for m in services.members(group_id, _scope()):
        if m.customer_id in exclude:
            continue
        label = m.customer.name
        if m.role == "representative":
            label = f"{label} ({forms.ROLE_LABELS['representative']})"
        out.append((str(m.customer_id), label))
    return out


def _page(template, partials=None, status=200, **context):
    return render(template, partials, status=status, **forms.labels(), **context)


# -- groups -------------------------------------------------------------------------------------

@bp.route("")
def index():
    archived = request.args.get("archived") == "1"
    return _page("community/index.html", {"community-groups": "community/_groups.html"},
                 groups=list(services.groups(include_archived=archived)), archived=archived,
                 may_manage=access.can(current_user, MANAGE))


def _owner_choices() -> list:
    users = (User.select(User.id, User.display_name, User.username)
             .where(User.is_active == True)  # noqa: E712
             .order_by(User.display_name, User.username))
    return [(u.id, u.name) for u in users]


@bp.route("/groups/new", methods=["GET", "POST"])
def new_group():
    access.require(current_user, MANAGE)
    form = forms.GroupForm() if request.method == "POST" else \
        forms.GroupForm(formdata=None, data={"owners": [current_user.id]})
    form.owners.choices = _owner_choices()
    if form.validate_on_submit():
        try:
            group = services.create_group(current_user, form.name.data, form.description.data,
                                          form.rules.data, form.owners.data or [])
        except services.CommunityError as exc:
            _attach(form, exc)
        else:
            flash(_("Group created."), "success")
            return see_other(url_for("community.group", group_id=group.id))
    return _page("community/group_form.html", {"*": "community/_group_form.html"},
                 status=422 if request.method == "POST" else 200, form=form, group=None)


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
def edit_group(group_id: int):
    group = _group_or_404(group_id)
    access.require(current_user, MANAGE)
    if request.method == "POST":
        form = forms.GroupForm()
    else:
        form = forms.GroupForm(formdata=None, data={
            "name": group.name, "description": group.description, "rules": group.rules,
            "owners": [u.id for u in services.owners(group.id)], "version": group.version})
    form.owners.choices = _owner_choices()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                services.update_group(group.id, int(form.version.data or 0), form.name.data,
                                      form.description.data, form.rules.data,
                                      form.owners.data or [])
            except services.Conflict as exc:
                _attach(form, exc)
                status, group = 409, CommunityGroup.get_by_id(group.id)
            except services.CommunityError as exc:
                _attach(form, exc)
            else:
                flash(_("Group saved."), "success")
                return see_other(url_for("community.group", group_id=group.id))
    return _page("community/group_form.html", {"*": "community/_group_form.html"},
                 status=status, form=form, group=group)


@bp.route("/groups/<int:group_id>/archive", methods=["POST"])
def archive(group_id: int):
    group = _group_or_404(group_id)
    access.require(current_user, MANAGE)
    services.archive_group(group.id, True)
    flash(_("Group archived: it is read-only now."), "success")
    return see_other(url_for("community.group", group_id=group.id))


@bp.route("/groups/<int:group_id>/restore", methods=["POST"])
def restore(group_id: int):
    group = _group_or_404(group_id)
    access.require(current_user, MANAGE)
    services.archive_group(group.id, False)
    flash(_("Group brought back from the archive."), "success")
    return see_other(url_for("community.group", group_id=group.id))


def _group_page(group, status=200, member_form=None):
    scope = _scope()
    running = may_run(group)
    members = services.members(group.id, scope, limit=500)
    topics = services.topics(group.id, include_hidden=running)
    owners = services.owners(group.id)
    return _page(
        "community/group.html", {"community-members": "community/_members.html",
                                 "community-events": "community/_events.html",
                                 "community-topics": "community/_topics.html"},
        status=status, group=group, owners=owners, may_run=running,
        may_manage=access.can(current_user, MANAGE), members=members,
        member_total=services.member_count(group.id),
        hidden_members=services.member_count(group.id) - services.member_count(group.id, scope),
        member_form=member_form or forms.MemberForm(formdata=None),
        role_form=forms.RoleForm(formdata=None),
        upcoming=services.upcoming_events(group.id), past=services.past_events(group.id),
        topics=topics, names=services.names([t.customer_id for t in topics], scope),
        authors=services.user_names([t.author_id for t in topics]),
        figures=facts.summary(customers=scope, group_ids=[group.id]))


@bp.route("/groups/<int:group_id>")
def group(group_id: int):
    return _group_page(_group_or_404(group_id))


# -- members --------------------------------------------------------------------------------------

def _today() -> dt.date:
    return dt.datetime.now(ZoneInfo(str(get_timezone()))).date()


@bp.route("/groups/<int:group_id>/members", methods=["POST"])
def add_member(group_id: int):
    group = _group_or_404(group_id)
    _require_run(group)
    form = forms.MemberForm()
    if form.validate_on_submit():
        try:
            customer = _by_number(form.number.data)
            services.add_member(group, customer, form.role.data, current_user, _today())
        except services.CommunityError as exc:
            _attach(form, exc)
        else:
            flash(_("%(name)s joined the group.", name=customer.name), "success")
            return see_other(url_for("community.group", group_id=group.id) + "#community-members")
    return _group_page(group, status=422, member_form=form)


@bp.route("/groups/<int:group_id>/members/<int:customer_id>/role", methods=["POST"])
def member_role(group_id: int, customer_id: int):
    group = _group_or_404(group_id)
    customer = access.get_customer_or_404(current_user, customer_id)
    _require_run(group)
    role = request.form.get("role", "")
    try:
        if role not in ROLES:
            raise services.CommunityError(_("Choose member or representative."))
        services.set_role(group, customer.id, role)
    except services.CommunityError as exc:
        flash(str(exc.message), "error")
        return _group_page(group, status=422)
    flash(_("Role changed."), "success")
    return see_other(url_for("community.group", group_id=group.id) + "#community-members")


@bp.route("/groups/<int:group_id>/members/<int:customer_id>/remove", methods=["POST"])
def remove_member(group_id: int, customer_id: int):
    group = _group_or_404(group_id)
    customer = access.get_customer_or_404(current_user, customer_id)
    _require_run(group)
    try:
        services.remove_member(group, customer.id)
    except services.CommunityError as exc:
        flash(str(exc.message), "error")
        return _group_page(group, status=422)
    flash(_("%(name)s left the group.", name=customer.name), "success")
    return see_other(url_for("community.group", group_id=group.id) + "#community-members")


# -- the customer's groups (the panel's form) -----------------------------------------------------

def _joinable(customer) -> list:
    """Open groups the user runs that the customer is not in yet."""
    have = {m.group_id for m in services.customer_groups(customer.id)}
    manage = access.can(current_user, MANAGE)
    owned = set() if manage else services.owned_group_ids(current_user)
    return [(g.id, g.name) for g in services.groups()
            if g.id not in have and (manage or g.id in owned)]


def customer_context(customer, user, form=None) -> dict:
    """What the panel and the customer's groups page show (``user`` may be ``current_user``)."""
    joinable = _joinable(customer)
    if form is None:
        form = forms.JoinForm(formdata=None, prefix=JOIN_PREFIX)
    form.group.choices = joinable
    return {"customer": customer, "memberships": services.customer_groups(customer.id),
            "events": services.customer_events(customer.id),
            "figures": facts.engagement([customer.id]).get(customer.id),
            "join_form": form, "joinable": joinable, **forms.labels()}


@bp.route("/customers/<int:customer_id>/groups", methods=["GET", "POST"])
def customer_groups(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, VIEW, customer)
    if request.method == "GET":
        return render("community/customer.html", {"*": "community/_customer.html"},
                      **customer_context(customer, current_user))
    form = forms.JoinForm(prefix=JOIN_PREFIX)
    form.group.choices = _joinable(customer)
    if form.validate_on_submit():
        group = CommunityGroup.get_or_none(CommunityGroup.id == form.group.data)
        if group is None or form.group.data not in dict(form.group.choices):
            form.group.errors = list(form.group.errors or []) + [_("Choose a group.")]
        else:
            try:
                services.add_member(group, customer, form.role.data, current_user, _today())
            except services.CommunityError as exc:
                _attach(form, exc)
            else:
                flash(_("%(name)s joined the group.", name=customer.name), "success")
                return see_other(url_for("customers.detail", customer_id=customer.id))
    return render("community/customer.html", {"*": "community/_customer.html"}, status=422,
                  **customer_context(customer, current_user, form))


# -- events -------------------------------------------------------------------------------------

@bp.route("/groups/<int:group_id>/events/new", methods=["GET", "POST"])
def new_event(group_id: int):
    group = _group_or_404(group_id)
    _require_run(group)
    form = forms.EventForm() if request.method == "POST" else forms.EventForm(formdata=None)
    if form.validate_on_submit():
        try:
            event = services.create_event(group, current_user, form.title.data,
                                          _to_utc(form.starts_at.data), form.capacity.data,
                                          form.location.data, form.description.data)
        except services.CommunityError as exc:
            _attach(form, exc)
        else:
            flash(_("Event created."), "success")
            return see_other(url_for("community.event", event_id=event.id))
    return _page("community/event_form.html", {"*": "community/_event_form.html"},
                 status=422 if request.method == "POST" else 200, form=form, group=group)


def _event_page(event, status=200, signup_form=None, checkin_form=None):
    group = CommunityGroup.get_by_id(event.group_id)
    scope = _scope()
    signups = services.signups(event.id, scope)
    checkins = services.checkins(event.id, scope)
    active = {s.customer_id for s in signups if s.cancelled_at is None}
    signup_form = signup_form or forms.SignupForm(formdata=None)
    signup_form.customer.choices = _member_choices(group.id, "—", exclude=active)
    return _page("community/event.html", {"community-attendance": "community/_attendance.html"},
                 status=status, event=event, group=group, may_run=may_run(group),
                 signups=signups, checkins=checkins, checked={c.customer_id for c in checkins},
                 taken=services.taken(event.id), started=event.starts_at <= utcnow(),
                 signup_form=signup_form,
                 checkin_form=checkin_form or forms.CheckinForm(formdata=None),
                 users=services.user_names([c.user_id for c in checkins]))


@bp.route("/events/<int:event_id>")
def event(event_id: int):
    return _event_page(_event_or_404(event_id))


@bp.route("/events/<int:event_id>/signups", methods=["POST"])
def sign_up(event_id: int):
    event = _event_or_404(event_id)
    form = forms.SignupForm()
    form.customer.choices = [(form.customer.data or "", "")]
    if form.validate_on_submit():
        try:
            customer = _customer_in_scope(form.customer.data)
            if customer is None:
                if not (form.number.data or "").strip():
                    raise services.CommunityError(_("Choose a member or enter a customer "
                                                    "number."), "customer")
                customer = _by_number(form.number.data)
            _signup, created = services.sign_up(event, customer, current_user)
        except services.CommunityError as exc:
            _attach(form, exc)
        else:
            if created:
                flash(_("%(name)s is signed up.", name=customer.name), "success")
            else:
                flash(_("%(name)s was already signed up.", name=customer.name), "success")
            return see_other(url_for("community.event", event_id=event.id))
    return _event_page(event, status=422, signup_form=form)


@bp.route("/events/<int:event_id>/signups/<int:customer_id>/cancel", methods=["POST"])
def cancel_signup(event_id: int, customer_id: int):
    event = _event_or_404(event_id)
    customer = access.get_customer_or_404(current_user, customer_id)
    if services.cancel_signup(event, customer.id):
        flash(_("The sign-up of %(name)s is cancelled: the place is free.",
                name=customer.name), "success")
    else:
        flash(_("%(name)s had no sign-up to cancel.", name=customer.name), "success")
    return see_other(url_for("community.event", event_id=event.id))


@bp.route("/events/<int:event_id>/checkins", methods=["POST"])
def check_in(event_id: int):
    event = _event_or_404(event_id)
    form = forms.CheckinForm()
    if form.validate_on_submit():
        try:
            customer = _customer_in_scope(form.customer.data)
            if customer is None:
                if not (form.walk_in_number.data or "").strip():
                    raise services.CommunityError(_("Enter the customer's number."),
                                                  "walk_in_number")
                customer = _by_number(form.walk_in_number.data, "walk_in_number")
            checkin, created = services.check_in(event, customer, current_user)
        except services.CommunityError as exc:
            _attach(form, exc)
        else:
            if created:
                flash(_("%(name)s is checked in.", name=customer.name), "success")
            else:
                flash(_("%(name)s was already checked in.", name=customer.name), "success")
            return see_other(url_for("community.event", event_id=event.id))
    return _event_page(event, status=422, checkin_form=form)


# -- topics -------------------------------------------------------------------------------------

@bp.route("/groups/<int:group_id>/topics/new", methods=["GET", "POST"])
def new_topic(group_id: int):
    group = _group_or_404(group_id)
    form = forms.TopicForm() if request.method == "POST" else forms.TopicForm(formdata=None)
    form.customer.choices = _member_choices(group.id, _("— nobody: I write as staff"))
    if form.validate_on_submit():
        try:
            customer = None
            if form.customer.data:
                customer = _customer_in_scope(form.customer.data)
                if customer is None:
                    raise services.CommunityError(_("Choose a member of the group."),
                                                  "customer")
            topic = services.post_topic(group, current_user, customer, form.title.data,
                                        form.body.data)
        except services.CommunityError as exc:
            _attach(form, exc)
        else:
            flash(_("Topic posted."), "success")
            return see_other(url_for("community.topic", topic_id=topic.id))
    return _page("community/topic_form.html", {"*": "community/_topic_form.html"},
                 status=422 if request.method == "POST" else 200, form=form, group=group)


def _topic_page(topic, status=200, reply_form=None):
    group = CommunityGroup.get_by_id(topic.group_id)
    running = may_run(group)
    scope = _scope()
    rows = services.replies(topic.id, include_hidden=running)
    reply_form = reply_form or forms.ReplyForm(formdata=None)
    reply_form.customer.choices = _member_choices(group.id, _("— nobody: I write as staff"))
    return _page("community/topic.html", {"community-replies": "community/_replies.html"},
                 status=status, topic=topic, group=group, may_run=running, replies=rows,
                 names=services.names([topic.customer_id] + [r.customer_id for r in rows],
                                      scope),
                 authors=services.user_names([topic.author_id] + [r.author_id for r in rows]),
                 reply_form=reply_form)


@bp.route("/topics/<int:topic_id>")
def topic(topic_id: int):
    return _topic_page(_topic_or_404(topic_id))


@bp.route("/topics/<int:topic_id>/replies", methods=["POST"])
def add_reply(topic_id: int):
    topic = _topic_or_404(topic_id)
    form = forms.ReplyForm()
    form.customer.choices = [(form.customer.data or "", "")]
    if form.validate_on_submit():
        try:
            customer = None
            if form.customer.data:
                customer = _customer_in_scope(form.customer.data)
                if customer is None:
                    raise services.CommunityError(_("Choose a member of the group."),
                                                  "customer")
            services.reply(topic, current_user, customer, form.body.data)
        except services.CommunityError as exc:
            _attach(form, exc)
        else:
            flash(_("Reply posted."), "success")
            return see_other(url_for("community.topic", topic_id=topic.id) + "#community-replies")
    return _topic_page(topic, status=422, reply_form=form)


@bp.route("/topics/<int:topic_id>/moderate", methods=["POST"])
def moderate_topic(topic_id: int):
    topic = _topic_or_404(topic_id)
    group = CommunityGroup.get_by_id(topic.group_id)
    _require_run(group)
    action = request.form.get("action", "")
    try:
        if action not in services.TOPIC_ACTIONS:
            raise services.CommunityError(_("Unknown moderation action."))
        topic = services.moderate_topic(topic, action)
    except services.CommunityError as exc:
        flash(str(exc.message), "error")
        return _topic_page(topic, status=422)
    flash(_("Topic updated."), "success")
    if topic.hidden:
        return see_other(url_for("community.group", group_id=group.id) + "#community-topics")
    return see_other(url_for("community.topic", topic_id=topic.id))


@bp.route("/replies/<int:reply_id>/moderate", methods=["POST"])
def moderate_reply(reply_id: int):
    item = _row_or_404(CommunityReply, reply_id)
    topic = _topic_or_404(item.topic_id)
    _require_run(CommunityGroup.get_by_id(topic.group_id))
    action = request.form.get("action", "")
    try:
        if action not in services.REPLY_ACTIONS:
            raise services.CommunityError(_("Unknown moderation action."))
        services.moderate_reply(item, action)
    except services.CommunityError as exc:
        flash(str(exc.message), "error")
        return _topic_page(topic, status=422)
    flash(_("Reply updated."), "success")
    return see_other(url_for("community.topic", topic_id=topic.id) + "#community-replies")

