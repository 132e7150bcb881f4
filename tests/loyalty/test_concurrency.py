"""Many counters at once: redemptions of one balance from many threads (pairs of threads
sending the same key, as a double tap does) never overspend, never double-redeem, and the
books always balance; a gift's stock never goes below zero; a purchase earns once however
many deliveries race.  Runs on SQLite and on PostgreSQL (CRM_TEST_DATABASE_URL).

The figures are printed and written to test-artifacts/loyalty-concurrency-<db>.json."""
from __future__ import annotations

import collections
import json
import os
import threading
from pathlib import Path

from crm.db import database, is_postgres
from plugins.loyalty import services
from plugins.loyalty.models import LoyaltyEntry, LoyaltyGift, LoyaltyRedemption
from tests.loyalty.conftest import T0

PAIRS = 8                # 16 threads: each pair sends the same keys at the same time
INTENTS = 5              # distinct redemptions per pair
START, COST = 1000, 70   # 14 redemptions fit, 26 do not


def _run_threads(app, count, body):
    barrier = threading.Barrier(count)
    outcomes = collections.Counter()
    lock = threading.Lock()

    def worker(index):
        with app.app_context():
            database.connect(reuse_if_open=True)
            try:
                barrier.wait()
                for outcome in body(index):
                    with lock:
                        outcomes[outcome] += 1
            finally:
                database.close()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return outcomes


def _attempt(fn):
    try:
        return "replay" if fn().replay else "success"
    except services.NotEnoughPoints:
        return "rejected"
    except services.OutOfStock:
        return "out of stock"
    except Exception as exc:  # noqa: BLE001 - reported, and the test fails on it
        return f"error {type(exc).__name__}: {exc}"


def test_concurrent_redemptions_never_overspend_and_always_balance(app, shop, seed):
    member = shop.member("并发测试")
    shop.credit(member.id, START)
    keys = [[services.new_key() for _ in range(INTENTS)] for _ in range(PAIRS)]

    def body(index):
        for key in keys[index // 2]:
            yield _attempt(lambda: services.redeem_cash(member.id, COST, key, now=T0))

    outcomes = _run_threads(app, 2 * PAIRS, body)
    final = shop.get(member.id)
    ledger = seed.run(lambda: sum(e.points for e in LoyaltyEntry.select()
                                  .where(LoyaltyEntry.member == member.id)))
    redemptions = seed.run(lambda: LoyaltyRedemption.select()
                           .where(LoyaltyRedemption.member == member.id).count())
    figures = {
        "database": "postgresql" if seed.run(is_postgres) else "sqlite",
        "threads": 2 * PAIRS, "attempts": sum(outcomes.values()),
        "distinct_keys": PAIRS * INTENTS, "successes": outcomes["success"],
        "replays": outcomes["replay"], "rejections": outcomes["rejected"],
        "errors": {k: v for k, v in outcomes.items() if k.startswith("error")},
        "start_balance": START, "cost": COST, "final_balance": final.balance,
        "ledger_sum": ledger, "redemptions": redemptions,
        "reconciliation_differences": len(shop.reconcile()),
    }
    _report("redemptions", figures)
    assert not figures["errors"], figures
    assert outcomes["success"] == START // COST == redemptions          # 14, no more
    assert outcomes["replay"] == outcomes["success"]    # each success's twin found it
    assert outcomes["rejected"] == 2 * (PAIRS * INTENTS - START // COST)
    assert final.balance == START - COST * (START // COST) == ledger >= 0
    assert figures["reconciliation_differences"] == 0


def test_concurrent_gift_redemptions_never_oversell(app, shop, seed):
    member = shop.member("库存测试")
    shop.credit(member.id, 10_000)
    gift = seed.run(lambda: LoyaltyGift.create(name="限量礼品", points=10, stock=3))

    def body(index):
        yield _attempt(lambda: services.redeem_gift(member.id, gift.id, 1, services.new_key(),
                                                    now=T0))

    outcomes = _run_threads(app, 12, body)
    stock = seed.run(lambda: LoyaltyGift.get_by_id(gift.id).stock)
    _report("gifts", {"threads": 12, "successes": outcomes["success"],
                      "out_of_stock": outcomes["out of stock"], "final_stock": stock,
                      "final_balance": shop.get(member.id).balance})
    assert (outcomes["success"], outcomes["out of stock"], stock) == (3, 9, 0), outcomes
    assert shop.get(member.id).balance == 10_000 - 30
    assert shop.reconcile() == []


def test_racing_deliveries_of_one_purchase_earn_once(app, shop, seed):
    member = shop.member("重复投递")
    purchase = shop.purchase(member, 88_800, when=T0, earn=False)

    def body(index):
        yield _attempt(lambda: services.earn_for_purchase(purchase.id, now=T0))

    outcomes = _run_threads(app, 8, body)
    assert (outcomes["success"], outcomes["replay"]) == (1, 7), outcomes
    assert shop.get(member.id).pending == 888
    assert shop.reconcile() == []


def _report(name: str, figures: dict) -> None:
    db = "postgresql" if os.environ.get("CRM_TEST_DATABASE_URL", "").startswith("postgres") \
        else "sqlite"
    print(f"\nloyalty concurrency ({name}, {db}): {json.dumps(figures, ensure_ascii=False)}")
    folder = Path(__file__).resolve().parents[2] / "test-artifacts"
    folder.mkdir(exist_ok=True)
    path = folder / f"loyalty-concurrency-{db}.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = figures
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))
