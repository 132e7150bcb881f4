"""Loyalty demo data for ``crm demo`` (the core's ``crm_demo_data`` hook): a gift catalogue,
about half of the demo's private customers enrolled when they became customers, their
purchases earning points in the order they happened (pending, then spendable, some expired
by now), check-ins, gift and cash redemptions, tier upgrades, and a first nightly run.
Written through the services, like the counter does; deterministic (``rng`` only)."""
from __future__ import annotations

import datetime as dt

from crm.db import utcnow

from . import services
from .models import LoyaltyGift, LoyaltyMember

GIFTS = [("帆布购物袋", "Canvas tote bag", 300, 40), ("保温杯", "Vacuum flask", 1200, 15),
         ("精品茶礼盒", "Tea gift box", 2500, 8), ("蓝牙音箱", "Bluetooth speaker", 6000, 3),
         ("电影票两张", "Two cinema tickets", 1800, 0)]


def _key(rng) -> str:
    return "%032x" % rng.getrandbits(128)


def load(app, rng) -> None:
    from crm.accounts.models import User
    from crm.customers.models import Customer
    from crm.purchases.models import Purchase
    if LoyaltyMember.select().exists():
        return                                   # idempotent, like the core's demo
    gifts = [LoyaltyGift.create(name=n, name_en=e, points=p, stock=s) for n, e, p, s in GIFTS]
    clerk = User.get_or_none(User.username == "clerk")
    clerk_id = clerk.id if clerk else None
    now = utcnow()
    people = list(Customer.select().where((Customer.kind == "person")
                                          & Customer.deleted_at.is_null())
                  .order_by(Customer.id))
    for customer in people:
        if rng.random() >= 0.55:
            continue
        prefix = services.program().card_prefix
        body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(8))
        birthday = dt.date(rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28)) \
            if rng.random() < 0.7 else None
        try:
            member, _replay = services.enrol(
                customer, card_no=body + services.luhn_digit(body), birthday=birthday,
                consent=rng.random() < 0.7, user_id=clerk_id, now=customer.created_at)
        except services.LoyaltyError:
            continue
        # the member's life, in time order: purchases, check-ins, redemptions
        timeline = [(p.purchased_at, "purchase", p.id) for p in
                    Purchase.select(Purchase.id, Purchase.purchased_at)
                    .where(Purchase.customer == customer.id).order_by(Purchase.purchased_at)]
        span = max((now - customer.created_at).days, 1)
        for _ in range(rng.choice([0, 1, 2, 4])):
            when = customer.created_at + dt.timedelta(days=rng.randint(0, span),
                                                      minutes=rng.randint(0, 600))
            timeline.append((min(when, now), "checkin", None))
        for when, what, ref in sorted(timeline, key=lambda t: t[0]):
            if what == "purchase":
                services.earn_for_purchase(ref, now=when + dt.timedelta(minutes=1))
            else:
                services.checkin(member.id, user_id=clerk_id, now=when)
            later = when + dt.timedelta(minutes=2)
            current = LoyaltyMember.get_by_id(member.id)
            if rng.random() < 0.3 and current.balance >= 300:
                try:
                    if rng.random() < 0.5:
                        gift = rng.choice(gifts[:3])
                        services.redeem_gift(member.id, gift.id, 1, _key(rng),
                                             user_id=clerk_id, now=later)
                    else:
                        services.redeem_cash(member.id, 100 * rng.randint(1, 3), _key(rng),
                                             user_id=clerk_id, now=later)
                except services.LoyaltyError:
                    pass                          # out of stock
    services.nightly(now)
