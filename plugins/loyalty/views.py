"""The counter (retail staff) and the loyalty administration pages.

Every page is plain HTML that works without JavaScript; htmx makes the steps faster: the
look-up answers ``#results`` as you type, and each step's form loads into ``#step`` of the
member screen (the same form is a full page of its own without JavaScript).  POSTs answer 303
(the receipt, or the form again with 422 and its errors).  Every customer comes through
``crm.access.get_customer_or_404`` / ``scoped_customers``: outside the scope is a 404.
"""
from __future__ import annotations

import json
from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from peewee import fn

from crm import access
from crm.i18n import _l, money
from crm.web.htmx import render, see_other

from . import queries, services
from .forms import (AdjustForm, AdminGiftForm, CashForm, CounterPurchaseForm, EnrolExistingForm,
                    EnrolForm, GiftForm, ProgramForm, RefundForm, ReviewForm, TierForm)
from .models import (CORE_RULES, LoyaltyEntry, LoyaltyGift, LoyaltyMember, LoyaltyReconciliation,
                     LoyaltyRule, LoyaltyTier)

bp = Blueprint("loyalty", __name__, url_prefix="/loyalty", template_folder="templates")

COUNTER, ADJUST, ADMIN = "loyalty.counter", "loyalty.adjust", "loyalty.admin"

KIND_LABELS = {
    "purchase": _l("Purchase"), "checkin": _l("Check-in"), "review": _l("Product review"),
    "birthday": _l("Birthday"), "release": _l("Points now spendable"), "expire": _l("Expired"),
    "redeem": _l("Redeemed"), "refund": _l("Return"), "adjust": _l("Adjustment"),
    "repay": _l("Owed points repaid"),
}
TIER_CHANGE_LABELS = {"enrol": _l("Enrolled"), "upgrade": _l("Upgrade"),
                      "downgrade": _l("Downgrade")}


@bp.before_request
@login_required
def _signed_in():
    return None


# -- template helpers (app-wide: the panel and the cards render inside core views) --------------

@bp.app_template_global("loyalty_name")
def _name(item):
    return queries.tier_name(item)


@bp.app_template_global("loyalty_kind")
def _kind(kind: str) -> str:
    if kind in KIND_LABELS:
        return str(KIND_LABELS[kind])
    return str(_rule_types().get(kind, kind))


@bp.app_template_global("loyalty_threshold")
def _threshold(tier) -> str:
    if tier.basis == "spend":
        return _("spend %(amount)s", amount=money(tier.threshold))
    return _("%(points)s points earned", points=tier.threshold)


@bp.app_template_global("loyalty_reason")
def _reason(change) -> str:
    """A tier change's reason, from its stored figures."""
    try:
        data = json.loads(change.reason or "{}")
    except ValueError:
        return change.reason or ""
    if not data:
        return ""
    if data.get("basis") == "spend":
        return _("qualifying spend %(value)s over %(days)s days (threshold %(threshold)s)",
                 value=money(data["value"]), days=data["window"],
                 threshold=money(data["threshold"]))
    return _("%(value)s points earned over %(days)s days (threshold %(threshold)s)",
             value=data.get("value"), days=data.get("window"), threshold=data.get("threshold"))


@bp.app_template_global("loyalty_change")
def _change(change) -> str:
    """"Upgrade: 金卡" for a tier change (the reason is on the member's history)."""
    tier = LoyaltyTier.get_or_none(LoyaltyTier.id == change.to_tier)
    label = TIER_CHANGE_LABELS.get(change.kind, change.kind)
    return _("%(change)s: %(tier)s", change=label, tier=queries.tier_name(tier) if tier else "?")


def _rule_types() -> dict:
    """Rule types other plugins offer (``loyalty_rule_types``): kind -> label."""
    from crm.plugins import host
    from .hookspecs import RuleType
    out = {}
    for _plugin, result in host().safe_call("loyalty_rule_types"):
        for item in result or []:
            if isinstance(item, RuleType) and item.kind not in CORE_RULES:
                out[item.kind] = item
    return {kind: item.label for kind, item in out.items()} if out else {}


