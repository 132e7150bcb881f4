"""Recording purchases: lines priced from the catalogue, the total in fen, an activity on the
timeline and a ``purchase.recorded`` event, all in one transaction."""
from __future__ import annotations

from crm.activities.services import log_activity
from crm.db import database
from crm.events.services import emit
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
