from __future__ import annotations

import json
from dataclasses import dataclass

from peewee import JOIN, fn

from crm.purchases.models import Product, Purchase, PurchaseLine, PurchaseRefund


@dataclass
class CustomerPurchases:
    rows: list            # latest purchases, each with .line_rows
    count: int
    total_fen: int


def for_customer(customer, limit: int = 10) -> CustomerPurchases:
    count, total = (Purchase.select(fn.COUNT(Purchase.id),
                                    fn.COALESCE(fn.SUM(Purchase.total_fen - Purchase.refunded_fen), 0))
                    .where((Purchase.customer == customer.id) & (Purchase.status == "completed"))
                    .tuples().get())
    rows = list(Purchase.select().where(Purchase.customer == customer.id)
                .order_by(Purchase.purchased_at.desc()).limit(limit))
    lines: dict = {}
    if rows:
        for line in _lines().where(PurchaseLine.purchase.in_([p.id for p in rows])):
            lines.setdefault(line.purchase_id, []).append(line)
    for purchase in rows:
        purchase.line_rows = lines.get(purchase.id, [])
    return CustomerPurchases(rows, count, total)


def _lines():
    """Purchase lines with their product's name and SKU (``line.product_row``)."""
    return (PurchaseLine.select(PurchaseLine, Product.name, Product.sku)
            .join(Product, attr="product_row"))


def lines_of(purchase) -> list:
    return list(_lines().where(PurchaseLine.purchase == purchase.id).order_by(PurchaseLine.id))


def refunds_of(purchase) -> list:
    """The purchase's refunds, oldest first, each with ``.items``: [(product name, quantity)]."""
    from crm.accounts.models import User
    refunds = list(PurchaseRefund.select(PurchaseRefund, User.username, User.display_name)
                   .join(User, on=(PurchaseRefund.user == User.id), attr="author",
                         join_type=JOIN.LEFT_OUTER)
                   .where(PurchaseRefund.purchase == purchase.id).order_by(PurchaseRefund.id))
    returned = {r.id: json.loads(r.lines or "[]") for r in refunds}
    ids = {item["product_id"] for items in returned.values() for item in items}
    names = dict(Product.select(Product.id, Product.name).where(Product.id.in_(list(ids)))
                 .tuples()) if ids else {}
    for r in refunds:
        r.items = [(names.get(item["product_id"], "?"), item["quantity"])
                   for item in returned[r.id]]
    return refunds


def fill_product_choices(form) -> None:
    choices = [("", "—")] + [(str(p.id), f"{p.name} · ¥{p.price_fen / 100:,.2f}")
                             for p in Product.select(Product.id, Product.name, Product.price_fen)
                             .where(Product.active == True).order_by(Product.name)]  # noqa: E712
    for entry in form.lines:
        entry.product.choices = choices