# -- helpers ------------------------------------------------------------------------------------

def _customer(customer_id: int):
    """The customer inside the user's scope (else 404) whom the user may serve at the counter."""
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, COUNTER, customer)
    return customer


def _member(customer, settle: bool = True):
    member = services.member_for(customer.id)
    if member is not None and settle:
        if any(services.settle(member.id)):
            member = LoyaltyMember.get_by_id(member.id)
    return member


def _fail(form, exc) -> None:
    form.form_errors.append(str(exc))


def _key(form) -> None:
    """A fresh idempotency key for a form shown for the first time."""
    if not form.key.data:
        form.key.data = services.new_key()


def _surface_key(form) -> None:
    """A hidden key that failed validation (a form from an old page, or tampered with): say so
    at the top of the form and give it a fresh key, so that sending it again works."""
    key = getattr(form, "key", None)
    if key is not None and key.errors:
        form.form_errors.extend(str(e) for e in key.errors)
        key.errors = []
        key.data = services.new_key()


def _receipt(customer, entry=None, purchase_id=None):
    args = {"entry": entry.id} if entry is not None else {"purchase": purchase_id}
    return url_for("loyalty.receipt", customer_id=customer.id, **args)


def _step(customer, member, template: str, status: int = 200, **context):
    """A step of the counter: its form alone for htmx (``#step``), else a page with the
    member's header above it."""
    _surface_key(context.get("form"))
    summary = queries.summary(member) if member is not None else None
    return render("loyalty/step.html", {"step": template, "*": template}, status=status,
                  customer=customer, member=member, summary=summary, step_template=template,
                  **context)


def _done(customer, result, message: str):
    if result.replay:
        flash(_("This was recorded already (the same form was sent twice): here is its "
                "receipt."), "success")
    else:
        flash(message, "success")
    return see_other(_receipt(customer, result.entry))


# -- the counter: look-up ---------------------------------------------------------------------

@bp.route("/counter")
def counter():
    access.require(current_user, COUNTER)
    q = (request.args.get("q") or "").strip()[:100]
    scope = access.scoped_customers(current_user)
    # A scanned card (the scanner types the number and Enter): straight to the member.  Not
    # while typing (htmx's search as you type): a short card number may begin a longer one.
    submitted = not request.headers.get("HX-Request") or \
        request.headers.get("HX-Trigger") == "lookup"
    if q and submitted:
        exact = queries.exact_card(scope, q)
        if exact is not None:
            return see_other(url_for("loyalty.member", customer_id=exact.id))
    hits = queries.search(scope, q) if q else []
    return render("loyalty/counter.html", {"results": "loyalty/_results.html"}, q=q, hits=hits,
                  may_enrol=access.can(current_user, "customer.create"))


@bp.route("/counter/enrol", methods=["GET", "POST"])
def enrol_new():
    """A new member in one form: name, mobile, optional card, birthday and consent."""
    access.require(current_user, COUNTER)
    access.require(current_user, "customer.create")
    form = EnrolForm()
    if request.method == "GET":
        form.name.data = request.args.get("name", "")[:100]
        _key(form)
    existing = []
    if form.validate_on_submit():
        from crm.customers import services as customers
        scope = access.scoped_customers(current_user)
        existing = [] if request.form.get("confirm_duplicate") else [
            c for c, why in customers.likely_duplicates(scope, form.name.data, form.phone.data,
                                                        "") if why == "phone"]
        again = services._enrolled_with(f"new:{form.key.data}")
        if again is not None:
            flash(_("This was recorded already (the same form was sent twice)."), "success")
            return see_other(url_for("loyalty.member", customer_id=again.customer_id))
        if existing:
            form.phone.errors = list(form.phone.errors) + [
                _("A customer with this phone number exists already: enrol them instead, or "
                  "confirm that this is another person.")]
        else:
            data = {"kind": "person", "name": form.name.data.strip(), "phone": form.phone.data,
                    "owner": current_user.id, "source": "walk_in",
                    "consent_sms": bool(form.consent.data)}
            settings = _customer_settings()
            try:
                member, replay = services.enrol_new_customer(
                    data, current_user, settings, card_no=form.card_no.data,
                    birthday=form.birthday.data, consent=form.consent.data,
                    client_key=form.key.data)
            except services.LoyaltyError as exc:
                _fail(form, exc)
            else:
                if not replay:
                    flash(_("Member enrolled: card %(card)s.", card=member.card_no), "success")
                return see_other(url_for("loyalty.member", customer_id=member.customer_id))
    _surface_key(form)
    status = 422 if request.method == "POST" else 200
    return render("loyalty/enrol.html", {"*": "loyalty/_enrol_form.html"}, form=form,
                  existing=existing, status=status)


