#!/usr/bin/env python3
"""Realistic benchmark data at any scale, loaded through the bulk path import uses (crm/bulk.py).

    python bench/generate.py --instance bench/data/sqlite \\
        [--database-url postgresql://postgres@127.0.0.1:5432/test --schema crm_bench] \\
        --customers 100000 --activities 1000000 --purchases 300000 --seed 1 [--reset]

What it makes (deterministic for a seed and a ``--now``; only event uuids and password salts
differ between runs):

* departments (总部 > 销售中心 > 销售一部..四部, 客服部, 门店) and users: ``admin``, a sales director
  ``director`` (manager of 销售中心: sees every rep), four team managers ``manager1..4``, twenty
  reps ``sales01..20`` (five per team), two ``service`` and three ``clerk`` users; password
  ``bench-load-2026`` (one Argon2id hash shared by all, computed once);
* a catalogue of 60 products in fen;
* customers created over the last 18 months (more of them recently), 45 % companies and 55 %
  persons, about 10 % with Latin names; Chinese person names with surnames weighted like the
  real frequency (王 李 张 刘 陈 ...) and heteronyms (单 曾 区); companies named
  city + brand + trade + 有限公司; owners spread unevenly over the twenty reps (and a few
  managers); contacts for companies, tags for a quarter;
* ``--activities`` activity rows in all, ``--purchases`` of them the timeline entries of the
  purchases: the other activities are spread over customers with Pareto-skewed counts (most
  customers have a few, a few hundred have hundreds, 10 % have none), written in time order;
* purchases skewed to repeat buyers (a third of the customers buy; some buy very often), one
  to three lines priced from the catalogue.

The outbox events the load writes are marked delivered at the end (the history they describe
is old; ``--keep-events-pending`` leaves them for the worker).  Timings are printed; the time of
``bulk_create_customers`` is the benchmark's "import of N rows" figure.
"""
from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import json
import os
import random
import sys
import time
from urllib.parse import urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PASSWORD = "bench-load-2026"

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
            "邵万钱严覃武戴莫孔向汤单区欧阳")
SURNAMES = list(SURNAMES[:-2]) + ["欧阳", "司马", "诸葛"]
# Popular whole given names (they make the common duplicates: 张伟, 王芳, 李娜 ...).
POPULAR_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
                 "明", "超", "秀英", "霞", "平", "刚", "桂英", "建华", "文", "华", "俊", "欣怡", "子涵",
                 "浩然", "雨桐", "宇轩", "梓萱", "晨", "晓东", "海燕", "志强", "丹", "建国", "婷婷", "玉兰"]
GIVEN_CHARS = ("子梓浩宇轩然涵雨欣怡思佳嘉俊杰志明华建国强伟军平文斌辉鹏飞波海涛洋磊晨阳光亮春秋冬雪梅兰"
               "芳丽娟娜静敏艳霞玲红英秀美玉珍凤琳琴婷颖倩晶晓丹璐瑶露蕾薇雯诗梦语彤一诺可心安宁博睿"
               "泽翰铭瑞祥福寿永长德清正义礼仁智信忠")
LATIN_FIRST = ["Emily", "David", "Sophie", "Lucas", "Anna", "James", "Olivia", "Kenji", "Maria", "Tom",
               "Chloe", "Ivan", "Noah", "Mia", "Liam", "Emma", "Hannah", "Felix", "Yuki", "Sara",
               "Daniel", "Laura", "Peter", "Nina", "Jack", "Grace", "Oscar", "Alice", "Leo", "Eva"]
LATIN_LAST = ["Chen", "Wong", "Martin", "Müller", "Rossi", "Lee", "Brown", "Tanaka", "Garcia",
              "Baker", "Dubois", "Petrov", "Smith", "Schmidt", "Kim", "Nguyen", "Silva", "Novak",
              "Jensen", "Costa", "Fischer", "Moreau", "Ito", "Lopez", "Walker", "Weber", "Park",
              "Larsen", "Bianchi", "Tan"]
CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "苏州", "西安", "重庆", "天津",
          "长沙", "郑州", "宁波", "青岛", "厦门", "合肥", "福州", "济南", "昆明", "无锡", "东莞", "佛山",
          "大连", "沈阳", "哈尔滨", "南昌", "贵阳", "温州"]
BRANDS = ["华信", "恒达", "鑫源", "博远", "天诚", "瑞丰", "宏图", "金桥", "新禾", "凯捷", "中联", "东方",
          "远航", "汇通", "嘉禾", "百川", "星辰", "正泰", "德润", "佳和", "永盛", "华美", "腾飞", "海纳",
          "鼎盛", "锦程", "润泽", "启明", "康达", "信达", "众成", "万通", "长青", "银河", "晨光", "和美",
          "安泰", "盛世", "龙腾", "优品"]
TRADES = [("科技", "软件与信息技术"), ("贸易", "批发零售"), ("电子", "电子制造"), ("餐饮管理", "餐饮"),
          ("医疗器械", "医疗健康"), ("教育咨询", "教育培训"), ("物流", "交通物流"), ("建材", "建筑建材"),
          ("食品", "食品饮料"), ("服饰", "服装纺织"), ("酒店管理", "酒店旅游"), ("文化传媒", "文化传媒"),
          ("机械", "机械制造"), ("环保科技", "节能环保"), ("商贸", "批发零售")]
LEGAL = ["有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司"]
LATIN_WORDS = ["Bluewave", "Nordlicht", "Sunrise", "Apex", "Maple", "Orbit", "Silverline", "Harbor",
               "Evergreen", "Pioneer", "Summit", "Crescent", "Atlas", "Lumen", "Granite", "Vertex"]
LATIN_TRADES = ["Trading", "Foods", "Logistics", "Design", "Electronics", "Consulting", "Imports",
                "Systems"]
LATIN_SUFFIX = ["Ltd.", "GmbH", "Inc.", "LLC", "Co., Ltd.", "Pte. Ltd."]
STREETS = ["人民路", "中山路", "解放路", "建设路", "和平路", "南京路", "长江路", "学府路", "滨江大道", "高新大道"]
TAGS = ["VIP", "老客户", "潜在客户", "代理商", "团购", "企业客户", "会员", "投诉过", "节日礼品", "新开店"]
PRODUCT_BASE = [("TEA", "茶叶", [("西湖龙井", 38800), ("普洱茶饼 357g", 16800), ("铁观音 250g", 12800),
                                 ("大红袍礼盒", 29800), ("碧螺春", 22800), ("白茶饼", 18800),
                                 ("茉莉花茶", 6800), ("正山小种", 15800)]),
                ("CUP", "茶具", [("紫砂壶", 59900), ("白瓷茶杯套装", 19900), ("玻璃公道杯", 4900),
                                 ("旅行茶具", 12900), ("建盏", 36900)]),
                ("GFT", "礼品", [("中秋月饼礼盒", 26800), ("企业定制礼包", 99900), ("端午粽子礼盒", 16800),
                                 ("新年礼篮", 39900), ("员工福利卡", 50000)]),
                ("SRV", "服务", [("年度维护服务", 500000), ("上门安装", 30000), ("培训课程", 120000)]),
                ("SNK", "食品", [("坚果零食大礼包", 8800), ("进口饼干", 3900), ("蜂蜜", 9800),
                                 ("五常大米 10kg", 12800)]),
                ("WIN", "酒水", [("红酒礼盒", 68800), ("精酿啤酒 12 瓶", 15800), ("黄酒 5 年", 9900)]),
                ("OFF", "办公用品", [("打印纸 A4 一箱", 18900), ("签字笔 50 支", 4500), ("文件柜", 89900)])]
