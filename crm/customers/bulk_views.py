"""Routes for acting on many customers from the list: add tags, remove a tag, create follow-up
tasks (services in bulk_actions.py; the bulk reassign is in sharing_views.py).

The list's "Act on selected…" button posts the ticked ids and the list's filter to
``customers.bulk``: a page of its own with the action forms (so the list, used on cheap phones,
carries one button, not three forms).  Each form posts to ``customers.bulk_apply``, which acts
on the ticked customers at once; on "all customers matching the filter" it first answers a
confirmation page with their number.  Then 303 back to the list, with its filter.  Plain forms
and redirects: it works without JavaScript, and htmx (hx-boost) only makes it faster.

They hang on the customers blueprint; crm/__init__.py imports this module before registering it.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from crm import access
from crm.accounts.models import User
from crm.customers import bulk_actions, queries
from crm.customers.bulk_actions import BulkActionError, TooMany
from crm.customers.models import Customer, Tag
from crm.customers.views import bp
from crm.plugins import host
from crm.web.htmx import render, safe_next, see_other

SHOWN_NAMES = 50


class Target:
    """What a bulk request is about: the ticked ``ids`` (``apply_to`` "ticked") or every
    customer matching ``filters`` ("all"), and where to go back to afterwards."""

    def __init__(self, ids: list[int] | None, filter_qs: str, back: str | None):
        self.all = ids is None
        # more than the cap is refused; cut here so that no query gets thousands of ids
        self.ids = None if ids is None else ids[:bulk_actions.CAP + 1]
        args = MultiDict(parse_qsl((filter_qs or "")[:4000], keep_blank_values=False))
        plugin_filters = host().collect("crm_customer_list_filters", user=current_user)
        self.filters = queries.Filters.from_args(args, plugin_filters)
        self.filter_qs = urlencode(self.filters.args(page=None))
        list_url = url_for("customers.index", **self.filters.args(page=None))
        self.back = safe_next(back, list_url)

    @classmethod
    def from_form(cls, form) -> "Target":
        ids = bulk_actions.clean_ids(form.getlist("ids"))
        apply_to_all = form.get("apply_to") == "all"
        return cls(None if apply_to_all else ids, form.get("filter", ""), form.get("back"))

    def query(self):
        return bulk_actions.target_query(current_user, self.ids, self.filters)

    def ids_in_scope(self) -> list[int]:
        """The customers to act on, re-selected in the user's scope (``TooMany`` above the
        cap); an error when a filter could not be applied (acting on more than was asked)."""
        found = bulk_actions.target_ids(current_user, self.ids, self.filters)
        if self.filters.errors:
            raise BulkActionError(" ".join(self.filters.errors))
        return found

    @property
    def requested(self) -> int | None:
        """How many were asked for by id (the ticked ones), else None."""
        return None if self.all else len(self.ids)

    def describe(self) -> list[tuple[str, str]]:
        """The filter in words, (label, value) pairs, for the pages."""
        f, out = self.filters, []
        if f.q:
            out.append((_("Search"), f.q))
        if f.owner:
            owner = User.get_or_none(User.id == f.owner)
            out.append((_("Owner"), owner.name if owner else "?"))
        if f.tag:
            tag = Tag.get_or_none(Tag.id == f.tag)
            out.append((_("Tag"), tag.name if tag else "?"))
        for label, value in ((_("Value class"), f.value_class), (_("Region"), f.region),
                             (_("Industry"), f.industry)):
            if value:
                out.append((label, value))
        if f.stale_days:
            out.append((_("Not contacted for"), _("%(n)s days", n=f.stale_days)))
        for pf in f.plugin_filters:
            value = f.extra.get(pf.name)
            if value:
                choices = {str(v): str(label) for v, label in (pf.choices or ())}
                out.append((str(pf.label), choices.get(value, value)))
        return out


def _may_tag() -> bool:
    return access.can(current_user, "customer.edit")


def _page(target: Target, *, error: str | None = None, values=None, status: int = 200):
    """The page with the action forms (``customers.bulk``), or with ``error`` (422)."""
    values = values or {}
    query = target.query()
    too_many = None
    if target.all:
        count = query.count()
        matching = count
        if count > bulk_actions.CAP:
            too_many = str(TooMany(count))
        names = []
    elif len(target.ids) > bulk_actions.CAP:
        count = matching = 0
        too_many = str(TooMany(len(target.ids)))
        names = []
    else:
        count = query.count()
        names = list(query.select(Customer.id, Customer.name, Customer.number)
                     .order_by(Customer.name, Customer.id).limit(SHOWN_NAMES))
        matching = bulk_actions.target_query(current_user, None, target.filters).count()
    may_tag = _may_tag()
    return _not_in_history(render(
        "customers/bulk_actions.html", target=target, count=count, matching=matching,
        names=names, too_many=too_many, cap=bulk_actions.CAP, error=error, values=values,
        may_tag=may_tag, tags=bulk_actions.tags_on(query) if may_tag and count else [],
        assignees=bulk_actions.task_assignees(current_user),
        nonce=values.get("nonce") or bulk_actions.new_nonce(),
        words=target.describe(), status=status))


def _not_in_history(response):
    """A page answering a POST: hx-boost would push its URL, which a reload (or the back
    button, with no history cache) then GETs: 405.  The address bar keeps the list's."""
    response.headers["HX-Push-Url"] = "false"
    return response


