#!/usr/bin/env python3
"""The import budget: 100,000 customer rows imported in <= 30 s (design.md, budgets).

    python bench/import_bench.py [--rows 100000] [--batch-size 2000] [--compare-bulk]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--profile]

Writes a realistic CSV (UTF-8 with BOM, as Excel and the export write it): companies with a
contact and persons, Chinese names, mobile numbers, e-mails, regions, industries, owners by
display name, tags, value classes, notes), then imports it into an empty database through the
import's own services, as the web and the job worker do (crm/imports/services.py):

* upload: read and decode the file, guess the mapping from the header;
* dry run: parse, validate and classify every row, record what each would do;
* commit: parse, validate, match and write every row in batches (crm.bulk), one transaction
  per batch, recording what was created.

"parse + validate + commit" (upload + commit) is the budget's figure; the dry run, which a user
runs first, is reported beside it.  SQLite goes to a temporary folder; PostgreSQL to a schema
of its own (``crm_import_bench``), dropped afterwards.  ``--profile`` prints where the commit's
time goes.
"""
from __future__ import annotations

import argparse
import cProfile
import csv
import io
import os
import pstats
import random
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PASSWORD = "bench-import-2026"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚子梓浩宇轩然涵雨欣怡思佳嘉俊志华建国斌辉鹏飞"
CITIES = ["杭州", "上海", "北京", "深圳", "广州", "南京", "苏州", "成都", "武汉", "宁波"]
BRANDS = "华信远景同德新港恒通天成鼎盛瑞丰宏达金桥东方博雅安泰嘉禾汇通凯旋永利"
TRADES = ["科技", "贸易", "机械", "物流", "食品", "服饰", "电子", "建材", "医药", "文化"]
INDUSTRIES = ["软件与信息技术", "批发零售", "制造业", "物流运输", "餐饮", "教育", "医疗健康"]
TAGS = ["VIP", "老客户", "会员", "展会", "转介绍", "重点"]
HEADER = ["客户名称", "类型", "手机", "邮箱", "地区", "行业", "负责人", "标签", "价值等级",
          "联系人", "联系人手机", "备注"]