SIZES = ["规格", "标准装", "大份装", "精品装"]
SUMMARIES = {
    "call": ["电话沟通了新品需求，客户有兴趣", "回访上次购买体验，反馈良好", "确认了报价细节",
             "客户未接听，稍后再打", "电话确认送货地址", "Discussed renewal terms"],
    "visit": ["上门拜访，参观了客户仓库", "到店拜访，介绍了中秋礼盒", "拜访采购负责人，递交样品",
              "Visited the office, met the buyer"],
    "meeting": ["与采购部开会讨论年度合作", "项目启动会", "季度复盘会议", "Quarterly review meeting"],
    "email": ["发送了产品目录和报价单", "邮件确认合同条款", "Sent the proposal by e-mail"],
    "wechat": ["微信发送了新品图片", "微信确认了送货时间", "客户在微信上咨询优惠活动", "微信群通知团购活动"],
    "sms": ["短信通知到货", "短信发送会员活动提醒", "短信提醒领取优惠券"],
    "note": ["客户偏好下午联系", "决策人是财务总监", "预算在下季度批复", "Prefers invoices at month end"],
}
KINDS = ["call", "wechat", "visit", "meeting", "email", "sms", "note"]
KIND_WEIGHTS = [35, 22, 10, 5, 10, 8, 10]
OUTCOMES = ["", "reached", "no_answer", "interested", "not_interested", "follow_up"]
OUTCOME_WEIGHTS = [30, 30, 10, 15, 5, 10]
PHONE_PREFIXES = ["138", "139", "137", "136", "135", "150", "151", "152", "158", "159", "186", "188",
                  "187", "177", "199", "131", "132", "155", "156", "185", "133", "153", "180", "189"]
HISTORY_DAYS = 548   # 18 months


def _log(message: str) -> None:
    print(message, flush=True)


def _loadavg() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return ""


