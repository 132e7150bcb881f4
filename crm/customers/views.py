"""Customer pages: the list with active search, create/edit, the 360° page, trash, contacts,
tags, the duplicate warning and the lazily loaded plugin panels."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from peewee import JOIN

from crm import access
from crm.accounts.models import User
from crm.activities import queries as activity_queries
from crm.activities.forms import ActivityForm
from crm.audit import services as audit
from crm.customers import queries, services
from crm.customers.forms import ContactForm, CustomerForm
from crm.customers.models import Contact, Customer, CustomerTag, Tag
from crm.plugins import host
from crm.purchases import queries as purchase_queries
from crm.purchases.forms import PurchaseForm
from crm.tasks import services as task_services
from crm.validation import display_phone
from crm.web.htmx import htmx_target, render, see_other

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.before_request
@login_required
def _signed_in():
    return None


def _settings() -> services.Settings:
    return services.Settings(current_app.config["CUSTOMER_NUMBER_PATTERN"],
                             current_app.config["BABEL_DEFAULT_TIMEZONE"])


# -- list -----------------------------------------------------------------------------------

@bp.route("")
def index():
    browse = access.can(current_user, "customer.browse")
    filters = queries.Filters.from_args(request.args, host().collect(
        "crm_customer_list_filters", user=current_user) if browse else ())
    scope = access.scoped_customers(current_user)
    columns = [c for c in host().collect("crm_customer_list_columns", user=current_user)
               if c.listed]
    lookup_refused = False
    if browse:
        page = queries.list_page(scope, filters, current_app.config["PAGE_SIZE"], columns)
    else:
        # the counter's look-up: a real term, one page of at most LOOKUP_LIMIT, no browsing
        lookup = queries.lookup_scope(scope, filters.q)
        lookup_refused = bool(filters.q) and lookup is None
        if lookup is None:
            page = queries.Page([], 0, 1, current_app.config["PAGE_SIZE"])
        else:
            filters.page, filters.sort = 1, "name"
            page = queries.list_page(lookup, queries.Filters(sort="name"), queries.LOOKUP_LIMIT,
                                     columns)
    context = dict(filters=filters, page=page, browse=browse, bulk=None,
                   lookup_refused=lookup_refused)
    if browse and page.rows:
        # ticking rows for the bulk actions (bulk_views.py); with reassign, the form "bulk"
        # also offers the owners to hand them to (sharing_views.py)
        context["bulk"] = {"form": "pick", "owners": []}
        if access.can(current_user, "customer.reassign"):
            from crm.customers.sharing import owner_candidates
            context["bulk"] = {"form": "bulk", "owners": owner_candidates(current_user)}
    partials = {"results": "customers/_results.html", "load-more": "customers/_rows.html"}
    if htmx_target() not in partials:   # the page (also as HX-Location's <main>): the filters
        context["choices"] = queries.filter_choices(scope, current_user.id) if browse else ([], [], [], [])
    return render("customers/index.html", partials, **context)


@bp.route("/completeness")
def completeness():
    """How complete the customers' data is, per field and per owner, and which are not."""
    from crm.customers import completeness as data
    access.require(current_user, "customer.browse")
    scope = access.scoped_customers(current_user)
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, missing = data.incomplete(scope, page)
    return render("customers/completeness.html", report=data.report(scope), rows=rows,
                  missing=missing, page=page, per_page=50, target=data.TARGET)


# -- create / edit ----------------------------------------------------------------------------

def _owner_choices(form: CustomerForm, current_owner_id: int | None = None) -> None:
    users = User.select(User.id, User.display_name, User.username).where(
        User.is_active == True, User.role.in_(("admin", "manager", "sales")))  # noqa: E712
    if current_user.role == "sales":
        users = users.where(User.id == current_user.id)
    form.owner.choices = [(u.id, u.name) for u in users.order_by(User.username)]
    if current_user.id not in [c[0] for c in form.owner.choices]:
        form.owner.choices.insert(0, (current_user.id, current_user.name))
    # an edit keeps the owner it has (a clerk, somebody who left): without it in the choices
    # the browser would submit the first option and silently hand the customer over
    owner = User.get_or_none(User.id == current_owner_id) if current_owner_id else None
    if owner is not None and owner.id not in [c[0] for c in form.owner.choices]:
        form.owner.choices.insert(0, (owner.id, owner.name))


def _plugin_fields(form_class, customer):
    """A form class extended with the plugins' FormFields (crm_customer_form_fields)."""
    extras = host().collect("crm_customer_form_fields", customer=customer, user=current_user)

    class Extended(form_class):
        pass
    for extra in extras:
        setattr(Extended, "x_" + extra.name, extra.field)
    return Extended, extras