def _customer_settings():
    from crm.customers import services as customers
    return customers.Settings(current_app.config["CUSTOMER_NUMBER_PATTERN"],
                              current_app.config["BABEL_DEFAULT_TIMEZONE"])


# -- the counter: a member ----------------------------------------------------------------------

@bp.route("/counter/<int:customer_id>", endpoint="member")
def member_view(customer_id: int):
    customer = _customer(customer_id)
    member = _member(customer)
    context = dict(customer=customer, member=member, summary=None, recent=[], changes=[])
    if member is not None:
        context.update(summary=queries.summary(member), recent=queries.entries(member, 8),
                       changes=queries.tier_changes(member, 3),
                       may_adjust=access.can(current_user, ADJUST, customer))
    else:
        form = EnrolExistingForm()
        _key(form)
        context["form"] = form
    return render("loyalty/member.html", **context)


@bp.route("/counter/<int:customer_id>/enrol", methods=["GET", "POST"])
def enrol(customer_id: int):
    customer = _customer(customer_id)
    form = EnrolExistingForm()
    if request.method == "GET":
        if services.member_for(customer.id) is not None:
            return member_view(customer_id)           # a member already: their screen
        _key(form)
    elif form.validate_on_submit():
        try:
            member, replay = services.enrol(customer, card_no=form.card_no.data,
                                            birthday=form.birthday.data,
                                            consent=form.consent.data, user_id=current_user.id,
                                            client_key=form.key.data)
        except services.AlreadyMember:
            flash(_("This customer is a member already."), "success")
            return see_other(url_for("loyalty.member", customer_id=customer.id))
        except services.LoyaltyError as exc:
            _fail(form, exc)
        else:
            if not replay:
                flash(_("Member enrolled: card %(card)s.", card=member.card_no), "success")
            return see_other(url_for("loyalty.member", customer_id=customer.id))
    status = 422 if request.method == "POST" else 200
    return _step(customer, _member(customer, settle=False), "loyalty/_step_enrol.html",
                 status=status, form=form)


def _enrol_first(customer):
    """A step for a customer who is no member yet: the enrolment form instead (200 for a look,
    422 for a POST, which did nothing)."""
    form = EnrolExistingForm(formdata=None)
    _key(form)
    form.form_errors.append(_("Enrol the customer first."))
    return _step(customer, None, "loyalty/_step_enrol.html",
                 status=422 if request.method == "POST" else 200, form=form)