def make_csv(rows: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    owners = ["Sales One", "Sales Two", "Manager"]
    for i in range(rows):
        city = rng.choice(CITIES)
        if rng.random() < 0.45:
            name = (city + rng.choice(BRANDS) + rng.choice(BRANDS) + rng.choice(TRADES)
                    + "有限公司")
            kind, contact = "企业", rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            contact_mobile = f"15{i:09d}"
        else:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            kind, contact, contact_mobile = "个人", "", ""
        writer.writerow([
            name, kind, f"13{i:09d}", f"c{i}@example.com" if rng.random() < 0.5 else "",
            city, rng.choice(INDUSTRIES), rng.choice(owners),
            "，".join(rng.sample(TAGS, rng.randint(0, 2))), rng.choice("ABCD"),
            contact, contact_mobile, "从旧系统导入" if rng.random() < 0.2 else ""])
    return out.getvalue().encode("utf-8")


def make_app(url: str | None, folder: str, batch_size: int):
    from crm import create_app, migrate
    config = {"SECRET_KEY": "bench", "PLUGINS": [], "JOBS_IMMEDIATE": True,
              "IMPORT_BATCH_SIZE": batch_size, "BABEL_DEFAULT_LOCALE": "zh_CN",
              "DATABASE_URL": url or "sqlite:///" + os.path.join(folder, "crm.db")}
    app = create_app(config, instance_path=folder)
    migrate.upgrade(app)
    return app


def bulk_alone(data: bytes, url: str | None, folder: str, batch_size: int):
    """The same rows, cleaned by the import's own code, written by one bulk_create_customers
    call into a second empty database: what the import adds on top of the bulk path."""
    from crm import bulk
    from crm.accounts import services as accounts
    from crm.accounts.models import Department
    from crm.db import database
    from crm.imports import services
    from crm.imports.customer_rows import CustomerRows
    second = os.path.join(folder, "second")
    os.makedirs(second, exist_ok=True)
    if url:
        from crm.db import open_database
        admin = open_database(url)
        admin.connect()
        admin.execute_sql("DROP SCHEMA IF EXISTS crm_import_bench CASCADE")
        admin.execute_sql("CREATE SCHEMA crm_import_bench")
        admin.close()
    app = make_app(url, second, batch_size)
    with app.app_context():
        database.connect(reuse_if_open=True)
        sales = Department.create(name="销售部")
        user = accounts.create_user("admin", PASSWORD, "admin", "Admin")
        for name, role, display in (("manager", "manager", "Manager"),
                                    ("sales1", "sales", "Sales One"),
                                    ("sales2", "sales", "Sales Two")):
            accounts.create_user(name, PASSWORD, role, display, sales)
        job = services.create(user, "bench.csv", data, "customers")
        services.save_mapping(job, job.mapping_dict, dict(job.options_dict, key="phone"))
        processor = CustomerRows(job, user, services.settings())
        rows = []
        for batch in services._batches(services.table(job, count=False).rows, 5000, 0):
            for outcome in processor.classify(batch):
                row = dict(outcome.values)
                if outcome.tags:
                    row["tags"] = outcome.tags
                if outcome.contact:
                    row["contacts"] = [dict(outcome.contact, is_primary=True)]
                rows.append(row)
        from crm.customers import search_tokens
        search_tokens.name_tokens.cache_clear()
        t, c = time.perf_counter(), time.process_time()
        bulk.bulk_create_customers(rows, user, services.settings(), batch_size=batch_size)
        result = time.perf_counter() - t, time.process_time() - c
        database.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=2000,
                        help="rows per transaction (IMPORT_BATCH_SIZE, default 2000)")
    parser.add_argument("--database-url", default="",
                        help="postgresql://... (a schema crm_import_bench is made and dropped)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--skip-dry-run", action="store_true")
    parser.add_argument("--compare-bulk", action="store_true",
                        help="also time crm.bulk.bulk_create_customers alone on the same rows "
                             "(one call, into another empty database): the import's overhead")
    args = parser.parse_args()

    from crm.db import database, open_database
    schema = None
    url = None
    if args.database_url:
        schema = "crm_import_bench"
        separator = "&" if "?" in args.database_url else "?"
        url = f"{args.database_url}{separator}options=-csearch_path%3D{schema}"
        admin = open_database(url)
        admin.connect()
        admin.execute_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.execute_sql(f"CREATE SCHEMA {schema}")
        admin.close()
    folder = tempfile.mkdtemp(prefix="crm-import-bench-")
    timings, cpu = {}, {}
    try:
        t = time.perf_counter()
        data = make_csv(args.rows)
        timings["write the CSV"] = time.perf_counter() - t
        app = make_app(url, folder, args.batch_size)
        from crm.accounts import services as accounts
        from crm.accounts.models import Department
        from crm.customers.models import Customer
        from crm.imports import services
        from crm.imports.models import Import
        with app.app_context():
            database.connect(reuse_if_open=True)
            sales = Department.create(name="销售部")
            admin_user = accounts.create_user("admin", PASSWORD, "admin", "Admin")
            accounts.create_user("manager", PASSWORD, "manager", "Manager", sales)
            accounts.create_user("sales1", PASSWORD, "sales", "Sales One", sales)
            accounts.create_user("sales2", PASSWORD, "sales", "Sales Two", sales)

            t, c = time.perf_counter(), time.process_time()
            job = services.create(admin_user, "bench.csv", data, "customers")
            services.save_mapping(job, job.mapping_dict, dict(job.options_dict, key="phone"))
            timings["upload (decode, read, guess the mapping)"] = time.perf_counter() - t
            cpu["upload (decode, read, guess the mapping)"] = time.process_time() - c
            if not args.skip_dry_run:
                t, c = time.perf_counter(), time.process_time()
                assert services.claim(Import.get_by_id(job.id), "dry")
                services.run(job.id, "dry")
                timings["dry run (parse, validate, classify, record)"] = time.perf_counter() - t
                cpu["dry run (parse, validate, classify, record)"] = time.process_time() - c
                checked = Import.get_by_id(job.id)
                assert checked.status == "checked", checked.message
            else:
                Import.update(status="checked").where(Import.id == job.id).execute()
            profiler = cProfile.Profile() if args.profile else None
            t, c = time.perf_counter(), time.process_time()
            assert services.claim(Import.get_by_id(job.id), "commit")
            if profiler:
                profiler.enable()
            services.run(job.id, "commit")
            if profiler:
                profiler.disable()
            timings["commit (parse, validate, match, write)"] = time.perf_counter() - t
            cpu["commit (parse, validate, match, write)"] = time.process_time() - c
            done = Import.get_by_id(job.id)
            assert done.status == "done", done.message
            customers = Customer.select().count()
            database.close()
        budget = (timings["upload (decode, read, guess the mapping)"]
                  + timings["commit (parse, validate, match, write)"])
        print(f"database: {'PostgreSQL' if url else 'SQLite'}; rows: {args.rows:,}; "
              f"batch size: {args.batch_size}; file: {len(data) / 1e6:.1f} MB")
        load = os.getloadavg()[0]
        print(f"  (load average {load:.1f} on {os.cpu_count()} cores: wall time, and the CPU time "
              f"this process used)")
        for name, seconds in timings.items():
            used = f"{cpu[name]:7.2f} s CPU" if name in cpu else ""
            print(f"  {name:<48} {seconds:7.2f} s  {used}")
        used = sum(cpu[k] for k in cpu if not k.startswith("dry"))
        print(f"  {'parse + validate + commit (the budget: <= 30 s)':<48} {budget:7.2f} s  "
              f"{used:7.2f} s CPU")
        print(f"  created {done.n_create:,} customers ({customers:,} in the database), "
              f"{done.n_error:,} rejected; {args.rows / budget:,.0f} rows/s")
        if args.compare_bulk:
            seconds, used = bulk_alone(data, url, folder, args.batch_size)
            print(f"  {'bulk_create_customers alone, same rows, one call':<48} {seconds:7.2f} s  "
                  f"{used:7.2f} s CPU")
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(25)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if schema:
            from crm.db import open_database as reopen
            admin = reopen(url)
            admin.connect()
            admin.execute_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
