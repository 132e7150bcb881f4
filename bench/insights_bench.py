#!/usr/bin/env python3
"""Timings of the insights plugin on a generated database: the segment refresh, each KPI (this
month, the previous month, 12 months) as an administrator, a manager and a rep, and the pages.

    CRM_PLUGINS=plugins.sales.hooks,plugins.service.hooks,plugins.insights.hooks \\
        python bench/generate.py --instance /tmp/insights_bench --reset --customers 100000
    python bench/insights_bench.py --instance /tmp/insights_bench [--repeat 3]

Use a scratch instance (never bench/data/: the refresh writes its tables).  The service and
sales tables are empty in a generated database, so their KPIs measure the query's overhead
only; ``--tickets N`` adds N closed tickets and deals first (spread over the customers).
The acquisition cost needs marketing spend: when ``insights_marketing_spend`` is empty, a
spend for every channel the generator uses and each of the last 13 months is entered first
(deterministic amounts).  The new KPIs (acquisition cost, lead conversion) are timed like the
others, then each KPI broken down by department and by segment (as the administrator) and the
lead funnel.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PASSWORD = "bench-load-2026"


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), result


def add_tickets_and_deals(count: int) -> None:
    import random

    from crm.customers.models import Customer
    from crm.db import database
    from plugins.sales.models import Deal, Stage
    from plugins.service.models import Ticket
    rng = random.Random(7)
    ids = [i for (i,) in Customer.select(Customer.id).tuples()]
    stages = {s.kind: s.id for s in Stage.select()}
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    tickets, deals = [], []
    for n in range(count):
        opened = now - dt.timedelta(days=rng.randint(0, 400), hours=rng.randint(0, 23))
        resolved = opened + dt.timedelta(hours=rng.randint(1, 80))
        tickets.append(dict(number=f"FKBENCH{n:07d}", customer=rng.choice(ids),
                            type=rng.choice(("complaint", "inquiry", "after_sales")),
                            channel="phone", subject="bench", status="closed",
                            created_at=opened, updated_at=resolved, resolved_at=resolved,
                            resolve_due=opened + dt.timedelta(hours=40), closed_at=resolved,
                            satisfaction=rng.choice((5, 5, 4, 4, 3, 2, 1))))
        deals.append(dict(customer=rng.choice(ids), title="bench",
                          stage=stages[rng.choice(("won", "lost"))], closed_at=resolved,
                          created_at=opened, updated_at=resolved, stage_entered_at=resolved))
    with database.atomic():
        for i in range(0, count, 2000):
            Ticket.insert_many(tickets[i:i + 2000]).execute()
            Deal.insert_many(deals[i:i + 2000]).execute()


def add_spend() -> int:
    """Spend for each channel the generator uses and each of the last 13 months (deterministic
    amounts, 20,000 to 200,000 yuan), unless there is some already.  Returns the rows added."""
    import random

    from plugins.insights.models import MarketingSpend
    if MarketingSpend.select().exists():
        return 0
    rng = random.Random(11)
    today = dt.date.today().replace(day=1)
    rows = []
    for back in range(13):
        index = today.year * 12 + today.month - 1 - back
        month = dt.date(index // 12, index % 12 + 1, 1)
        for channel in ("walk_in", "referral", "website", "exhibition", "wechat"):
            rows.append(dict(channel=channel, month=month,
                             amount_fen=rng.randint(20_000, 200_000) * 100, note="bench"))
    MarketingSpend.insert_many(rows).execute()
    return len(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default="/tmp/insights_bench")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tickets", type=int, default=0)
    parser.add_argument("--kpis", default="",
                        help="only these KPIs (comma-separated keys; default: every one)")
    parser.add_argument("--no-pages", action="store_true", help="skip the pages")
    args = parser.parse_args(argv)
    instance = os.path.abspath(args.instance)
    if os.path.abspath(os.path.join(ROOT, "bench", "data")) in instance:
        raise SystemExit("use a scratch instance, not bench/data/")

    from crm import create_app, migrate
    from crm.accounts.models import User
    from crm.db import database
    from plugins.insights import hooks as insights_hooks
    from plugins.insights import kpis, segments
    from plugins.sales import hooks as sales_hooks
    from plugins.service import hooks as service_hooks

    app = create_app({"DATABASE_URL": "sqlite:///" + os.path.join(instance, "crm.db"),
                      "PLUGINS": [sales_hooks, service_hooks, insights_hooks],
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "JOBS_IMMEDIATE": True, "INSIGHTS_CACHE_SECONDS": 0},
                     instance_path=instance)
    migrate.upgrade(app)
    lines = []

    def out(text):
        print(text, flush=True)
        lines.append(text)

    with app.test_request_context():
        database.connect(reuse_if_open=True)
        customers = database.execute_sql(
            "SELECT COUNT(*) FROM customer WHERE deleted_at IS NULL").fetchone()[0]
        activities = database.execute_sql("SELECT COUNT(*) FROM activity").fetchone()[0]
        purchases = database.execute_sql("SELECT COUNT(*) FROM purchase").fetchone()[0]
        if args.tickets:
            add_tickets_and_deals(args.tickets)
        tickets = database.execute_sql("SELECT COUNT(*) FROM service_ticket").fetchone()[0]
        added = add_spend()
        spend_rows = database.execute_sql(
            "SELECT COUNT(*) FROM insights_marketing_spend").fetchone()[0]
        version = database.execute_sql("SELECT sqlite_version()").fetchone()[0]
        out(f"data: {customers:,} customers, {activities:,} activities, {purchases:,} "
            f"purchases, {tickets:,} tickets, {spend_rows} spend entries ({added} added); "
            f"SQLite {version}")

        median, worst, counts = timed(segments.refresh, 1)
        out(f"refresh (scores, segments, snapshot): {median:,.0f} ms  -> "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
        median, worst, _r = timed(segments.refresh, 1)
        out(f"refresh again (replacing the rows): {median:,.0f} ms")

        rules = segments.settings()
        users = {"admin": User.get(User.username == "admin"),
                 "director (manager)": User.get(User.username == "director"),
                 "sales01 (rep)": User.get(User.username == "sales01")}
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        periods = {"month": kpis.period("month", "Asia/Shanghai", now),
                   "prev month": kpis.period("month", "Asia/Shanghai", now, previous=True),
                   "12m": kpis.period("12m", "Asia/Shanghai", now)}
        out("")
        out("| KPI | user | " + " | ".join(f"{p} ms (median/max)" for p in periods)
            + " | value (month) |")
        out("|---|---|" + "---|" * len(periods) + "---|")
        present = kpis.tables()
        wanted = set(filter(None, args.kpis.split(",")))
        chosen = [k for k in kpis.available(present) if not wanted or k.key in wanted]
        for kpi in chosen:
            for label, user in users.items():
                if kpi not in kpis.available(present, user):
                    out(f"| {kpi.key} | {label} | " + " | ".join("not offered" for _p in periods)
                        + " | |")
                    continue
                cells, shown = [], None
                for name, p in periods.items():
                    median, worst, result = timed(
                        lambda: kpis.compute(kpi, user, p, rules, present=present), args.repeat)
                    cells.append(f"{median:,.0f} / {worst:,.0f}")
                    if name == "month":
                        shown = kpis.display_value(kpi, result.value)
                value = "—" if shown is None else f"{shown:,.2f}"
                out(f"| {kpi.key} | {label} | " + " | ".join(cells) + f" | {value} |")
        out("")
        out("Breakdowns (administrator): | KPI | by | month ms | 12m ms | groups |")
        admin = users["admin"]
        for by in ("department", "segment"):
            for kpi in chosen:
                if kpi.by:
                    continue
                cells = []
                for name in ("month", "12m"):
                    median, worst, result = timed(
                        lambda: kpis.compute(kpi, admin, periods[name], rules, by, present),
                        args.repeat)
                    cells.append(f"{median:,.0f} / {worst:,.0f}")
                out(f"| {kpi.key} | {by} | " + " | ".join(cells) + f" | {len(result.groups)} |")
        out("")
        for label, user in users.items():
            cells = []
            for name in ("month", "prev month", "12m"):
                median, worst, steps = timed(
                    lambda: kpis.funnel(user, periods[name], rules, present), args.repeat)
                cells.append(f"{name} {median:,.0f} ms {dict(steps)}")
            out(f"lead funnel ({label}): " + "; ".join(cells))
        for label, user in users.items():
            median, worst, _r = timed(lambda: segments.sizes(user), args.repeat)
            out(f"segment sizes ({label}): {median:,.0f} ms")
            median, worst, _r = timed(lambda: segments.members(user, "dormant")
                                      .paginate(1, 50).count(), args.repeat)
            m2, _w2, _r2 = timed(lambda: list(segments.members(user, "dormant")
                                              .paginate(1, 50).objects()), args.repeat)
            out(f"segment page rows ({label}): count {median:,.0f} ms, page {m2:,.0f} ms")
        database.close()

    client = app.test_client()
    out("")
    for username in ("admin", "sales01"):
        client.post("/logout")
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        if response.status_code != 303:
            out(f"cannot sign in as {username}: {response.status_code}")
            continue
        if args.no_pages:
            break
        for url in ("/insights", "/insights?period=12m", "/insights?by=department",
                    "/insights?by=segment", "/insights/spend", "/insights/segments",
                    "/insights/segments/dormant", "/insights/segments/high_value/export.csv",
                    "/dashboard/cards/insights_kpis", "/dashboard/cards/insights_segments"):
            median, worst, response = timed(lambda: client.get(url), args.repeat)
            out(f"GET {url} as {username}: {response.status_code}, {median:,.0f} ms "
                f"(max {worst:,.0f})")
    if not args.no_pages:
        # With the cache on: the first visit computes everything; five minutes later only the
        # figures of periods that are not settled yet are computed again (kpis.settled: the
        # closed periods are kept INSIGHTS_CLOSED_CACHE_SECONDS).
        out("")
        app.config["INSIGHTS_CACHE_SECONDS"] = 300
        client.post("/logout")
        client.post("/login", data={"username": "admin", "password": PASSWORD})
        for url in ("/insights", "/insights?period=last_month", "/insights?period=12m"):
            app.extensions.pop("insights.cache", None)
            started = time.perf_counter()
            client.get(url)
            cold = (time.perf_counter() - started) * 1000
            soon = time.monotonic() + 301
            cache = app.extensions.get("insights.cache", {})
            for key in [k for k, (expires, _r) in cache.items() if expires < soon]:
                del cache[key]           # what has expired five minutes later
            started = time.perf_counter()
            client.get(url)
            warm = (time.perf_counter() - started) * 1000
            out(f"GET {url} as admin, cache on: first {cold:,.0f} ms; five minutes later "
                f"(settled periods kept) {warm:,.0f} ms")
    with open(os.path.join(instance, "insights_bench.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