@bp.route("/counter/<int:customer_id>/purchase", methods=["GET", "POST"])
def purchase(customer_id: int):
    from crm.purchases import queries as purchase_queries
    from crm.purchases.services import PurchaseError
    customer = _customer(customer_id)
    access.require(current_user, "purchase.record", customer)
    member = _member(customer)
    if member is None:
        return _enrol_first(customer)
    form = CounterPurchaseForm()
    purchase_queries.fill_product_choices(form)
    if request.method == "GET":
        _key(form)
    elif form.validate_on_submit():
        lines = [(int(e.product.data), e.quantity.data or 1) for e in form.lines
                 if e.product.data and str(e.product.data).isdigit()]
        if not lines:
            form.form_errors.append(_("Choose at least one product."))
        else:
            try:
                purchase_id, replay = services.record_counter_purchase(
                    customer, member.id, current_user, lines, form.note.data, form.key.data)
            except PurchaseError:
                form.form_errors.append(_("A product is not in the catalogue any more."))
            except services.LoyaltyError as exc:
                _fail(form, exc)
            else:
                _earn_now(purchase_id)
                if replay:
                    flash(_("This was recorded already (the same form was sent twice): here "
                            "is its receipt."), "success")
                return see_other(_receipt(customer, purchase_id=purchase_id))
    status = 422 if request.method == "POST" else 200
    return _step(customer, member, "loyalty/_step_purchase.html", status=status, form=form)


def _earn_now(purchase_id: int) -> None:
    """Show the points on the receipt at once.  The purchase is committed already; if this
    fails, the ``purchase.recorded`` event credits them (the same key: never twice)."""
    try:
        services.earn_for_purchase(purchase_id)
    except Exception:  # noqa: BLE001 - the outbox handler is the guarantee
        current_app.logger.exception("loyalty: points of purchase %s left to the outbox",
                                     purchase_id)


@bp.route("/counter/<int:customer_id>/gift", methods=["GET", "POST"])
def gift(customer_id: int):
    customer = _customer(customer_id)
    member = _member(customer)
    if member is None:
        return _enrol_first(customer)
    form = GiftForm()
    available = queries.gifts()
    form.gift.choices = [(g.id, _("%(name)s · %(points)s points (%(stock)s left)",
                                  name=queries.tier_name(g), points=g.points, stock=g.stock))
                         for g in available]
    if request.method == "GET":
        _key(form)
        wanted = request.args.get("gift", type=int)
        if wanted in [g.id for g in available]:
            form.gift.data = wanted
    elif form.validate_on_submit():
        try:
            result = services.redeem_gift(member.id, form.gift.data, form.quantity.data,
                                          form.key.data, user_id=current_user.id)
        except services.LoyaltyError as exc:
            _fail(form, exc)
        else:
            return _done(customer, result, _("Gift redeemed."))
    status = 422 if request.method == "POST" else 200
    return _step(customer, member, "loyalty/_step_gift.html", status=status, form=form,
                 available=available)


@bp.route("/counter/<int:customer_id>/cash", methods=["GET", "POST"])
def cash(customer_id: int):
    customer = _customer(customer_id)
    member = _member(customer)
    if member is None:
        return _enrol_first(customer)
    form = CashForm()
    if request.method == "GET":
        _key(form)
    elif form.validate_on_submit():
        try:
            result = services.redeem_cash(member.id, form.points.data, form.key.data,
                                          user_id=current_user.id)
        except services.LoyaltyError as exc:
            _fail(form, exc)
        else:
            return _done(customer, result, _("Take %(amount)s off the bill.",
                                             amount=money(result.redemption.cash_fen)))
    status = 422 if request.method == "POST" else 200
    return _step(customer, member, "loyalty/_step_cash.html", status=status, form=form)


@bp.route("/counter/<int:customer_id>/checkin", methods=["POST"])
def checkin(customer_id: int):
    customer = _customer(customer_id)
    member = _member(customer)
    if member is None:
        return _enrol_first(customer)
    try:
        result = services.checkin(member.id, user_id=current_user.id)
    except services.LoyaltyError as exc:
        flash(str(exc), "error")
        return see_other(url_for("loyalty.member", customer_id=customer.id))
    if result.replay:
        flash(_("Checked in today already."), "success")
        return see_other(url_for("loyalty.member", customer_id=customer.id))
    return _done(customer, result, _("Checked in: %(points)s points.",
                                     points=result.entry.points))


