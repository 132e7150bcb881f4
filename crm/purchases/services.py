"""Recording purchases: lines priced from the catalogue, the total in fen, an activity on the
timeline and a ``purchase.recorded`` event, all in one transaction.  Refunding one: the whole
purchase, once, with a reason, an activity, an audit entry and a ``purchase.refunded`` event."""
from __future__ import annotations

from crm.audit import services as audit
from crm.activities.services import log_activity
from crm.db import database, utcnow
from crm.events.services import emit
from crm.i18n import _l, money
from crm.purchases.models import Product, Purchase, PurchaseLine


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
    pass


def refund_purchase(purchase: Purchase, user, reason: str, now=None) -> Purchase:
    """Refund the whole purchase: its status becomes ``refunded`` (totals, KPIs, segments and
    recommendations count completed purchases only), the timeline gets a purchase activity
    saying so, the customer's history an entry, and ``purchase.refunded`` tells the plugins
    (loyalty takes the points back) with ``amount_fen`` = the total and ``refund_id`` = the
    purchase (one refund per purchase: a second delivery changes nothing).

    The status changes with a conditional UPDATE: of two clerks refunding the same purchase at
    once, one succeeds and the other gets ``AlreadyRefunded``; nothing is refunded twice."""
    reason = (reason or "").strip()[:300]
    if not reason:
        raise PurchaseError("no reason")
    now = now or utcnow()
    user_id = getattr(user, "id", None)
    with database.atomic():
        changed = (Purchase.update(status="refunded", refunded_at=now, refunded_by=user_id,
                                   refund_reason=reason)
                   .where((Purchase.id == purchase.id) & (Purchase.status == "completed"))
                   .execute())
        if not changed:
            raise AlreadyRefunded(purchase.id)
        purchase = Purchase.get_by_id(purchase.id)
        customer = purchase.customer
        log_activity(customer, user, "purchase",
                     str(_l("Refund of %(amount)s: %(reason)s", amount=money(purchase.total_fen),
                            reason=reason)),
                     now, "refunded", purchase_id=purchase.id)
        audit.record("purchase.refund", user, "customer", customer.id,
                     [("purchase", str(purchase.id), ""), ("status", "completed", "refunded"),
                      ("amount", money(purchase.total_fen), ""), ("reason", "", reason)])
        emit("purchase.refunded", purchase_id=purchase.id, customer_id=customer.id,
             amount_fen=purchase.total_fen, refund_id=purchase.id, user_id=user_id)
    return purchase
