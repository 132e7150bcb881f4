"""Tiers: qualification on spend or points earned over a rolling window (never on the
spendable balance), upgrades at once, downgrades by policy after a grace period, every change
recorded with its reason."""
from __future__ import annotations

import datetime as dt
import json

from plugins.loyalty import services
from plugins.loyalty.models import LoyaltyTier, LoyaltyTierChange
from tests.loyalty.conftest import T0

DAY = dt.timedelta(days=1)


def tier_of(shop, member_id) -> str:
    return shop.run(lambda: LoyaltyTier.get_by_id(shop.get(member_id).tier_id).code)


def changes(shop, member_id) -> list:
    return shop.run(lambda: [(c.kind, LoyaltyTier.get_by_id(c.to_tier).code, c.reason)
                             for c in LoyaltyTierChange.select()
                             .where(LoyaltyTierChange.member == member_id)
                             .order_by(LoyaltyTierChange.id)])


def nightly(shop, when):
    return shop.run(lambda: services.nightly(when))


def test_an_upgrade_happens_at_once_and_the_multiplier_applies_after_it(shop):
    member = shop.member()
    shop.purchase(member, 150_000, when=T0)                  # ¥1,500: standard still
    assert tier_of(shop, member.id) == "standard"
    shop.purchase(member, 50_000, when=T0 + DAY)             # ¥2,000 in the window: silver
    assert tier_of(shop, member.id) == "silver"
    kind, code, reason = changes(shop, member.id)[-1]
    assert (kind, code) == ("upgrade", "silver")
    assert json.loads(reason) == {"basis": "spend", "value": 200_000, "threshold": 200_000,
                                  "window": 365}
    shop.purchase(member, 10_000, when=T0 + 2 * DAY)         # ¥100 at ×1.2
    assert shop.get(member.id).pending == 1500 + 500 + 120


def test_the_spendable_balance_never_qualifies(shop):
    member = shop.member()
    shop.credit(member.id, 5_000_000)                        # adjustments do not qualify
    shop.run(lambda: services.award(member.id, "review", "r-1", now=T0))
    assert tier_of(shop, member.id) == "standard"


def test_the_window_rolls(shop):
    member = shop.member(now=T0 - 10 * DAY)
    shop.purchase(member, 150_000, when=T0)
    shop.purchase(member, 60_000, when=T0 + 400 * DAY)       # the first is out of the window
    assert tier_of(shop, member.id) == "standard"
    other = shop.member("王芳", now=T0 - 10 * DAY)
    shop.purchase(other, 150_000, when=T0)
    shop.purchase(other, 60_000, when=T0 + 300 * DAY)        # both inside
    assert tier_of(shop, other.id) == "silver"


def test_step_downgrades_one_tier_per_grace_period(shop):
    member = shop.member()
    shop.purchase(member, 1_000_000, when=T0)                # ¥10,000: gold
    assert tier_of(shop, member.id) == "gold"
    nightly(shop, T0 + 364 * DAY)
    assert tier_of(shop, member.id) == "gold"
    out = T0 + 366 * DAY                                     # the spend left the window
    nightly(shop, out)                                       # the grace period starts
    assert tier_of(shop, member.id) == "gold" and shop.get(member.id).grace_until == out + 30 * DAY
    nightly(shop, out + 29 * DAY)
    assert tier_of(shop, member.id) == "gold"
    nightly(shop, out + 30 * DAY)
    assert tier_of(shop, member.id) == "silver"              # one step, not straight down
    nightly(shop, out + 45 * DAY)
    assert tier_of(shop, member.id) == "silver"
    nightly(shop, out + 60 * DAY)
    assert tier_of(shop, member.id) == "standard"
    assert shop.get(member.id).grace_until is None
    kinds = [(k, c) for k, c, _r in changes(shop, member.id)]
    assert kinds == [("enrol", "standard"), ("upgrade", "gold"), ("downgrade", "silver"),
                     ("downgrade", "standard")]
    reason = json.loads(changes(shop, member.id)[2][2])
    assert reason["value"] == 0 and reason["threshold"] == 1_000_000


def test_requalifying_in_the_grace_period_keeps_the_tier(shop):
    member = shop.member()
    shop.purchase(member, 1_000_000, when=T0)
    out = T0 + 366 * DAY
    nightly(shop, out)
    assert shop.get(member.id).grace_until is not None
    shop.purchase(member, 1_000_000, when=out + 5 * DAY)     # gold again
    assert shop.get(member.id).grace_until is None
    nightly(shop, out + 31 * DAY)
    assert tier_of(shop, member.id) == "gold"


def test_recompute_goes_straight_to_the_tier_the_figures_reach(shop):
    shop.program(downgrade_policy="recompute", grace_days=0)
    member = shop.member()
    shop.purchase(member, 5_000_000, when=T0)                # diamond
    shop.purchase(member, 250_000, when=T0 + 200 * DAY)      # silver's worth, later
    assert tier_of(shop, member.id) == "diamond"
    nightly(shop, T0 + 366 * DAY)
    assert tier_of(shop, member.id) == "silver"


def test_never_downgrade(shop):
    shop.program(downgrade_policy="never")
    member = shop.member()
    shop.purchase(member, 1_000_000, when=T0)
    for days in (366, 400, 800):
        nightly(shop, T0 + days * DAY)
    assert tier_of(shop, member.id) == "gold"


def test_tiers_on_points_earned(shop):
    shop.run(lambda: LoyaltyTier.update(basis="points", threshold=100)
             .where(LoyaltyTier.code == "silver").execute())
    member = shop.member()
    for i in range(4):
        shop.run(lambda: services.award(member.id, "review", f"r-{i}", now=T0))
    assert tier_of(shop, member.id) == "standard"            # 80 points earned
    shop.run(lambda: services.checkin(member.id, now=T0))
    assert tier_of(shop, member.id) == "standard"            # 85
    shop.purchase(member, 1_500, when=T0)                    # +15 points: 100
    assert tier_of(shop, member.id) == "silver"


def test_a_refund_lowers_the_qualifying_spend(shop):
    shop.program(downgrade_policy="recompute", grace_days=0)
    member = shop.member()
    purchase = shop.purchase(member, 200_000, when=T0)
    assert tier_of(shop, member.id) == "silver"
    shop.run(lambda: services.refund_purchase(purchase.id, 100_000, "refund:tiers:1",
                                              now=T0 + DAY))
    nightly(shop, T0 + 2 * DAY)
    assert tier_of(shop, member.id) == "standard"
