"""Recording purchases: lines priced from the catalogue, the total in fen, an activity on the
timeline and a ``purchase.recorded`` event, all in one transaction.  Refunding some or all of
its items, with a reason, an activity, an audit entry and a ``purchase.refunded`` event."""
from __future__ import annotations

import json

from crm.audit import services as audit
from crm.activities.services import log_activity
from crm.db import database, utcnow
from crm.events.services import emit
from crm.i18n import _l, money
from crm.purchases.models import Product, Purchase, PurchaseLine, PurchaseRefund


class PurchaseError(ValueError):
    pass


def record_purchase(customer, user, lines: list[tuple[int, int]], note: str = "",
                    purchased_at=None) -> Purchase:
    """``lines``: (product id, quantity).  Prices come from the catalogue, never the form."""
    lines = [(pid, qty) for pid, qty in lines if pid and qty and qty > 0]
    if not lines:
        raise PurchaseError("no lines")
    products = {p.id: p for p in Product.select().where(
        Product.id.in_([p for p, _ in lines]) & (Product.active == True))}  # noqa: E712 on sale
    if len(products) != len({p for p, _ in lines}):
        raise PurchaseError("unknown product")
    with database.atomic():
        purchase = Purchase.create(customer=customer.id, user=getattr(user, "id", None),
                                   note=(note or "").strip(), **({"purchased_at": purchased_at}
                                                         if purchased_at else {}))
        total = 0
        rows = []
        for pid, qty in lines:
            product = products[pid]
            amount = product.price_fen * qty
            total += amount
            rows.append(dict(purchase=purchase.id, product=pid, quantity=qty,
                             unit_price_fen=product.price_fen, amount_fen=amount))
        PurchaseLine.insert_many(rows).execute()
        purchase.total_fen = total
        purchase.save(only=[Purchase.total_fen])
        summary = "; ".join(f"{products[pid].name} × {qty}" for pid, qty in lines)
        log_activity(customer, user, "purchase", summary, purchase.purchased_at, "done",
                     purchase_id=purchase.id)
        emit("purchase.recorded", purchase_id=purchase.id, customer_id=customer.id,
             total_fen=total, lines=[{"product_id": pid, "quantity": qty,
                                      "amount_fen": products[pid].price_fen * qty}
                                     for pid, qty in lines])
    return purchase


class AlreadyRefunded(PurchaseError):
    """Nothing of the purchase is left to refund, or what was asked is more than is left
    (another refund came first)."""


def refund_purchase(purchase: Purchase, user, reason: str, quantities: dict | None = None,
                    now=None) -> PurchaseRefund:
    """Refund some of a purchase: ``quantities`` maps a line id to the quantity returned now
    (``None``: everything not returned yet).  Amounts come from the lines' unit prices, never
    from the form.  In one transaction: each line's returned quantity and the purchase's
    refunded amount go up by conditional UPDATEs (of two clerks refunding the same items at
    once, the second gets ``AlreadyRefunded`` and nothing of theirs is written); the status
    becomes ``refunded`` when every line is returned in full; a ``purchase_refund`` row keeps
    what, why, who and when; the timeline gets a purchase activity (outcome *refunded*), the
    customer's history an entry, and ``purchase.refunded`` tells the plugins (``amount_fen``
    of this refund, ``refund_id``: loyalty takes the points back pro rata).

    The customer's totals, the KPIs, segments and recommendations count each completed
    purchase at its net amount (``total_fen - refunded_fen``)."""
    reason = (reason or "").strip()[:300]
    if not reason:
        raise PurchaseError("no reason")
    now = now or utcnow()
    user_id = getattr(user, "id", None)
    with database.atomic():
        lines = {line.id: line for line in PurchaseLine.select().where(
            PurchaseLine.purchase == purchase.id)}
        if quantities is None:
            wanted = {lid: line.returnable for lid, line in lines.items() if line.returnable > 0}
        else:
            wanted = {int(lid): int(q) for lid, q in quantities.items() if q}
        if not wanted:
            raise AlreadyRefunded(purchase.id) if quantities is None else PurchaseError("nothing")
        if any(lid not in lines or q < 0 for lid, q in wanted.items()):
            raise PurchaseError("not a line of this purchase")
        returned, amount = [], 0
        for lid, quantity in sorted(wanted.items()):
            line = lines[lid]
            changed = (PurchaseLine.update(returned_quantity=PurchaseLine.returned_quantity
                                           + quantity)
                       .where((PurchaseLine.id == lid) & (PurchaseLine.returned_quantity
                                                          + quantity <= PurchaseLine.quantity))
                       .execute())
            if not changed:
                raise AlreadyRefunded(purchase.id)
            line_amount = line.unit_price_fen * quantity
            amount += line_amount
            returned.append({"line_id": lid, "product_id": line.product_id,
                             "quantity": quantity, "amount_fen": line_amount})
        changed = (Purchase.update(refunded_fen=Purchase.refunded_fen + amount)
                   .where((Purchase.id == purchase.id) & (Purchase.status == "completed")
                          & (Purchase.refunded_fen + amount <= Purchase.total_fen))
                   .execute())
        if not changed:
            raise AlreadyRefunded(purchase.id)
        left = (PurchaseLine.select().where((PurchaseLine.purchase == purchase.id) & (
            PurchaseLine.returned_quantity < PurchaseLine.quantity)).exists())
        if not left:
            Purchase.update(status="refunded").where(Purchase.id == purchase.id).execute()
        refund = PurchaseRefund.create(purchase=purchase.id, amount_fen=amount, reason=reason,
                                       lines=json.dumps(returned), user=user_id, created_at=now)
        names = dict(Product.select(Product.id, Product.name).where(
            Product.id.in_([r["product_id"] for r in returned])).tuples())
        items = "; ".join(f"{names.get(r['product_id'], '?')} × {r['quantity']}"
                          for r in returned)
        customer = purchase.customer
        log_activity(customer, user, "purchase",
                     str(_l("Refund of %(amount)s (%(items)s): %(reason)s",
                            amount=money(amount), items=items, reason=reason)),
                     now, "refunded", purchase_id=purchase.id)
        audit.record("purchase.refund", user, "customer", customer.id,
                     [("purchase", str(purchase.id), ""), ("items", "", items),
                      ("amount", "", money(amount)), ("reason", "", reason)]
                     + ([("status", "completed", "refunded")] if not left else []))
        emit("purchase.refunded", purchase_id=purchase.id, customer_id=customer.id,
             amount_fen=amount, refund_id=refund.id, user_id=user_id,
             lines=[{"product_id": r["product_id"], "quantity": r["quantity"],
                     "amount_fen": r["amount_fen"]} for r in returned])
    return refund