@bp.route("/counter/<int:customer_id>/review", methods=["GET", "POST"])
def review(customer_id: int):
    customer = _customer(customer_id)
    member = _member(customer)
    if member is None:
        return _enrol_first(customer)
    form = ReviewForm()
    if request.method == "GET":
        _key(form)
    elif form.validate_on_submit():
        try:
            result = services.award(member.id, "review", form.ref.data,
                                    user_id=current_user.id)
        except services.LoyaltyError as exc:
            _fail(form, exc)
        else:
            if result.replay:
                form.ref.errors = list(form.ref.errors) + [
                    _("This review has earned its points already.")]
            else:
                return _done(customer, result, _("Review points credited."))
    status = 422 if request.method == "POST" else 200
    return _step(customer, member, "loyalty/_step_review.html", status=status, form=form)


@bp.route("/counter/<int:customer_id>/adjust", methods=["GET", "POST"])
def adjust(customer_id: int):
    customer = _customer(customer_id)
    access.require(current_user, ADJUST, customer)
    member = _member(customer)
    if member is None:
        return _enrol_first(customer)
    form = AdjustForm()
    if request.method == "GET":
        _key(form)
    elif form.validate_on_submit():
        try:
            result = services.adjust(member.id, form.points.data, form.reason.data,
                                     form.key.data, user_id=current_user.id)
        except services.LoyaltyError as exc:
            _fail(form, exc)
        else:
            return _done(customer, result, _("Points adjusted."))
    status = 422 if request.method == "POST" else 200
    return _step(customer, member, "loyalty/_step_adjust.html", status=status, form=form)


def _refundable(member) -> list:
    """The member's purchases that earned points, newest first (the last 50)."""
    from crm.purchases.models import Purchase
    rows = list(LoyaltyEntry.select(LoyaltyEntry.purchase_id, LoyaltyEntry.spend_fen,
                                    LoyaltyEntry.earned, LoyaltyEntry.qualify_at)
                .where((LoyaltyEntry.member == member.id) & (LoyaltyEntry.kind == "purchase")
                       & (LoyaltyEntry.spend_fen > 0))
                .order_by(LoyaltyEntry.id.desc()).limit(50))
    ids = [r.purchase_id for r in rows]
    live = {p for (p,) in Purchase.select(Purchase.id).where(Purchase.id.in_(ids)).tuples()} \
        if ids else set()
    return [r for r in rows if r.purchase_id in live]


@bp.route("/counter/<int:customer_id>/return", methods=["GET", "POST"])
def refund(customer_id: int):
    """Take back the points of a returned purchase, pro rata to the amount refunded."""
    customer = _customer(customer_id)
    access.require(current_user, ADJUST, customer)
    member = _member(customer)
    if member is None:
        return _enrol_first(customer)
    form = RefundForm()
    rows = _refundable(member)
    form.purchase.choices = [(r.purchase_id, _("%(date)s · %(amount)s · %(points)s points",
                                               date=_date(r.qualify_at),
                                               amount=money(r.spend_fen), points=r.earned))
                             for r in rows]
    if request.method == "GET":
        _key(form)
    elif form.validate_on_submit():
        fen = int((form.amount.data * 100).to_integral_value())
        if form.amount.data * 100 != Decimal(fen):
            form.amount.errors = list(form.amount.errors) + [_("Use whole fen (0.01).")]
        else:
            try:
                result = services.refund_purchase(
                    form.purchase.data, fen, f"refund:{member.id}:{form.key.data}",
                    user_id=current_user.id)
            except services.LoyaltyError as exc:
                _fail(form, exc)
            else:
                if result is None:
                    form.form_errors.append(_("This purchase earned no points."))
                else:
                    return _done(customer, result, _("Points of the return taken back."))
    status = 422 if request.method == "POST" else 200
    return _step(customer, member, "loyalty/_step_refund.html", status=status, form=form)


def _date(value):
    from flask_babel import format_date
    return format_date(value, "short") if value else ""