class Timer:
    """Wall time of each step, and the CPU time this process spent on it (both threads): on a
    busy machine the two differ, and the CPU time is the steadier figure (the database
    server's CPU time, on PostgreSQL, is not in it)."""

    def __init__(self):
        self.times: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def run(self, label: str, fn, *args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn(*args, **kwargs)
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
        self.times[label] = round(elapsed, 2)
        self.cpu[label] = round(used, 2)
        _log(f"  {label}: {elapsed:.1f} s (CPU {used:.1f} s)")
        return result


# -- the database -------------------------------------------------------------------------------

def schema_url(url: str, schema: str) -> str:
    """``url`` with the PostgreSQL search path set to ``schema`` (as tests/conftest.py does):
    the benchmark lives in a schema of its own inside a shared database."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def public_url(url: str) -> str:
    """``url`` without its password, for logs and bench_meta.json."""
    password = urlparse(url).password if url.startswith("postgres") else None
    return url.replace(":" + password + "@", "@", 1) if password else url


def prepare_database(instance: str, url: str | None, reset: bool, schema: str = "crm_bench",
                     drop: bool = False) -> str:
    """The database URL to use.  SQLite: ``crm.db`` in the instance folder.  PostgreSQL: the
    schema ``schema`` of the database in ``url`` (created when missing; nothing outside it is
    touched).  ``reset`` empties it first; ``drop`` removes it (and returns "")."""
    os.makedirs(instance, exist_ok=True)
    if not url:
        path = os.path.join(os.path.abspath(instance), "crm.db")
        if reset or drop:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
        return "" if drop else "sqlite:///" + path
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"unsupported --database-url {url!r}")
    if not schema.replace("_", "").isalnum() or schema.lower() in ("public", "pg_catalog"):
        raise SystemExit(f"--schema {schema!r}: letters, digits and _ only, and not public")
    import psycopg2
    try:
        conn = psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise SystemExit(f"cannot connect to {public_url(url)}: {exc}") from None
    conn.autocommit = True
    cur = conn.cursor()
    if reset or drop:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    if not drop:
        cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    conn.close()
    return "" if drop else schema_url(url, schema)


def analyze(database, is_postgres: bool) -> None:
    """Planner statistics for our tables only (on PostgreSQL a bare ANALYZE would visit every
    schema of the shared database)."""
    if not is_postgres:
        database.execute_sql("ANALYZE")
        return
    for table in database.get_tables():
        database.execute_sql(f'ANALYZE "{table}"')


# -- people and catalogue -----------------------------------------------------------------------

def make_staff():
    """The staff; every account has ``PASSWORD``, hashed once (Argon2id costs ~0.25 s a hash)."""
    import functools

    from crm.accounts import services as accounts
    saved = accounts.hash_password
    accounts.hash_password = functools.lru_cache(maxsize=4)(saved)
    try:
        return _make_staff(accounts)
    finally:
        accounts.hash_password = saved


def _make_staff(accounts):
    from crm.accounts.models import Department

    head = Department.create(name="总部")
    centre = Department.create(name="销售中心", parent=head)
    teams = [Department.create(name=f"销售{n}部", parent=centre) for n in "一二三四"]
    service = Department.create(name="客服部", parent=head)
    store = Department.create(name="门店", parent=head)
    people = {"admin": accounts.create_user("admin", PASSWORD, "admin", "系统管理员", head),
              "director": accounts.create_user("director", PASSWORD, "manager", "张总监", centre)}
    managers, reps = [], []
    rep_names = iter(["李娜", "陈强", "王磊", "刘洋", "赵敏", "孙丽", "周杰", "吴婷", "郑浩", "冯雪",
                      "何军", "高静", "林涛", "罗艳", "梁斌", "宋佳", "唐伟", "许晨", "韩梅", "邓超"])
    for t, team in enumerate(teams, start=1):
        managers.append(accounts.create_user(f"manager{t}", PASSWORD, "manager",
                                             f"{team.name}经理", team))
        for _ in range(5):
            n = len(reps) + 1
            reps.append(accounts.create_user(f"sales{n:02d}", PASSWORD, "sales", next(rep_names),
                                             team))
    services = [accounts.create_user(f"service{n}", PASSWORD, "service", f"客服{n}", service)
                for n in (1, 2)]
    clerks = [accounts.create_user(f"clerk{n}", PASSWORD, "clerk", f"店员{n}", store)
              for n in (1, 2, 3)]
    people.update(managers=managers, reps=reps, services=services, clerks=clerks)
    return people


def make_products(rng):
    from crm.purchases.models import Product
    rows = []
    for prefix, category, items in PRODUCT_BASE:
        for n, (name, price) in enumerate(items, start=1):
            rows.append(dict(sku=f"{prefix}-{n:03d}", name=name, category=category, price_fen=price))
    n = 0
    while len(rows) < 60:   # variants of the best sellers up to a catalogue of 60
        prefix, category, items = PRODUCT_BASE[n % len(PRODUCT_BASE)]
        name, price = items[n % len(items)]
        size = SIZES[(n // len(PRODUCT_BASE)) % len(SIZES)]
        rows.append(dict(sku=f"{prefix}-{100 + n:03d}", name=f"{name}（{size}）", category=category,
                         price_fen=int(price * rng.choice([0.5, 0.8, 1.5, 2]))))
        n += 1
    Product.insert_many(rows).execute()
    products = list(Product.select().order_by(Product.id))
    # popularity: a few products sell most
    weights = [1 / (i + 2) ** 0.9 for i in range(len(products))]
    rng.shuffle(weights)
    return products, weights


# -- customers -----------------------------------------------------------------------------------

class Names:
    def __init__(self, rng):
        self.rng = rng
        self.surname_cum = list(itertools.accumulate(1 / (i + 6) ** 1.1 for i in range(len(SURNAMES))))

    def surname(self):
        r = self.rng.random() * self.surname_cum[-1]
        return SURNAMES[bisect.bisect(self.surname_cum, r)]

    def person(self):
        rng = self.rng
        if rng.random() < 0.4:
            given = rng.choice(POPULAR_GIVEN)
        elif rng.random() < 0.3:
            given = rng.choice(GIVEN_CHARS)
        else:
            given = rng.choice(GIVEN_CHARS) + rng.choice(GIVEN_CHARS)
        return self.surname() + given

    def latin_person(self):
        return f"{self.rng.choice(LATIN_FIRST)} {self.rng.choice(LATIN_LAST)}"

    def company(self):
        rng = self.rng
        city = rng.choice(CITIES)
        trade, industry = rng.choice(TRADES)
        brand = rng.choice(BRANDS)
        if rng.random() < 0.5:
            brand += rng.choice(BRANDS)
        return f"{city}{brand}{trade}{rng.choice(LEGAL)}", industry, city

    def latin_company(self):
        rng = self.rng
        return (f"{rng.choice(LATIN_WORDS)} {rng.choice(LATIN_TRADES)} {rng.choice(LATIN_SUFFIX)}",
                "批发零售")


def phone(rng) -> str:
    return "+86" + rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10 ** 8):08d}"


def customer_rows(rng, count: int, now: dt.datetime, people):
    """The customers in creation order (numbers follow), with their owner ids."""
    names = Names(rng)
    reps, managers = people["reps"], people["managers"] + [people["director"]]
    rep_weights = [1 / (i + 3) ** 0.7 for i in range(len(reps))]   # some reps own many more
    rng.shuffle(rep_weights)
    created = sorted(now - dt.timedelta(days=HISTORY_DAYS * (1 - rng.random() ** 0.75),
                                        seconds=rng.randrange(86400))
                     for _ in range(count))
    for i, created_at in enumerate(created):
        owner = rng.choices(reps, rep_weights)[0] if rng.random() < 0.95 else rng.choice(managers)
        latin = rng.random() < 0.10
        contacts = []
        if rng.random() < 0.45:
            kind = "company"
            if latin:
                name, industry = names.latin_company()
                region = rng.choice(CITIES)
            else:
                name, industry, region = names.company()
            for n in range(rng.choices([1, 2, 3], [50, 30, 20])[0]):
                contacts.append(dict(
                    name=names.latin_person() if latin else names.person(),
                    title=rng.choice(["总经理", "采购经理", "财务总监", "行政主管", "店长", "Buyer"]),
                    mobile=phone(rng), phone="", email="", wechat="",
                    preferred_channel=rng.choice(["wechat", "phone", ""]),
                    consent_phone=True, consent_sms=rng.random() < 0.5, consent_email=False,
                    consent_wechat=rng.random() < 0.7, is_primary=(n == 0)))
            size = rng.choice(["", "1-9", "10-49", "50-249", "250-999", "1000+"])
        else:
            kind = "person"
            name = names.latin_person() if latin else names.person()
            industry, size, region = "", "", rng.choice(CITIES)
        consent = rng.random() < 0.7
        yield dict(
            kind=kind, name=name, phone=phone(rng) if rng.random() < 0.95 else "",
            email=f"{'c' if kind == 'company' else 'p'}{i}@example.{'com' if latin else 'cn'}"
            if rng.random() < 0.5 else "",
            industry=industry, size=size, region=region,
            value_class=rng.choices("ABCD", weights=[1, 3, 5, 2])[0], owner=owner.id,
            source=rng.choice(["walk_in", "referral", "website", "exhibition", "wechat", ""]),
            preferred_channel=rng.choice(["phone", "wechat", "sms", "email", ""]),
            consent_phone=consent, consent_sms=consent and rng.random() < 0.8,
            consent_email=rng.random() < 0.5, consent_wechat=rng.random() < 0.6,
            address=f"{region}市{rng.choice(STREETS)}{rng.randint(1, 999)}号", notes="",
            founded_on=None, contacts=contacts,
            tags=rng.sample(TAGS, rng.choice([1, 1, 2])) if rng.random() < 0.25 else [],
            created_at=created_at)


def skewed_counts(rng, weights: list[float], total: int) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder: exactly ``total``)."""
    wsum = sum(weights)
    if total <= 0 or wsum <= 0:
        return [0] * len(weights)
    shares = [total * w / wsum for w in weights]
    counts = [int(s) for s in shares]
    short = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in order[:short]:
        counts[i] += 1
    return counts


# -- activities and purchases --------------------------------------------------------------------

def activity_plan(rng, customers, total: int, now: dt.datetime, people):
    """(occurred_at, customer id, owner id, kind index, ...) for every non-purchase activity,
    sorted by time: logged in the order it happened, as in a real shop."""
    weights = [0.0 if rng.random() < 0.10 else min(rng.paretovariate(1.2), 300.0)
               for _ in customers]
    counts = skewed_counts(rng, weights, total)
    others = people["reps"] + people["services"]
    plan = []
    for (cid, owner_id, created_at), count in zip(customers, counts):
        span = max((now - created_at).total_seconds() - 600, 60)
        for _ in range(count):
            when = created_at + dt.timedelta(seconds=rng.random() * span)
            r = rng.random()
            user_id = owner_id if r < 0.85 else rng.choice(others).id
            plan.append((when, cid, user_id, rng.random()))
    plan.sort()
    return plan, counts


def activity_rows(rng, plan, now: dt.datetime):
    today = now.date()
    for when, cid, user_id, _ in plan:
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
        follow = None
        done = False
        if rng.random() < 0.15:
            follow = (when + dt.timedelta(days=rng.randint(1, 14))).date()
            done = follow < today - dt.timedelta(days=3) and rng.random() < 0.95
        yield dict(customer=cid, kind=kind, summary=rng.choice(SUMMARIES[kind]),
                   occurred_at=when, outcome=rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0],
                   next_followup_on=follow, followup_done=done, user=user_id, created_at=when)