@bp.route("/bulk", methods=["POST"])
def bulk():
    """The action forms for the ticked customers (a POST from the list), or, with none
    ticked, for every customer matching the list's filter (``filter``, its query string)."""
    access.require(current_user, "customer.browse")
    ids = bulk_actions.clean_ids(request.form.getlist("ids"))
    return _page(Target(ids or None, request.form.get("filter", ""), request.form.get("back")))


def _parameters(action: str, form) -> dict:
    """The validated values of ``action``'s form, or BulkActionError."""
    if action == "tag_add":
        return {"names": bulk_actions.clean_tag_names(form.get("tags", ""))}
    if action == "tag_remove":
        tag_id = form.get("tag", type=int)
        if not tag_id or Tag.get_or_none(Tag.id == tag_id) is None:
            raise BulkActionError(_("Choose the tag to remove."))
        return {"tag_id": tag_id}
    if action == "task":
        title, due_on, assignee = bulk_actions.clean_task(
            form.get("title", ""), form.get("due_on", ""), form.get("assignee", ""))
        if assignee != bulk_actions.OWNER and int(assignee) not in {
                p.id for p in bulk_actions.task_assignees(current_user)}:
            raise BulkActionError(_("Choose whom to give the tasks to."))
        return {"title": title, "due_on": due_on, "assignee": assignee,
                "notes": (form.get("notes") or "").strip()[:5000]}
    raise BulkActionError(_("Choose what to do."))


def _run(action: str, ids: list[int], params: dict, target: Target, nonce: str):
    if action == "tag_add":
        return bulk_actions.add_tags(current_user, ids, params["names"], target.requested)
    if action == "tag_remove":
        return bulk_actions.remove_tag(current_user, ids, params["tag_id"], target.requested)
    return bulk_actions.create_tasks(current_user, ids, params["title"], params["due_on"],
                                     params["assignee"], params["notes"], target.requested,
                                     nonce=nonce)


def outcome_message(action: str, outcome: bulk_actions.Outcome) -> str:
    """"3 customers tagged. 1 skipped (not yours to edit)." in the user's language."""
    n = outcome.done
    if action == "tag_add":
        parts = [ngettext("%(num)s customer tagged.", "%(num)s customers tagged.", n)]
        if outcome.unchanged:
            parts.append(ngettext("%(num)s already had the tags.",
                                  "%(num)s already had the tags.", outcome.unchanged))
    elif action == "tag_remove":
        parts = [ngettext("Tag removed from %(num)s customer.",
                          "Tag removed from %(num)s customers.", n)]
        if outcome.unchanged:
            parts.append(ngettext("%(num)s did not have it.", "%(num)s did not have it.",
                                  outcome.unchanged))
    else:
        parts = [ngettext("%(num)s follow-up task created.", "%(num)s follow-up tasks created.",
                          n)]
        if outcome.unchanged:
            parts.append(ngettext("%(num)s existed already (the form was sent twice).",
                                  "%(num)s existed already (the form was sent twice).",
                                  outcome.unchanged))
    if outcome.skipped:
        if action == "task":
            parts.append(ngettext(
                "%(num)s skipped (nobody you may give its task to, or not visible to them).",
                "%(num)s skipped (nobody you may give their tasks to, or not visible to them).",
                outcome.skipped))
        else:
            parts.append(ngettext("%(num)s skipped (not yours to edit).",
                                  "%(num)s skipped (not yours to edit).", outcome.skipped))
    return " ".join(parts)


@bp.route("/bulk/apply", methods=["POST"])
def bulk_apply():
    """Do one action: at once on the ticked customers; on all matching the filter after a
    confirmation page showing how many (sent again with ``confirm`` = that number)."""
    access.require(current_user, "customer.browse")
    form = request.form
    target = Target.from_form(form)
    action = form.get("action", "")
    nonce = form.get("nonce", "")
    try:
        params = _parameters(action, form)
        if not target.all and not target.ids:
            raise BulkActionError(_("Select at least one customer."))
        ids = target.ids_in_scope()
        if not ids:
            raise BulkActionError(_("No customer to act on: none matches, or none is yours."))
    except TooMany:     # the page says how many, and the cap
        return _page(target, values=form, status=422)
    except BulkActionError as exc:
        return _page(target, error=str(exc), values=form, status=422)
    if target.all and form.get("confirm") != str(len(ids)):
        tag = Tag.get_or_none(Tag.id == params["tag_id"]) if action == "tag_remove" else None
        assignee = None if action != "task" or params["assignee"] == bulk_actions.OWNER \
            else User.get_or_none(User.id == int(params["assignee"]))
        return _not_in_history(render(
            "customers/bulk_confirm.html", target=target, count=len(ids), action=action,
            params=params, form=form, nonce=nonce, changed=bool(form.get("confirm")),
            words=target.describe(), tag=tag, assignee=assignee))
    outcome = _run(action, ids, params, target, nonce)
    flash(outcome_message(action, outcome), "success")
    return see_other(target.back)