@bp.route("/counter/<int:customer_id>/receipt")
def receipt(customer_id: int):
    """A receipt to show or print: a purchase and its points, or any other movement."""
    from crm.purchases.models import Product, Purchase, PurchaseLine
    customer = _customer(customer_id)
    member = _member(customer, settle=False)
    wanted_purchase = request.args.get("purchase", type=int)
    wanted_entry = request.args.get("entry", type=int)
    if member is None:
        return _enrol_first(customer)
    if not (wanted_purchase or wanted_entry):      # the receipt of the latest movement
        latest = queries.entries(member, 1)
        if not latest:
            return member_view(customer_id)
        wanted_entry = latest[0].id
    entry = purchase = None
    lines = []
    if wanted_purchase:
        purchase = Purchase.get_or_none((Purchase.id == wanted_purchase)
                                        & (Purchase.customer == customer.id))
        if purchase is None:
            abort(404)
        lines = list(PurchaseLine.select(PurchaseLine, Product.name).join(Product,
                                                                          attr="product_row")
                     .where(PurchaseLine.purchase == purchase.id))
        entry = LoyaltyEntry.get_or_none(LoyaltyEntry.key == f"purchase:{purchase.id}")
    else:
        entry = LoyaltyEntry.get_or_none((LoyaltyEntry.id == wanted_entry)
                                         & (LoyaltyEntry.member == member.id))
        if entry is None:
            abort(404)
    redemption = queries.redemption_for(entry) if entry is not None else None
    summary = queries.summary(LoyaltyMember.get_by_id(member.id))
    return render("loyalty/receipt.html", {"*": "loyalty/_receipt.html"}, customer=customer,
                  member=member, entry=entry, purchase=purchase, lines=lines,
                  redemption=redemption, summary=summary)


@bp.route("/counter/<int:customer_id>/history")
def history(customer_id: int):
    customer = _customer(customer_id)
    member = _member(customer, settle=False)
    if member is None:
        return _enrol_first(customer)
    before = request.args.get("before", type=int)
    rows = queries.entries(member, 51, before)
    more = len(rows) > 50
    return render("loyalty/history.html", {"history-more": "loyalty/_history_rows.html"},
                  customer=customer, member=member, rows=rows[:50], more=more)


# -- administration -----------------------------------------------------------------------------

def _admin():
    access.require(current_user, ADMIN)


@bp.route("/admin", methods=["GET", "POST"])
def admin_index():
    _admin()
    prog = services.program()
    form = ProgramForm(obj=prog) if request.method == "GET" else ProgramForm()
    if request.method == "GET":
        form.version.data = prog.version
    elif form.validate_on_submit():
        values = {name: form[name].data for name in (
            "pending_days", "expiry_mode", "expiry_days", "expiry_years",
            "cash_points_per_yuan", "window_days", "downgrade_policy", "grace_days")}
        values["card_prefix"] = (form.card_prefix.data or "").strip()
        updated = (services.LoyaltyProgram.update(version=services.LoyaltyProgram.version + 1,
                                                  **values)
                   .where((services.LoyaltyProgram.id == 1)
                          & (services.LoyaltyProgram.version == _int(form.version.data)))
                   .execute())
        if updated:
            flash(_("Settings saved."), "success")
            return see_other(url_for("loyalty.admin_index"))
        form.form_errors.append(_("Somebody changed the settings meanwhile. Reload the page to "
                                  "see their version."))
    runs = list(LoyaltyReconciliation.select().order_by(LoyaltyReconciliation.id.desc())
                .limit(5))
    status = 422 if request.method == "POST" else 200
    return render("loyalty/admin/index.html", {"*": "loyalty/admin/_program_form.html"},
                  form=form, runs=runs, status=status)


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@bp.route("/admin/nightly", methods=["POST"])
def admin_nightly():
    _admin()
    run = services.nightly()
    if run.differences:
        flash(_("Reconciliation found %(n)s difference(s): see the report below.",
                n=run.differences), "error")
    else:
        flash(_("Nightly job done: every balance agrees with its ledger."), "success")
    return see_other(url_for("loyalty.admin_index"))


