"""The sales pipeline's pages: the board (a column per stage, moves are plain forms), the deal
list, a deal with its history, new deals from the customer page, and the stage settings.

Every deal is reached through its customer's scope (``services.deal_for`` starts from
``crm.access.scoped_customers``): a deal of a customer the user does not see is a 404.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access
from crm.customers.models import Contact
from crm.purchases.models import Product
from crm.web.htmx import render, safe_next, see_other

from . import forms, services
from .models import KINDS, Deal, Stage

bp = Blueprint("sales", __name__, url_prefix="/sales", template_folder="templates")


@bp.before_request
@login_required
def _signed_in():
    return None


def _page(template, partials=None, status=200, **context):
    return render(template, partials, status=status, yuan=forms.yuan,
                  probability=services.probability, is_stuck=services.is_stuck,
                  **forms.labels(), **context)


def _deal_or_404(deal_id: int) -> Deal:
    access.require(current_user, "sales.view")
    deal = services.deal_for(current_user, deal_id)
    if deal is None:
        abort(404)
    return deal


def _rule_message(error: services.RuleError) -> str:
    needs = ", ".join(str(forms.RULE_LABELS.get(r, r)) for r in error.missing)
    return _("To enter “%(stage)s”, a deal needs %(needs)s.", stage=error.stage.name, needs=needs)


def _deal_form(customer_id, formdata=None, deal=None):
    if formdata is None and deal is not None:
        form = forms.DealForm(formdata=None, data={
            "title": deal.title, "amount": forms.yuan(deal.amount_fen),
            "expected_close": deal.expected_close, "stage": deal.stage_id,
            "probability": deal.probability, "owner": deal.owner_id or 0,
            "contact": str(deal.contact_id or ""), "source": deal.source,
            "products": services.product_ids(deal), "reason": deal.reason, "notes": deal.notes,
            "version": deal.version})
    elif formdata is None:
        form = forms.DealForm(formdata=None, data={"owner": current_user.id})
    else:
        form = forms.DealForm(formdata=formdata)
    form.stage.choices = [(s.id, s.name) for s in services.stages()]
    form.owner.choices = [(u.id, u.name) for u in services.owners()]
    if current_user.id not in {u for u, _n in form.owner.choices}:
        form.owner.choices.insert(0, (current_user.id, current_user.name))
    contacts = Contact.select(Contact.id, Contact.name).where(Contact.customer == customer_id)
    form.contact.choices = [("", "—")] + [(str(c.id), c.name) for c in contacts]
    products = Product.select(Product.id, Product.name).where(Product.active == True)  # noqa
    form.products.choices = [(p.id, p.name) for p in products.order_by(Product.name)]
    return form


def _deal_values(form) -> dict:
    return {"title": form.title.data.strip(), "amount_fen": form.amount.fen or 0,
            "expected_close": form.expected_close.data, "probability": form.probability.data,
            "owner": form.owner.data, "contact": int(form.contact.data) if form.contact.data
            else None, "source": form.source.data, "reason": form.reason.data or "",
            "notes": form.notes.data or ""}


# -- the board ------------------------------------------------------------------------------------

def _move_form(deal, stages, back):
    current = next((s for s in stages if s.id == deal.stage_id), None)
    following = next((s for s in stages if current is not None
                      and s.position > current.position), None)
    # the next stage preselected: one click on "Move" goes forward, never back to the first
    form = forms.MoveForm(formdata=None, version=deal.version, back=back,
                          stage=following.id if following else None)
    form.stage.choices = [(s.id, s.name) for s in stages if s.id != deal.stage_id]
    return _move_ids(form)


def _move_ids(form):
    """The deal page shows this form beside the edit form, which has fields of the same names
    (amount, expected close date, the CSRF token): ids of their own, so that each label and
    error message points at its own input."""
    for item in form:
        item.id = "move-" + item.name
    return form


@bp.route("/board")
def board():
    access.require(current_user, "sales.view")
    owner = request.args.get("owner", "")
    owner = owner if owner == "me" or owner.isdigit() else ""
    columns = services.board(current_user, owner)
    return _page("sales/board.html", {"board": "sales/_board.html"}, columns=columns,
                 owner=owner, owners=services.owners(), stages=services.stages(),
                 may_edit=access.can(current_user, "sales.edit"), now=services.utcnow())


# -- the list -------------------------------------------------------------------------------------

@bp.route("/deals")
def deals():
    access.require(current_user, "sales.view")
    args = request.args
    owner = args.get("owner", "")
    filters = services.Filters(
        stage=args.get("stage", type=int), owner=owner if owner == "me" or owner.isdigit()
        else "", status=args.get("status", "") if args.get("status") in KINDS else "",
        stuck=args.get("stuck") == "1", customer=args.get("customer", type=int),
        q=args.get("q", "").strip()[:50], page=max(1, args.get("page", 1, type=int) or 1))
    customer = (access.get_customer_or_404(current_user, filters.customer)
                if filters.customer else None)
    result = services.search(current_user, filters, current_app.config["PAGE_SIZE"])
    return _page("sales/deals.html", {"results": "sales/_results.html"}, filters=filters,
                 result=result, customer=customer, owners=services.owners(),
                 stages=services.stages(active_only=False), now=services.utcnow())


# -- one deal -------------------------------------------------------------------------------------

@bp.route("/customers/<int:customer_id>/deals/new", methods=["GET", "POST"])
def new_deal(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "sales.edit", customer)
    form = _deal_form(customer.id, None if request.method == "GET" else request.form)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            stage = Stage.get_by_id(form.stage.data)
            try:
                deal = services.create_deal(customer, current_user, _deal_values(form), stage,
                                            form.products.data or [])
            except services.RuleError as error:
                form.stage.errors = list(form.stage.errors) + [_rule_message(error)]
            else:
                flash(_("Deal created."), "success")
                return see_other(url_for("sales.deal", deal_id=deal.id))
    return _page("sales/new.html", {"*": "sales/_deal_form.html"}, status=status, form=form,
                 customer=customer, deal=None)


def _deal_page(deal, status=200, edit_form=None, move_form=None):
    customer = access.get_customer_or_404(current_user, deal.customer_id)
    may_edit = access.can(current_user, "sales.edit", customer)
    stages = services.stages()
    back = url_for("sales.deal", deal_id=deal.id)
    if may_edit and edit_form is None:
        edit_form = _deal_form(customer.id, deal=deal)
        del edit_form.stage
    if may_edit and move_form is None:
        move_form = _move_form(deal, stages, back)
    products = list(Product.select().where(Product.id.in_(services.product_ids(deal) or [0])))
    contact = Contact.get_or_none(Contact.id == deal.contact_id) if deal.contact_id else None
    from crm.accounts.models import User
    owner = User.get_or_none(User.id == deal.owner_id) if deal.owner_id else None
    return _page("sales/deal.html", status=status, deal=deal, customer=customer,
                 may_edit=may_edit, edit_form=edit_form, move_form=move_form, products=products,
                 contact=contact, owner=owner, history=services.history(deal),
                 stage=deal.stage, now=services.utcnow())


@bp.route("/deals/<int:deal_id>")
def deal(deal_id: int):
    return _deal_page(_deal_or_404(deal_id))


def _editable(deal_id: int) -> Deal:
    deal = _deal_or_404(deal_id)
    customer = access.get_customer_or_404(current_user, deal.customer_id)
    access.require(current_user, "sales.edit", customer)
    return deal


def _conflict(deal_id: int):
    flash(_("Somebody changed this deal meanwhile. Here is what it is now; please check and "
            "try again."), "error")
    return _deal_page(Deal.get_by_id(deal_id), status=409)


@bp.route("/deals/<int:deal_id>/edit", methods=["POST"])
def edit(deal_id: int):
    deal = _editable(deal_id)
    form = _deal_form(deal.customer_id, request.form)
    del form.stage
    if not form.validate_on_submit():
        return _deal_page(deal, status=422, edit_form=form)
    try:
        services.update_deal(deal.id, int(form.version.data or 0), current_user,
                             _deal_values(form), form.products.data or [])
    except services.Conflict:
        return _conflict(deal.id)
    except services.RuleError as error:
        form.form_errors.append(_rule_message(error))
        return _deal_page(deal, status=422, edit_form=form)
    flash(_("Deal saved."), "success")
    return see_other(url_for("sales.deal", deal_id=deal.id))


@bp.route("/deals/<int:deal_id>/move", methods=["POST"])
def move(deal_id: int):
    """Move to another stage: a plain form on the board and on the deal page."""
    deal = _editable(deal_id)
    stages = services.stages()
    form = forms.MoveForm()
    form.stage.choices = [(s.id, s.name) for s in stages]
    back = safe_next(form.back.data, url_for("sales.deal", deal_id=deal.id))
    if form.validate_on_submit():
        stage = next(s for s in stages if s.id == form.stage.data)
        extra = {"amount_fen": form.amount.fen, "expected_close": form.expected_close.data,
                 "reason": (form.reason.data or "").strip()}
        try:
            moved = services.move(deal.id, form.version.data, current_user, stage, extra)
        except services.Conflict:
            return _conflict(deal.id)
        except services.RuleError as error:
            form.stage.errors = list(form.stage.errors) + [_rule_message(error)]
        else:
            flash(_("“%(title)s” moved to %(stage)s.", title=moved.title, stage=stage.name),
                  "success")
            return see_other(back)
    return _deal_page(deal, status=422, move_form=_move_ids(form))


# -- settings: the stages -------------------------------------------------------------------------

@bp.route("/settings/stages", methods=["GET", "POST"])
def stages():
    access.require(current_user, "sales.admin")
    form = forms.StageForm(formdata=None, data={"position": 100, "stuck_days": 14,
                                                "probability": 50, "active": True}) \
        if request.method == "GET" else forms.StageForm()
    if request.method == "POST" and form.validate_on_submit():
        services.save_stage(None, _stage_values(form))
        flash(_("Stage added."), "success")
        return see_other(url_for("sales.stages"))
    return _stages_page(form, status=422 if request.method == "POST" else 200)


def _stage_values(form) -> dict:
    rules = list(form.rules.data or [])
    if form.kind.data == "lost" and "reason" not in rules:
        rules.append("reason")
    return {"name": form.name.data.strip(), "position": form.position.data,
            "probability": form.probability.data, "kind": form.kind.data,
            "rules": ",".join(rules), "stuck_days": form.stuck_days.data,
            "active": bool(form.active.data), "notify_role": form.notify_role.data or ""}


def _stages_page(new_form, status=200, edited=None):
    rows = []
    for stage in services.stages(active_only=False):
        if edited is not None and edited.stage_id == stage.id:
            rows.append((stage, edited))
            continue
        rows.append((stage, forms.StageForm(formdata=None, prefix=f"s{stage.id}", data={
            "name": stage.name, "position": stage.position, "probability": stage.probability,
            "kind": stage.kind, "rules": stage.rule_list, "stuck_days": stage.stuck_days,
            "active": stage.active, "notify_role": stage.notify_role})))
    return _page("sales/stages.html", status=status, form=new_form, rows=rows)


@bp.route("/settings/stages/<int:stage_id>", methods=["POST"])
def stage_edit(stage_id: int):
    access.require(current_user, "sales.admin")
    stage = Stage.get_or_none(Stage.id == stage_id)
    if stage is None:
        abort(404)
    form = forms.StageForm(prefix=f"s{stage.id}")
    form.stage_id = stage.id
    if not form.validate_on_submit():
        return _stages_page(forms.StageForm(formdata=None), status=422, edited=form)
    services.save_stage(stage.id, _stage_values(form))
    flash(_("Stage saved."), "success")
    return see_other(url_for("sales.stages"))
