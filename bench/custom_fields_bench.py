#!/usr/bin/env python3
"""How fast the customer list filters on a custom field at 100,000 customers (SQLite).

    python bench/custom_fields_bench.py [--customers 100000] [--runs 15] [--keep DIR]

Builds a scratch database with the real schema (every migration, the plugin's included) in a
temporary folder, inserts ``--customers`` customers and, for each of four custom fields
(integer, single choice, text, yes/no), one value row per customer (yes/no: one in three), then
times the customer list exactly as ``/customers`` builds it for an administrator
(``crm.customers.queries.list_page``: the count, the page of 50 with owners, tags and the
custom list columns) with a filter from ``crm_customer_list_filters``.  Prints the median and
the slowest run of each filter in milliseconds.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

BATCH = 5000


def build(app, customers: int, rng: random.Random):
    from crm.accounts import services as accounts
    from crm.customers.models import Customer
    from crm.db import database
    from plugins.custom_fields import services
    from plugins.custom_fields.models import FieldValue

    admin = accounts.create_user("admin", "bench-load-2026", "admin", "Admin")
    start = dt.datetime(2025, 1, 1)
    with database.atomic():
        for first in range(0, customers, BATCH):
            Customer.insert_many([
                dict(number=f"C{i:08d}", name=f"客户{i}", kind="company", owner=admin.id,
                     created_at=start + dt.timedelta(minutes=i), updated_at=start)
                for i in range(first + 1, min(first + BATCH, customers) + 1)]).execute()
    ids = [cid for (cid,) in Customer.select(Customer.id).tuples()]
    fields = {
        "staff": services.create_field(dict(key="staff", label_en="Staff", type="integer",
                                            in_list=True, filterable=True), admin),
        "level": services.create_field(dict(key="level", label_en="Level", type="choice",
                                            choices="\n".join(f"L{n}" for n in range(10)),
                                            in_list=True, filterable=True), admin),
        "note": services.create_field(dict(key="note", label_en="Note", type="text",
                                           filterable=True), admin),
        "vip": services.create_field(dict(key="vip", label_en="VIP", type="boolean",
                                          filterable=True), admin),
    }
    rows = []
    for cid in ids:
        rows.append(dict(field=fields["staff"].id, customer=cid, value_int=rng.randint(1, 10000)))
        rows.append(dict(field=fields["level"].id, customer=cid,
                         value_text=f"L{rng.randrange(10)}"))
        rows.append(dict(field=fields["note"].id, customer=cid,
                         value_text=f"备注 {rng.randrange(1_000_000):06d}"))
        if rng.random() < 1 / 3:
            rows.append(dict(field=fields["vip"].id, customer=cid, value_int=1))
    now = dt.datetime(2026, 1, 1)
    blank = dict(value_text=None, value_long=None, value_int=None, value_date=None,
                 updated_at=now)
    with database.atomic():
        for first in range(0, len(rows), BATCH):
            FieldValue.insert_many([{**blank, **r} for r in rows[first:first + BATCH]]
                                   ).execute()
    database.execute_sql("ANALYZE")
    return admin, len(rows)


CASES = [
    ("integer range, 1 %  (x_cf_staff_min=9901)", {"x_cf_staff_min": "9901"}),
    ("integer range, 50 % (x_cf_staff_max=5000)", {"x_cf_staff_max": "5000"}),
    ("integer between, 10 %", {"x_cf_staff_min": "1001", "x_cf_staff_max": "2000"}),
    ("single choice, 10 % (x_cf_level=L3)", {"x_cf_level": "L3"}),
    ("text contains, ~0.1 % (x_cf_note=1234)", {"x_cf_note": "1234"}),
    ("yes/no = yes, 33 %", {"x_cf_vip": "1"}),
    ("yes/no = no, 67 % (NOT IN)", {"x_cf_vip": "0"}),
    ("no filter (baseline)", {}),
]


def measure(app, admin, runs: int):
    from crm import access
    from crm.customers import queries
    from crm.plugins import host

    results = []
    for title, args in CASES:
        times, total = [], 0
        for _ in range(runs):
            with app.test_request_context("/customers", query_string=args):
                started = time.perf_counter()
                filters = queries.Filters.from_args(
                    args, host().collect("crm_customer_list_filters", user=admin))
                columns = [c for c in host().collect("crm_customer_list_columns", user=admin)
                           if c.listed]
                page = queries.list_page(access.scoped_customers(admin), filters, 50, columns)
                times.append((time.perf_counter() - started) * 1000)
                total = page.total
                assert not filters.errors, filters.errors
        results.append((title, total, statistics.median(times), max(times)))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="build the database in this folder and keep it (a "
                        "folder with a database from an earlier run is reused as it is)")
    options = parser.parse_args(argv)

    from crm import create_app, migrate
    from crm.db import database
    from plugins.custom_fields import hooks

    folder = options.keep or tempfile.mkdtemp(prefix="cf-bench-")
    os.makedirs(folder, exist_ok=True)
    app = create_app({"DATABASE_URL": "sqlite:///" + os.path.join(folder, "crm.db"),
                      "SECRET_KEY": "bench", "PLUGINS": [hooks], "JOBS_IMMEDIATE": True,
                      "BABEL_DEFAULT_LOCALE": "en", "COMPRESS_REGISTER": False},
                     instance_path=os.path.join(folder, "instance"))
    migrate.upgrade(app)
    with app.app_context():
        database.connect(reuse_if_open=True)
        from crm.accounts.models import User
        admin = User.get_or_none(User.username == "admin")
        if admin is None:
            started = time.perf_counter()
            admin, values = build(app, options.customers, random.Random(options.seed))
            print(f"built {options.customers:,} customers and {values:,} value rows in "
                  f"{time.perf_counter() - started:.1f} s ({folder})")
        else:                                   # --keep DIR of an earlier run: reuse it
            print(f"reusing the database in {folder}")
        results = measure(app, admin, options.runs)
        database.close()
    print(f"{'filter':<45} {'matches':>8} {'median ms':>10} {'max ms':>8}")
    for title, total, median, slowest in results:
        print(f"{title:<45} {total:>8,} {median:>10.1f} {slowest:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