@bp.route("/admin/tiers")
def admin_tiers():
    _admin()
    counts = dict(LoyaltyMember.select(LoyaltyMember.tier, fn.COUNT(LoyaltyMember.id))
                  .group_by(LoyaltyMember.tier).tuples())
    return render("loyalty/admin/tiers.html", rows=services.tiers(), counts=counts)


@bp.route("/admin/tiers/new", methods=["GET", "POST"])
@bp.route("/admin/tiers/<int:tier_id>", methods=["GET", "POST"])
def admin_tier(tier_id: int | None = None):
    _admin()
    tier = None
    if tier_id is not None:
        tier = LoyaltyTier.get_or_none(LoyaltyTier.id == tier_id)
        if tier is None:
            abort(404)
    form = TierForm(obj=tier) if request.method == "GET" else TierForm()
    if request.method == "GET" and tier is not None:
        form.version.data = tier.version
        form.threshold.data = Decimal(tier.threshold) / 100 if tier.basis == "spend" \
            else Decimal(tier.threshold)
    if form.validate_on_submit():
        threshold = form.threshold.data
        if form.basis.data == "spend":
            threshold = threshold * 100
        if threshold != threshold.to_integral_value():
            form.threshold.errors = list(form.threshold.errors) + [
                _("Use whole fen for spend and whole points for points.")]
        else:
            values = dict(code=form.code.data.strip(), name=form.name.data.strip(),
                          name_en=(form.name_en.data or "").strip(), rank=form.rank.data,
                          basis=form.basis.data, threshold=int(threshold),
                          multiplier_pct=form.multiplier_pct.data,
                          discount_pct=form.discount_pct.data,
                          birthday_points=form.birthday_points.data)
            clash = LoyaltyTier.select().where((LoyaltyTier.code == values["code"])
                                               | (LoyaltyTier.rank == values["rank"]))
            if tier is not None:
                clash = clash.where(LoyaltyTier.id != tier.id)
            if clash.exists():
                form.rank.errors = list(form.rank.errors) + [
                    _("Another tier has this code or this rank.")]
            elif tier is None:
                LoyaltyTier.create(**values)
                flash(_("Tier saved."), "success")
                return see_other(url_for("loyalty.admin_tiers"))
            else:
                updated = (LoyaltyTier.update(version=LoyaltyTier.version + 1, **values)
                           .where((LoyaltyTier.id == tier.id)
                                  & (LoyaltyTier.version == _int(form.version.data))).execute())
                if updated:
                    flash(_("Tier saved."), "success")
                    return see_other(url_for("loyalty.admin_tiers"))
                form.form_errors.append(_("Somebody changed this tier meanwhile. Reload the "
                                          "page to see their version."))
    status = 422 if request.method == "POST" else 200
    return render("loyalty/admin/tier_form.html", {"*": "loyalty/admin/_tier_form.html"},
                  form=form, tier=tier, status=status)