def _validate_with_plugins(form, data, customer, extras) -> bool:
    """Plugins see the core values and their own fields' values (by FormField name)."""
    ok = True
    data = {**data, **{x.name: form["x_" + x.name].data for x in extras}}
    for error in host().collect("crm_validate_customer", data=data, customer=customer,
                                user=current_user):
        target = getattr(form, error.field, None) or getattr(form, "x_" + error.field, None)
        if target is not None:
            target.errors = list(target.errors) + [error.message]
        else:
            form.form_errors.append(error.message)
        ok = False
    return ok


def _form_data(form) -> dict:
    data = {name: form[name].data for name in services.EDITABLE if name in form}
    for key in ("industry", "region", "address", "notes", "phone", "email"):
        data[key] = (data.get(key) or "").strip()
    return data


@bp.route("/new", methods=["GET", "POST"])
def new():
    access.require(current_user, "customer.create")
    form_class, extras = _plugin_fields(CustomerForm, None)
    form = form_class()
    _owner_choices(form)
    if request.method == "GET":
        form.owner.data = current_user.id
        form.kind.data = request.args.get("kind", "company")
        form.name.data = request.args.get("name", "")
    if form.validate_on_submit():
        data = _form_data(form)
        duplicates = [] if request.form.get("confirm_duplicate") else services.likely_duplicates(
            access.scoped_customers(current_user), data["name"], data["phone"], data["email"])
        if duplicates:
            return render("customers/form.html", {"*": "customers/_form.html"}, form=form,
                          extras=extras, customer=None, duplicates=duplicates, status=422)
        if _validate_with_plugins(form, data, None, extras):
            customer = services.create_customer(
                data, current_user, _settings(), services.parse_tags(form.tags.data),
                [(x, form["x_" + x.name].data) for x in extras])
            flash(_("Customer %(number)s created.", number=customer.number), "success")
            return see_other(url_for("customers.detail", customer_id=customer.id))
    status = 422 if request.method == "POST" else 200
    return render("customers/form.html", {"*": "customers/_form.html"}, form=form, extras=extras,
                  customer=None, status=status)


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
def edit(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "customer.edit", customer)
    form_class, extras = _plugin_fields(CustomerForm, customer)
    form = form_class(obj=customer) if request.method == "GET" else form_class()
    _owner_choices(form, customer.owner_id)
    if request.method == "GET":
        form.owner.data = customer.owner_id
        form.version.data = customer.version
        form.phone.data = display_phone(customer.phone)   # typed as shown; saved as E.164
        form.tags.data = ", ".join(t.name for t in Tag.select().join(CustomerTag).where(
            CustomerTag.customer == customer.id).order_by(Tag.name))
        for extra in extras:
            form["x_" + extra.name].data = extra.load(customer)
    conflict = None
    if form.validate_on_submit():
        data = _form_data(form)
        if _validate_with_plugins(form, data, customer, extras):
            try:
                version = int(form.version.data or 0)
            except ValueError:
                version = 0
            try:
                services.update_customer(customer.id, data, version, current_user,
                                         services.parse_tags(form.tags.data),
                                         [(x, form["x_" + x.name].data) for x in extras])
            except services.Conflict as exc:
                conflict = exc
            else:
                flash(_("Changes saved."), "success")
                return see_other(url_for("customers.detail", customer_id=customer.id))
    if conflict is not None:
        form.version.data = conflict.current.version   # saving again overwrites knowingly
        return render("customers/conflict.html", form=form, extras=extras, customer=customer,
                      conflict=conflict, status=409)
    status = 422 if request.method == "POST" else 200
    return render("customers/form.html", {"*": "customers/_form.html"}, form=form, extras=extras,
                  customer=customer, status=status)


@bp.route("/duplicates")
def duplicates():
    """The duplicate warning shown while typing in the create form (an htmx partial)."""
    from crm.validation import normalise_email, normalise_phone
    name = request.args.get("name", "")[:200]
    try:
        phone = normalise_phone(request.args.get("phone", ""))
    except ValueError:
        phone = ""
    try:
        email = normalise_email(request.args.get("email", ""))
    except ValueError:
        email = ""
    exclude = request.args.get("exclude", type=int)
    visible = services.likely_duplicates(access.scoped_customers(current_user), name, phone,
                                         email, exclude)
    everywhere = services.likely_duplicates(Customer.select().where(Customer.deleted_at.is_null()),
                                            name, phone, email, exclude, limit=10)
    hidden = len({c.id for c, _r in everywhere} - {c.id for c, _r in visible})
    return render("customers/duplicates.html", {"*": "customers/_duplicates.html"},
                  duplicates=visible, hidden=hidden)