def purchase_plan(rng, customers, total: int, now: dt.datetime, people):
    """Repeat buyers: a third of the customers buy, with strongly skewed counts."""
    weights = [min(rng.paretovariate(1.1), 400.0) if rng.random() < 0.33 else 0.0
               for _ in customers]
    counts = skewed_counts(rng, weights, total)
    plan = []
    for (cid, owner_id, created_at, kind), count in zip(customers, counts):
        span = max((now - created_at).total_seconds() - 600, 60)
        for _ in range(count):
            when = created_at + dt.timedelta(seconds=rng.random() * span)
            plan.append((when, cid, owner_id, kind))
    plan.sort()
    return plan, counts


def purchase_rows(rng, plan, products, product_weights, people):
    clerks = people["clerks"]
    for when, cid, owner_id, kind in plan:
        n = rng.choices([1, 2, 3], [60, 30, 10])[0]
        chosen = []
        while len(chosen) < n:
            p = rng.choices(products, product_weights)[0]
            if p.id not in chosen:
                chosen.append(p.id)
        big = kind == "company"
        lines = [(pid, rng.choices([1, 2, 3, 5, 10, 20], [50, 20, 10, 8, 7, 5] if big
                                   else [75, 15, 6, 3, 1, 0])[0]) for pid in chosen]
        user = rng.choice(clerks).id if kind == "person" and rng.random() < 0.5 else owner_id
        yield dict(customer=cid, user=user, lines=lines, purchased_at=when, created_at=when)