@bp.route("/admin/rules", methods=["GET", "POST"])
def admin_rules():
    """Every earning rule on one form: points (or points per yuan for purchases), on/off."""
    _admin()
    kinds = list(CORE_RULES)
    labels = {k: KIND_LABELS[k] for k in CORE_RULES}
    defaults = {}
    from crm.plugins import host
    from .hookspecs import RuleType
    for _plugin, result in host().safe_call("loyalty_rule_types"):
        for item in result or []:
            if isinstance(item, RuleType) and item.kind not in labels:
                kinds.append(item.kind)
                labels[item.kind] = item.label
                defaults[item.kind] = item.default_points
    rules = {r.kind: r for r in LoyaltyRule.select()}
    errors: dict = {}
    values: dict = {}
    if request.method == "POST":          # (the app's CSRFProtect checked the token)
        for kind in kinds:
            field = "rate" if kind == "purchase" else "points"
            raw = (request.form.get(f"{kind}-{field}") or "").strip()
            try:
                number = int(raw)
                if not 0 <= number <= 1_000_000:
                    raise ValueError
            except ValueError:
                errors[kind] = _("A whole number from 0 to 1,000,000.")
                number = raw
            values[kind] = (field, number, request.form.get(f"{kind}-active") == "y")
        if not errors:
            with services.write_transaction():
                for kind, (field, number, active) in values.items():
                    (LoyaltyRule.insert(kind=kind, **{field: number}, active=active)
                     .on_conflict(conflict_target=[LoyaltyRule.kind],
                                  update={getattr(LoyaltyRule, field): number,
                                          LoyaltyRule.active: active,
                                          LoyaltyRule.version: LoyaltyRule.version + 1})
                     .execute())
            flash(_("Earning rules saved."), "success")
            return see_other(url_for("loyalty.admin_rules"))
    rows = []
    for kind in kinds:
        current = rules.get(kind)
        field = "rate" if kind == "purchase" else "points"
        if kind in values:
            number, active = values[kind][1], values[kind][2]
        elif current is not None:
            number, active = getattr(current, field), current.active
        else:
            number, active = defaults.get(kind, 0), False
        rows.append(dict(kind=kind, label=labels[kind], field=field, value=number,
                         active=active, error=errors.get(kind)))
    status = 422 if errors else 200
    return render("loyalty/admin/rules.html", {"*": "loyalty/admin/_rules_form.html"},
                  rows=rows, status=status)


@bp.route("/admin/gifts")
def admin_gifts():
    _admin()
    return render("loyalty/admin/gifts.html", rows=queries.gifts(available_only=False))


@bp.route("/admin/gifts/new", methods=["GET", "POST"])
@bp.route("/admin/gifts/<int:gift_id>", methods=["GET", "POST"])
def admin_gift(gift_id: int | None = None):
    _admin()
    gift = None
    if gift_id is not None:
        gift = LoyaltyGift.get_or_none(LoyaltyGift.id == gift_id)
        if gift is None:
            abort(404)
    form = AdminGiftForm(obj=gift) if request.method == "GET" else AdminGiftForm()
    if request.method == "GET":
        form.add_stock.data = 0
        if gift is not None:
            form.version.data = gift.version
    if form.validate_on_submit():
        add = form.add_stock.data or 0
        values = dict(name=form.name.data.strip(), name_en=(form.name_en.data or "").strip(),
                      points=form.points.data, active=form.active.data)
        if gift is None:
            if add < 0:
                form.add_stock.errors = list(form.add_stock.errors) + [
                    _("Stock cannot go below zero.")]
            else:
                LoyaltyGift.create(stock=add, **values)
                flash(_("Gift saved."), "success")
                return see_other(url_for("loyalty.admin_gifts"))
        else:
            # stock moves by a relative UPDATE: redemptions at the counter meanwhile stay counted
            updated = (LoyaltyGift.update(version=LoyaltyGift.version + 1,
                                          stock=LoyaltyGift.stock + add, **values)
                       .where((LoyaltyGift.id == gift.id)
                              & (LoyaltyGift.version == _int(form.version.data))
                              & (LoyaltyGift.stock + add >= 0)).execute())
            if updated:
                flash(_("Gift saved."), "success")
                return see_other(url_for("loyalty.admin_gifts"))
            fresh = LoyaltyGift.get_by_id(gift.id)
            if fresh.version != _int(form.version.data):
                form.form_errors.append(_("Somebody changed this gift meanwhile. Reload the page "
                                          "to see their version."))
            else:
                form.add_stock.errors = list(form.add_stock.errors) + [
                    _("Stock cannot go below zero.")]
    status = 422 if request.method == "POST" else 200
    return render("loyalty/admin/gift_form.html", {"*": "loyalty/admin/_gift_form.html"},
                  form=form, gift=gift, status=status)
