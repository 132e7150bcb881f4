#!/usr/bin/env python3
"""Offline evaluation of the recommendations plugin, and the timing of its panel.

    python bench/recommendations_eval.py --instance /tmp/reco-eval \\
        [--customers 100000 --purchases 300000] [--data generated|taste] [--reuse]

1. Data: bench/generate.py's generator into a scratch SQLite database (the instance folder
   must be under /tmp; never bench/data/).  ``--data generated`` keeps the generator as it is:
   its purchase lines are drawn independently from one global popularity distribution, so no
   history can predict anything beyond popularity (the popularity baseline is the best
   possible predictor there, and the run shows it).  ``--data taste`` replaces only the lines
   of each purchase (same customers, same purchase times, same number of lines) with a
   shopper who has favourite categories and buys complements together (tea with tea sets,
   gifts with food, wine with gifts...), as real shops see; everything else is the generator's.
2. A time-based split: the model is computed with ``services.refresh(as_of=cutoff)`` from the
   purchases before the cut-off (``--test-days`` before the data's end); the test set is, per
   customer, the products bought after it.
3. precision@5 and recall@5 over the customers who bought in the test period, for the model
   (read through the panel's own query, ``services.recommendations_for(now=cutoff)``) and for
   the popularity baseline (the 5 products most customers bought before the cut-off, minus what
   the customer bought in the last ``exclude_days``, the same rule the model has), and the
   naive baseline without that rule.
4. Timing at full scale: the refresh, the panel's query, and the panel's whole request through
   the Flask stack (signed in as admin), p50/p95/max over a sample of customers.
Results are printed and written to ``<instance>/reco_eval_<data>.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

import generate  # noqa: E402  (bench/generate.py)

K = 5

# Complements of a category (generate.PRODUCT_BASE's categories)
COMPLEMENTS = {"茶叶": ["茶具", "食品"], "茶具": ["茶叶"], "礼品": ["食品", "酒水"],
               "食品": ["礼品", "茶叶"], "酒水": ["礼品", "食品"], "服务": ["办公用品"],
               "办公用品": ["服务", "办公用品"]}


def taste_purchase_rows(rng, plan, products, product_weights, people):
    """generate.purchase_rows with shoppers who have tastes: each customer has one or two
    favourite categories; a purchase's first line is from them 70 % of the time (else from the
    global popularity), the next lines are complements of the first or the same category."""
    clerks = people["clerks"]
    weight = {p.id: w for p, w in zip(products, product_weights)}
    by_cat = defaultdict(list)
    for p in products:
        by_cat[p.category].append(p)
    cats = sorted(by_cat)
    cat_weight = [sum(weight[p.id] for p in by_cat[c]) for c in cats]
    tastes = {}

    def pick(cat, taken):
        pool = [p for p in by_cat[cat] if p.id not in taken] or \
            [p for p in products if p.id not in taken]
        return rng.choices(pool, [weight[p.id] for p in pool])[0]

    for when, cid, owner_id, kind in plan:
        taste = tastes.get(cid)
        if taste is None:
            first = rng.choices(cats, cat_weight)[0]
            taste = tastes[cid] = [first] + ([rng.choices(cats, cat_weight)[0]]
                                             if rng.random() < 0.5 else [])
        n = rng.choices([1, 2, 3], [60, 30, 10])[0]
        taken: list[int] = []
        if rng.random() < 0.7:
            head = pick(rng.choice(taste), taken)
        else:
            head = rng.choices(products, product_weights)[0]
        taken.append(head.id)
        while len(taken) < n:
            cat = rng.choice(COMPLEMENTS.get(head.category, [head.category])) \
                if rng.random() < 0.6 else head.category
            taken.append(pick(cat, taken).id)
        big = kind == "company"
        lines = [(pid, rng.choices([1, 2, 3, 5, 10, 20], [50, 20, 10, 8, 7, 5] if big
                                   else [75, 15, 6, 3, 1, 0])[0]) for pid in taken]
        user = rng.choice(clerks).id if kind == "person" and rng.random() < 0.5 else owner_id
        yield dict(customer=cid, user=user, lines=lines, purchased_at=when, created_at=when)


def percentile(values, q):
    values = sorted(values)
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def evaluate(app, now, test_days, settings, log):
    from crm.customers.models import Customer
    from crm.db import database
    from crm.purchases.models import Purchase, PurchaseLine
    from plugins.recommendations import services

    cutoff = now - dt.timedelta(days=test_days)
    with app.app_context():
        database.connect(reuse_if_open=True)
        started = time.perf_counter()
        counts = services.refresh(as_of=cutoff, settings=settings)
        log(f"refresh as of the cut-off {cutoff:%Y-%m-%d}: {counts}")
        # the test set: products bought after the cut-off
        truth = defaultdict(set)
        for cid, pid in (Purchase.select(Purchase.customer, PurchaseLine.product)
                         .join(PurchaseLine, on=(PurchaseLine.purchase == Purchase.id))
                         .where((Purchase.status == "completed")
                                & (Purchase.purchased_at >= cutoff)
                                & (Purchase.purchased_at < now)).tuples()):
            truth[cid].add(pid)
        bought = services.customer_products(cutoff)
        recent_cut = cutoff - dt.timedelta(days=settings.exclude_days)
        history, recent = defaultdict(set), defaultdict(set)
        buyers = defaultdict(set)
        for cid, pid, last, _n in bought:
            history[cid].add(pid)
            buyers[pid].add(cid)
            if last >= recent_cut:
                recent[cid].add(pid)
        popularity = sorted(buyers, key=lambda p: (-len(buyers[p]), p))

        def baseline(cid, exclude=True):
            skip = recent[cid] if exclude else set()
            return [p for p in popularity if p not in skip][:K]

        customers = {c.id: c for c in Customer.select(Customer.id, Customer.kind,
                                                      Customer.value_class)}
        groups = {"all": [], "with history": [], "new": []}
        for cid in sorted(truth):
            if cid in customers:
                groups["all"].append(cid)
                groups["with history" if history[cid] else "new"].append(cid)
        results = {}
        model_recs = {}
        for cid in groups["all"]:
            model_recs[cid] = [r.product_id for r in services.recommendations_for(
                customers[cid], now=cutoff, settings=settings)][:K]
        for name, ids in groups.items():
            row = {"customers": len(ids)}
            for label, recs in (("model", lambda c: model_recs[c]),
                                ("popularity", baseline),
                                ("popularity, no exclusion", lambda c: baseline(c, False))):
                p = r = 0.0
                for cid in ids:
                    hits = len(set(recs(cid)) & truth[cid])
                    p += hits / K
                    r += hits / len(truth[cid])
                n = max(len(ids), 1)
                row[label] = {"precision@5": round(p / n, 4), "recall@5": round(r / n, 4)}
            results[name] = row
        results["seconds"] = round(time.perf_counter() - started, 1)
        results["cutoff"] = cutoff.isoformat()
        database.close()
    return results


def timing(app, now, settings, samples, log):
    from crm.customers.models import Customer
    from crm.db import database
    from crm.purchases.models import Purchase
    from peewee import fn
    from plugins.recommendations import hooks, services

    out = {}
    with app.app_context():
        database.connect(reuse_if_open=True)
        started = time.perf_counter()
        out["refresh"] = services.refresh(as_of=now, settings=settings)
        out["refresh_wall_seconds"] = round(time.perf_counter() - started, 1)
        log(f"full refresh: {out['refresh']} ({out['refresh_wall_seconds']} s wall)")
        heavy = [cid for (cid,) in Purchase.select(Purchase.customer)
                 .group_by(Purchase.customer).order_by(fn.COUNT(Purchase.id).desc())
                 .limit(samples // 3).tuples()]
        rng = random.Random(7)
        ids = [cid for (cid,) in Customer.select(Customer.id).tuples()]
        sample = heavy + rng.sample(ids, samples - len(heavy))
        customers = list(Customer.select().where(Customer.id.in_(sample)))
        times = []
        for c in customers:
            t = time.perf_counter()
            services.recommendations_for(c, now=now, settings=settings)
            times.append((time.perf_counter() - t) * 1000)
        out["panel_query_ms"] = {"p50": round(percentile(times, .5), 2),
                                 "p95": round(percentile(times, .95), 2),
                                 "max": round(max(times), 2), "n": len(times)}
        database.close()
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": generate.PASSWORD})
    assert response.status_code == 303, response.status_code
    for c in customers[:20]:                      # warm-up: templates compiled, caches filled
        client.get(f"/customers/{c.id}/panels/{hooks.PANEL}", headers={"HX-Request": "true"})
    times = []
    for c in customers:
        t = time.perf_counter()
        response = client.get(f"/customers/{c.id}/panels/{hooks.PANEL}",
                              headers={"HX-Request": "true"})
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200 and b"reco-" in response.data, response.status_code
    out["panel_request_ms"] = {"p50": round(percentile(times, .5), 2),
                               "p95": round(percentile(times, .95), 2),
                               "max": round(max(times), 2), "n": len(times),
                               "mean": round(statistics.mean(times), 2)}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", default="/tmp/reco-eval")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=300_000)
    parser.add_argument("--data", choices=("generated", "taste"), default="taste")
    parser.add_argument("--now", default="2026-12-01T00:00:00")
    parser.add_argument("--test-days", type=int, default=60)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--reuse", action="store_true", help="keep the generated database")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a plugin setting, e.g. --set RECOMMENDATIONS_EXCLUDE_DAYS=7")
    args = parser.parse_args(argv)
    instance = os.path.abspath(args.instance)
    if not instance.startswith("/tmp/"):
        raise SystemExit("--instance must be a scratch folder under /tmp")
    log = lambda m: print(m, flush=True)  # noqa: E731
    now = dt.datetime.fromisoformat(args.now)
    # only this plugin (the generator's app would load every installed entry point)
    os.environ["CRM_PLUGINS"] = "plugins.recommendations.hooks"
    if not args.reuse or not os.path.exists(os.path.join(instance, "crm.db")):
        if args.data == "taste":
            generate.purchase_rows = taste_purchase_rows
        started = time.perf_counter()
        generate.main(["--instance", instance, "--customers", str(args.customers),
                       "--activities", str(args.purchases), "--purchases", str(args.purchases),
                       "--seed", "1", "--now", args.now, "--reset"])
        log(f"generated ({args.data}) in {time.perf_counter() - started:.0f} s")

    from crm import create_app, migrate
    from plugins.recommendations import hooks, services
    app = create_app({"DATABASE_URL": "sqlite:///" + os.path.join(instance, "crm.db"),
                      "PLUGINS": [hooks], "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "JOBS_IMMEDIATE": True,
                      **dict(item.split("=", 1) for item in args.set)},
                     instance_path=instance)
    migrate.upgrade(app)
    settings = services.Settings.from_config(app.config)
    report = {"data": args.data, "customers": args.customers, "purchases": args.purchases,
              "now": args.now, "test_days": args.test_days,
              "settings": {k: v for k, v in vars(settings).items()}}
    report["evaluation"] = evaluate(app, now, args.test_days, settings, log)
    for group in ("all", "with history", "new"):
        row = report["evaluation"][group]
        log(f"{group:>13} ({row['customers']:,} customers): " + "; ".join(
            f"{label} P@5 {row[label]['precision@5']:.4f} R@5 {row[label]['recall@5']:.4f}"
            for label in ("model", "popularity", "popularity, no exclusion")))
    if not args.no_timing:
        report["timing"] = timing(app, now, settings, args.samples, log)
        log(f"panel query: {report['timing']['panel_query_ms']}")
        log(f"panel request: {report['timing']['panel_request_ms']}")
    report["overrides"] = args.set
    with open(os.path.join(instance, f"reco_eval_{args.data}.json"), "w", encoding="utf-8") as fh:
        json.dump(report, fh, ensure_ascii=False, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