# -- the customer page --------------------------------------------------------------------------

@bp.route("/<int:customer_id>")
def detail(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    owner = User.get_or_none(User.id == customer.owner_id) if customer.owner_id else None
    contacts = list(Contact.select().where(Contact.customer == customer.id)
                    .order_by(Contact.is_primary.desc(), Contact.id))
    tags = list(Tag.select().join(CustomerTag).where(CustomerTag.customer == customer.id)
                .order_by(Tag.name))
    timeline = activity_queries.timeline(customer, page=1)
    purchases = purchase_queries.for_customer(customer)
    panels = host().collect("crm_customer_panels", customer=customer, user=current_user)
    actions = host().collect("crm_customer_actions", customer=customer, user=current_user)
    activity_form = ActivityForm()
    activity_form.contact.choices = [("", "—")] + [(str(c.id), c.name) for c in contacts]
    purchase_form = PurchaseForm()
    purchase_queries.fill_product_choices(purchase_form)
    tasks, tasks_done = task_services.customer_tasks(customer)
    return render("customers/detail.html", customer=customer, owner=owner, contacts=contacts,
                  tasks=tasks, tasks_done=tasks_done,
                  tags=tags, timeline=timeline, purchases=purchases, panels=panels,
                  actions=actions, activity_form=activity_form, purchase_form=purchase_form,
                  contact_form=ContactForm(prefix="contact"),
                  why=access.why_visible(current_user, customer),
                  history=_history(customer.id, 20), **_sharing_context(customer))


def _sharing_context(customer) -> dict:
    from crm.customers import sharing
    from crm.customers.sharing_views import _may_share, share_targets
    may_share = _may_share(customer)
    users, departments = share_targets(customer) if may_share else ([], [])
    return dict(shares=sharing.shares(customer), may_share=may_share, users=users,
                departments=departments, error=None)


@bp.route("/<int:customer_id>/panels/<name>")
def panel(customer_id: int, name: str):
    """One plugin panel.  A failing panel answers 200 with a small error card."""
    customer = access.get_customer_or_404(current_user, customer_id)
    panels = {p.name: p for p in host().collect("crm_customer_panels", customer=customer,
                                                user=current_user)}
    descriptor = panels.get(name)
    if descriptor is None:
        abort(404)
    try:
        body = descriptor.render(customer, current_user)
        body = body if isinstance(body, Markup) else escape(body)
        failed = False
    except Exception as exc:  # noqa: BLE001 - one panel must never break the page
        host().record_failure(descriptor.plugin or name, "panel.render", exc)
        body, failed = None, True
    return render("customers/panel.html", {"*": "customers/_panel.html"}, customer=customer,
                  panel=descriptor, body=body, failed=failed)


# -- trash ------------------------------------------------------------------------------------

@bp.route("/<int:customer_id>/delete", methods=["POST"])
def delete(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "customer.delete", customer)
    services.trash(customer, current_user)
    flash(_("%(name)s moved to the trash.", name=customer.name), "success")
    return see_other(url_for("customers.index"))


@bp.route("/trash")
def trash():
    access.require(current_user, "customer.restore")
    rows = list(access.scoped_customers(current_user, include_deleted=True)
                .where(Customer.deleted_at.is_null(False))
                .order_by(Customer.deleted_at.desc()).limit(200))
    return render("customers/trash.html", rows=rows)


@bp.route("/<int:customer_id>/restore", methods=["POST"])
def restore(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id, include_deleted=True)
    access.require(current_user, "customer.restore", customer)
    if customer.deleted_at is not None:
        services.restore(customer, current_user)
        flash(_("%(name)s restored.", name=customer.name), "success")
    return see_other(url_for("customers.detail", customer_id=customer.id))


@bp.route("/<int:customer_id>/purge", methods=["POST"])
def purge(customer_id: int):
    """Delete a customer in the trash for good (an admin action), with everything it holds."""
    customer = access.get_customer_or_404(current_user, customer_id, include_deleted=True)
    access.require(current_user, "customer.purge", customer)
    if customer.deleted_at is None:
        flash(_("Only a customer in the trash can be purged."), "error")
        return see_other(url_for("customers.detail", customer_id=customer.id))
    services.purge(customer, current_user)
    flash(_("%(name)s was deleted for good.", name=customer.name), "success")
    return see_other(url_for("customers.trash"))


# -- contacts ---------------------------------------------------------------------------------

def _contact_data(form) -> dict:
    """The cleaned contact values; a text field left out of the POST is empty, not NULL."""
    return {k: ("" if form[k].data is None else form[k].data) for k in services.CONTACT_FIELDS}


@bp.route("/<int:customer_id>/contacts", methods=["POST"])
def add_contact(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "contact.edit", customer)
    form = ContactForm(prefix="contact")
    if form.validate_on_submit():
        services.save_contact(customer, _contact_data(form), current_user)
        flash(_("Contact added."), "success")
        return see_other(url_for("customers.detail", customer_id=customer.id) + "#contacts")
    return render("customers/contact_form.html", {"*": "customers/_contact_form.html"},
                  form=form, customer=customer, contact=None, status=422)


@bp.route("/<int:customer_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
def edit_contact(customer_id: int, contact_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "contact.edit", customer)
    contact = Contact.get_or_none((Contact.id == contact_id) & (Contact.customer == customer.id))
    if contact is None:
        abort(404)
    form = ContactForm(prefix="contact", obj=contact) if request.method == "GET" else \
        ContactForm(prefix="contact")
    if request.method == "GET":
        form.version.data = contact.version
        form.mobile.data = display_phone(contact.mobile)
        form.phone.data = display_phone(contact.phone)
    hidden = _hide_sensitive(form, customer, contact)
    if form.validate_on_submit():
        data = _contact_data(form)
        for name in hidden:          # left empty: the stored value stays (it was never shown)
            if not data[name]:
                data[name] = getattr(contact, name)
        try:
            services.save_contact(customer, data, current_user, contact,
                                  int(form.version.data or 0))
        except services.Conflict:
            form.form_errors.append(_("Somebody changed this contact meanwhile. "
                                      "Reload the page to see their version."))
        else:
            flash(_("Contact saved."), "success")
            return see_other(url_for("customers.detail", customer_id=customer.id) + "#contacts")
    status = 422 if request.method == "POST" else 200
    return render("customers/contact_form.html", {"*": "customers/_contact_form.html"},
                  form=form, customer=customer, contact=contact, status=status)


def _hide_sensitive(form, customer, contact) -> list[str]:
    """For a user who sees contacts masked, the edit form shows no stored phone, e-mail or
    WeChat id: each input is empty with the masked value as its placeholder, and an empty
    input keeps the stored value.  Returns the names of the fields so treated."""
    from crm.customers import masking
    if masking.mode(current_user, customer) == "plain":
        return []
    hidden = []
    for name in masking.CONTACT_FIELDS:
        stored = getattr(contact, name)
        if stored:
            if request.method == "GET":
                form[name].data = ""
            form[name].render_kw = dict(form[name].render_kw or {},
                                        placeholder=masking.mask(name, stored))
            form[name].description = _("Hidden: leave empty to keep it, or type a new value.")
            hidden.append(name)
    return hidden


@bp.route("/<int:customer_id>/contacts/<int:contact_id>/delete", methods=["POST"])
def delete_contact(customer_id: int, contact_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "contact.edit", customer)
    contact = Contact.get_or_none((Contact.id == contact_id) & (Contact.customer == customer.id))
    if contact is None:
        abort(404)
    services.delete_contact(customer, contact, current_user)
    flash(_("Contact deleted."), "success")
    return see_other(url_for("customers.detail", customer_id=customer.id) + "#contacts")


def _history(customer_id: int, limit: int) -> list:
    """The customer's audit rows with their authors joined (one query, not one per row)."""
    from crm.audit.models import AuditLog
    Author = User.alias()
    rows = list(audit.history("customer", customer_id, limit)
                .select_extend(Author.id, Author.display_name, Author.username)
                .join(Author, JOIN.LEFT_OUTER, on=(AuditLog.user == Author.id), attr="user"))
    # owners are stored as ids: show their names (one query for the whole page)
    owner_ids = {int(v) for h in rows if h.field == "owner" for v in (h.old, h.new)
                 if v and v.isdigit()}
    names = {u.id: u.name for u in User.select().where(User.id.in_(list(owner_ids)))} \
        if owner_ids else {}
    for h in rows:
        if h.field == "owner":
            h.old = names.get(int(h.old), h.old) if h.old and h.old.isdigit() else h.old
            h.new = names.get(int(h.new), h.new) if h.new and h.new.isdigit() else h.new
    return rows


@bp.route("/<int:customer_id>/history")
def history(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    rows = _history(customer.id, 200)
    return render("customers/history.html", {"*": "customers/_history.html"},
                  customer=customer, history=rows)