# -- main ----------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", required=True, help="instance folder (SQLite file, secret key)")
    parser.add_argument("--database-url", default=None,
                        help="postgresql://... (default: SQLite in the instance folder)")
    parser.add_argument("--schema", default="crm_bench",
                        help="PostgreSQL: the schema the data goes to (default crm_bench)")
    parser.add_argument("--drop", action="store_true",
                        help="only remove the generated database (SQLite file, PostgreSQL schema)")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000,
                        help="activity rows in all, the purchases' timeline entries included")
    parser.add_argument("--purchases", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", default=None,
                        help="the generation's 'now' (ISO, UTC), for identical data across days; "
                             "default: today 00:00 UTC (the data ends today, as in a live shop)")
    parser.add_argument("--batch-size", type=int, default=10000,
                        help="customers per batch of bulk_create_customers (default 10,000)")
    parser.add_argument("--reset", action="store_true", help="empty the database first")
    parser.add_argument("--keep-events-pending", action="store_true",
                        help="leave the load's outbox events for the worker to deliver")
    parser.add_argument("--no-analyze", action="store_true",
                        help="skip ANALYZE at the end")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.purchases > args.activities:
        raise SystemExit("--purchases cannot exceed --activities (each purchase is an activity)")
    now = (dt.datetime.fromisoformat(args.now) if args.now
           else dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, hour=0, minute=0, second=0,
                                                          microsecond=0))
    url = prepare_database(args.instance, args.database_url, args.reset, args.schema, args.drop)
    if args.drop:
        _log("dropped")
        return 0

    from crm import bulk, create_app, migrate
    from crm.customers.models import Customer
    from crm.customers.services import Settings
    from crm.db import database, is_postgres

    app = create_app({"DATABASE_URL": url}, instance_path=os.path.abspath(args.instance))
    rng = random.Random(args.seed)
    timer = Timer()
    started = time.perf_counter()
    _log(f"database: {public_url(url)}")
    migrate.upgrade(app)
    with app.app_context():
        database.connect(reuse_if_open=True)
        if Customer.select().exists():
            raise SystemExit("the database already has customers: use --reset to start again")
        with database.atomic():
            people = timer.run("staff (users, departments)", make_staff)
            products, product_weights = make_products(rng)
        settings = Settings(app.config["CUSTOMER_NUMBER_PATTERN"], app.config["BABEL_DEFAULT_TIMEZONE"])

        rows = list(customer_rows(rng, args.customers, now, people))
        _log(f"{len(rows):,} customers prepared ({sum(len(r['contacts']) for r in rows):,} contacts)")
        ids = timer.run(f"import of {len(rows):,} customers (bulk_create_customers)",
                        bulk.bulk_create_customers, rows, people["admin"], settings,
                        args.batch_size)
        customers = [(cid, row["owner"], row["created_at"], row["kind"]) for cid, row in zip(ids, rows)]
        del rows

        logged = args.activities - args.purchases
        plan, act_counts = activity_plan(rng, [c[:3] for c in customers], logged, now, people)
        timer.run(f"{len(plan):,} activities (bulk_log_activities)", bulk.bulk_log_activities,
                  activity_rows(rng, plan, now))
        del plan
        pplan, purchase_counts = purchase_plan(rng, customers, args.purchases, now, people)
        timer.run(f"{len(pplan):,} purchases with their activities (bulk_record_purchases)",
                  bulk.bulk_record_purchases,
                  purchase_rows(rng, pplan, products, product_weights, people))
        del pplan

        if not args.keep_events_pending:
            def deliver_all():
                from crm.events.models import OutboxEvent
                return OutboxEvent.update(status="done").where(OutboxEvent.status == "pending").execute()
            timer.run("outbox events marked delivered", deliver_all)
        if not args.no_analyze:
            timer.run("ANALYZE", analyze, database, is_postgres())
        if not is_postgres():
            timer.run("WAL checkpoint", database.execute_sql, "PRAGMA wal_checkpoint(TRUNCATE)")

        totals = {table: database.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
                  for table in ("customer", "contact", "activity",
                                "purchase", "purchase_line", "outbox_event", "audit_log")}
        from crm.customers import search_index
        totals["customers in the search index"] = search_index.indexed_customers()
        per_customer = sorted(a + p for a, p in zip(act_counts, purchase_counts))
        database.close()

    total_time = time.perf_counter() - started
    _log("rows: " + ", ".join(f"{k} {v:,}" for k, v in totals.items()))
    _log(f"activities per customer (purchases included): median {per_customer[len(per_customer) // 2]}, "
         f"p99 {per_customer[int(len(per_customer) * 0.99)]}, max {per_customer[-1]}, "
         f"none {sum(1 for c in per_customer if c == 0):,}")
    import_label = next(k for k in timer.times if k.startswith("import of"))
    _log(f"total: {total_time:.1f} s")
    _log(f"IMPORT FIGURE: {import_label}: {timer.times[import_label]:.1f} s (target <= 30 s for 100,000)")
    meta = dict(database=("postgresql" if url.startswith("postgres") else "sqlite"),
                database_url=public_url(url), seed=args.seed, now=now.isoformat(),
                customers=args.customers, activities=args.activities, purchases=args.purchases,
                timings=timer.times, cpu_seconds=timer.cpu, total_seconds=round(total_time, 1), rows=totals,
                import_seconds=timer.times[import_label], import_cpu_seconds=timer.cpu[import_label],
                loadavg=_loadavg(),
                generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    with open(os.path.join(args.instance, "bench_meta.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
