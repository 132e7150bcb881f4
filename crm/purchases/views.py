"""Products (the catalogue) and recording purchases on the customer page."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access
from crm.purchases import queries, services
from crm.purchases.forms import ProductForm, PurchaseForm, RefundForm
from crm.purchases.models import Product, Purchase
from crm.web.htmx import render, see_other

bp = Blueprint("purchases", __name__)


@bp.before_request
@login_required
def _signed_in():
    return None


@bp.route("/customers/<int:customer_id>/purchases", methods=["GET", "POST"])
def customer_purchases(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id)
    if request.method == "GET":
        return render("purchases/customer.html", {"*": "purchases/_list.html"},
                      customer=customer, purchases=queries.for_customer(customer, 100))
    access.require(current_user, "purchase.record", customer)
    form = PurchaseForm()
    queries.fill_product_choices(form)
    if form.validate_on_submit():
        lines = []
        for entry in form.lines:
            pid = entry.product.data
            if pid and str(pid).isdigit():
                lines.append((int(pid), entry.quantity.data or 1))
        if not lines:
            form.form_errors.append(_("Choose at least one product."))
        else:
            try:
                purchase = services.record_purchase(customer, current_user, lines, form.note.data)
            except services.PurchaseError:
                form.form_errors.append(_("A product is not in the catalogue any more."))
            else:
                flash(_("Purchase of %(amount)s recorded.", amount=_money(purchase.total_fen)),
                      "success")
                return see_other(url_for("customers.detail", customer_id=customer.id)
                                 + "#purchases")
    return render("purchases/record.html", {"*": "purchases/_form.html"}, form=form,
                  customer=customer, status=422)


@bp.route("/purchases/<int:purchase_id>/refund", methods=["GET", "POST"])
def refund(purchase_id: int):
    """Refund some or all of a purchase: its lines with the quantity to return (everything not
    returned yet, by default), a reason, and the refunds made before."""
    purchase = Purchase.get_or_none(Purchase.id == purchase_id)
    if purchase is None:
        abort(404)
    customer = access.get_customer_or_404(current_user, purchase.customer_id)
    access.require(current_user, "purchase.refund", customer)
    lines = queries.lines_of(purchase)
    form = RefundForm()
    status, chosen = 200, {line.id: line.returnable for line in lines}
    if purchase.status != "completed" or not any(chosen.values()):
        form.form_errors.append(_("This purchase has already been refunded."))
        status = 409
    elif request.method == "POST":
        chosen, errors = _returned_quantities(lines)
        valid = form.validate_on_submit()
        if not errors and not any(chosen.values()):
            errors.append(_("Choose at least one item to refund."))
        form.form_errors.extend(errors)
        if valid and not errors:
            try:
                made = services.refund_purchase(purchase, current_user, form.reason.data,
                                                {k: v for k, v in chosen.items() if v})
            except services.AlreadyRefunded:
                form.form_errors.append(_("These items have been refunded in the meantime: "
                                          "check what is left and try again."))
                status = 409
                purchase = Purchase.get_by_id(purchase.id)      # what the other refund left
                lines = queries.lines_of(purchase)
                chosen = {line.id: line.returnable for line in lines}
            else:
                flash(_("Refund of %(amount)s recorded.", amount=_money(made.amount_fen)),
                      "success")
                return see_other(url_for("customers.detail", customer_id=customer.id)
                                 + "#purchases")
        else:
            status = 422
    return render("purchases/refund.html", {"*": "purchases/_refund_form.html"}, form=form,
                  purchase=purchase, lines=lines, chosen=chosen,
                  refunds=queries.refunds_of(purchase), customer=customer, status=status)


def _returned_quantities(lines) -> tuple[dict, list]:
    """The quantity to return per line from the form (``return-<line id>``), and the errors."""
    chosen, errors = {}, []
    for line in lines:
        raw = (request.form.get(f"return-{line.id}") or "0").strip()
        if not raw.isdecimal() or int(raw) > line.returnable:   # "²" is a digit, not decimal
            errors.append(_("%(product)s: return a whole number from 0 to %(most)s.",
                            product=line.product_row.name, most=line.returnable))
            chosen[line.id] = 0
        else:
            chosen[line.id] = int(raw)
    return chosen, errors


def _money(fen):
    from crm.i18n import money
    return money(fen)


@bp.route("/products")
def products():
    rows = list(Product.select().order_by(Product.active.desc(), Product.category, Product.name))
    return render("purchases/products.html", rows=rows)


@bp.route("/products/new", methods=["GET", "POST"])
@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
def product_form(product_id: int | None = None):
    access.require(current_user, "product.manage")
    product = None
    if product_id is not None:
        product = Product.get_or_none(Product.id == product_id)
        if product is None:
            abort(404)
    form = ProductForm(obj=product) if request.method == "GET" else ProductForm()
    if request.method == "GET" and product is not None:
        form.price.data = Decimal(product.price_fen) / 100
    if form.validate_on_submit():
        price_fen = int((form.price.data * 100).to_integral_value())
        clash = Product.select().where(Product.sku == form.sku.data.strip())
        if product is not None:
            clash = clash.where(Product.id != product.id)
        if clash.exists():
            form.sku.errors.append(_("Another product has this SKU."))
        else:
            values = dict(sku=form.sku.data.strip(), name=form.name.data.strip(),
                          category=(form.category.data or "").strip(), price_fen=price_fen,
                          active=form.active.data)
            if product is None:
                Product.create(**values)
            else:
                Product.update(version=Product.version + 1, **values).where(
                    Product.id == product.id).execute()
            flash(_("Product saved."), "success")
            return see_other(url_for("purchases.products"))
    status = 422 if request.method == "POST" else 200
    return render("purchases/product_form.html", {"*": "purchases/_product_form.html"},
                  form=form, product=product, status=status)
