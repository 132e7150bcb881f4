"""``crm demo``: realistic, deterministic demo data (idempotent: runs once per database).

Departments and the users admin, manager, sales1, sales2, service and clerk (password
``demo1234``, to be changed at the first sign-in unless ``DEMO_MODE`` is on), a product
catalogue, and customers with Chinese and Latin names, contacts, activities over the last 18
months and purchases, written through the same services the web uses (numbers, search keys,
events and audit included).
"""
from __future__ import annotations

import datetime as dt
import random

from crm.accounts import services as accounts
from crm.accounts.models import Department, User
from crm.activities.models import Activity
from crm.activities.services import log_activity
from crm.customers import services as customers
from crm.customers.models import Customer
from crm.db import database, utcnow
from crm.purchases.models import Product
from crm.purchases.services import record_purchase

PASSWORD = "demo1234"
USERS = [("admin", "admin", "系统管理员", None), ("manager", "manager", "王经理", "销售一部"),
         ("sales1", "sales", "李娜", "销售一部"), ("sales2", "sales", "陈强", "销售二部"),
         ("service", "service", "赵敏", "客服部"), ("clerk", "clerk", "孙丽", "门店")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单区"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀英", "霞", "平", "刚", "桂英", "建华", "文", "华", "俊", "欣怡", "子涵", "浩然", "雨桐", "宇轩",
         "梓萱", "晨", "晓东", "海燕", "志强", "丹"]
LATIN = ["Emily Chen", "David Wong", "Sophie Martin", "Lucas Müller", "Anna Rossi", "James Lee",
         "Olivia Brown", "Kenji Tanaka", "Maria Garcia", "Tom Baker", "Chloe Dubois", "Ivan Petrov"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "南京", "苏州", "成都", "武汉", "西安", "长沙", "宁波"]
WORDS = ["华信", "恒达", "鑫源", "博远", "天诚", "瑞丰", "宏图", "金桥", "新禾", "凯捷", "中联", "东方",
         "远航", "汇通", "嘉禾", "百川", "星辰", "正泰", "德润", "佳和"]
TRADES = [("科技", "软件与信息技术"), ("贸易", "批发零售"), ("电子", "电子制造"), ("餐饮管理", "餐饮"),
          ("医疗器械", "医疗健康"), ("教育咨询", "教育培训"), ("物流", "交通物流"), ("建材", "建筑建材"),
          ("食品", "食品饮料"), ("服饰", "服装纺织")]
LATIN_COMPANIES = ["Bluewave Trading Ltd.", "Nordlicht GmbH", "Sunrise Foods Inc.",
                   "Apex Logistics LLC", "Maple Design Co., Ltd.", "Orbit Electronics Ltd."]
PRODUCTS = [("TEA-001", "西湖龙井礼盒", "茶叶", 38800), ("TEA-002", "普洱茶饼 357g", "茶叶", 16800),
            ("TEA-003", "铁观音 250g", "茶叶", 12800), ("CUP-001", "紫砂壶", "茶具", 59900),
            ("CUP-002", "白瓷茶杯套装", "茶具", 19900), ("GFT-001", "中秋月饼礼盒", "礼品", 26800),
            ("GFT-002", "企业定制礼包", "礼品", 99900), ("SRV-001", "年度维护服务", "服务", 500000),
            ("SRV-002", "上门安装", "服务", 30000), ("SNK-001", "坚果零食大礼包", "食品", 8800)]
TAGS = ["VIP", "老客户", "潜在客户", "代理商", "团购", "企业客户", "会员", "投诉过"]
SUMMARIES = {
    "call": ["电话沟通了新品需求，客户有兴趣", "回访上次购买体验，反馈良好", "确认了报价细节",
             "客户未接听，稍后再打", "Discussed renewal terms"],
    "visit": ["上门拜访，参观了客户仓库", "到店拜访，介绍了中秋礼盒", "Visited the office, met the buyer"],
    "meeting": ["与采购部开会讨论年度合作", "项目启动会", "Quarterly review meeting"],
    "email": ["发送了产品目录和报价单", "Sent the proposal by e-mail"],
    "wechat": ["微信发送了新品图片", "微信确认了送货时间", "客户在微信上咨询优惠活动"],
    "sms": ["短信通知到货", "短信发送会员活动提醒"],
    "note": ["客户偏好下午联系", "决策人是财务总监", "Prefers invoices at month end"],
}


def _phone(rng):
    return "+86" + rng.choice(["138", "139", "137", "150", "151", "186", "188", "177", "135"]) + \
        "".join(str(rng.randint(0, 9)) for _ in range(8))


def load(app, customers: int = 320, seed: int = 2026, echo=print) -> None:
    rng = random.Random(seed)
    with database.connection_context():
        if User.select().where(User.username == "admin").exists() and \
                Customer.select().count() >= customers:
            echo("demo data already present")
            _print_accounts(echo, app.config["DEMO_MODE"])
            return
        with database.atomic():
            depts = _departments()
            users = _users(depts)
            products = _products()
        sellers = [users["sales1"], users["sales2"], users["manager"]]
        settings = customers_settings(app)
        now = utcnow()
        start = Customer.select().count()
        for i in range(start, customers):
            owner = rng.choice(sellers)
            data = _customer_data(rng, i, owner)
            with database.atomic():
                customer = customers_create(data, owner, settings, rng)
                created = now - dt.timedelta(days=rng.randint(0, 540))
                Customer.update(created_at=created).where(Customer.id == customer.id).execute()
                _contacts(rng, customer, owner)
                _history(rng, customer, owner, products, created, now)
        from crm.plugins import host
        host(app).call_all("crm_demo_data", app=app, rng=rng)
        from crm.events.services import dispatch_pending
        while dispatch_pending(host(app), app.config["OUTBOX_MAX_ATTEMPTS"]):
            pass
    echo(f"demo data ready: {customers} customers")
    _print_accounts(echo, app.config["DEMO_MODE"])


def customers_settings(app):
    return customers.Settings(app.config["CUSTOMER_NUMBER_PATTERN"],
                              app.config["BABEL_DEFAULT_TIMEZONE"])


def customers_create(data, owner, settings, rng):
    tags = rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2]))
    return customers.create_customer(data, owner, settings, tags)


def _print_accounts(echo, demo_mode: bool = False):
    echo("sign in at http://127.0.0.1:5000 with one of these (password %s):" % PASSWORD)
    for username, role, name, _dept in USERS:
        echo(f"  {username:<8} {role:<8} {name}")
    if not demo_mode:
        echo("DEMO_MODE is off: each demo user chooses a new password at the first sign-in "
             "(CRM_DEMO_MODE=1 keeps the demo password, for a shared demo)")


def _departments():
    head, _ = Department.get_or_create(name="总部", parent=None)
    out = {"总部": head}
    sales, _ = Department.get_or_create(name="销售中心", parent=head)
    for name, parent in (("销售一部", sales), ("销售二部", sales), ("客服部", head), ("门店", head)):
        out[name], _ = Department.get_or_create(name=name, parent=parent)
    return out


def _users(depts):
    out = {}
    for username, role, name, dept in USERS:
        user = User.get_or_none(User.username == username)
        if user is None:
            # a password the whole world knows: outside DEMO_MODE each demo user must choose
            # their own at the first sign-in (crm/accounts/sessions.py)
            user = accounts.create_user(username, PASSWORD, role, name,
                                        depts.get(dept) if dept else depts["总部"],
                                        must_change_password=True, enforce_policy=False)
        out[username] = user
    return out


def _products():
    out = []
    for sku, name, category, price in PRODUCTS:
        product, _ = Product.get_or_create(sku=sku, defaults=dict(name=name, category=category,
                                                                  price_fen=price))
        out.append(product)
    return out


def _customer_data(rng, i, owner):
    kind = "company" if rng.random() < 0.45 else "person"
    city = rng.choice(CITIES)
    if kind == "company":
        if rng.random() < 0.1:
            name, industry = rng.choice(LATIN_COMPANIES), "批发零售"
            name = f"{name.split()[0]} {i} {' '.join(name.split()[1:])}"
        else:
            word, (trade, industry) = rng.choice(WORDS), rng.choice(TRADES)
            name = f"{city}{word}{trade}有限公司"
            if i % 3:
                name = f"{city}{word}{rng.choice(WORDS)}{trade}有限公司"
    else:
        industry = ""
        name = rng.choice(LATIN) if rng.random() < 0.12 else \
            rng.choice(SURNAMES) + rng.choice(GIVEN)
    consent = rng.random() < 0.7
    return dict(kind=kind, name=name, phone=_phone(rng),
                email=f"user{i}@example.com" if rng.random() < 0.6 else "",
                industry=industry, size=rng.choice(["", "1-9", "10-49", "50-249", "250-999"])
                if kind == "company" else "", region=city,
                value_class=rng.choices("ABCD", weights=[1, 3, 5, 2])[0], owner=owner.id,
                source=rng.choice(["walk_in", "referral", "website", "exhibition", "wechat", ""]),
                preferred_channel=rng.choice(["phone", "wechat", "sms", "email", ""]),
                consent_phone=consent, consent_sms=consent and rng.random() < 0.8,
                consent_email=rng.random() < 0.5, consent_wechat=rng.random() < 0.6,
                address=f"{city}市{rng.choice(['人民路', '中山路', '解放路', '建设路'])}{rng.randint(1, 300)}号")


def _contacts(rng, customer, owner):
    if customer.kind != "company":
        return
    for n in range(rng.choice([1, 1, 2, 3])):
        customers.save_contact(customer, dict(
            name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            title=rng.choice(["总经理", "采购经理", "财务总监", "行政主管", "Buyer"]),
            mobile=_phone(rng), email="", wechat="", preferred_channel="wechat",
            consent_phone=True, consent_sms=False, consent_email=False, consent_wechat=True,
            is_primary=(n == 0)), owner)


def _history(rng, customer, owner, products, created, now):
    # Skewed like real shops: most customers have a few activities, some have many.
    count = min(int(rng.paretovariate(1.3)) + rng.randint(0, 3), 60)
    span = max((now - created).days, 1)
    for _ in range(count):
        when = min(created + dt.timedelta(days=rng.randint(0, span), minutes=rng.randint(0, 540)),
                   now - dt.timedelta(minutes=rng.randint(5, 600)))
        if rng.random() < 0.3:
            lines = [(p.id, rng.choice([1, 1, 2, 3])) for p in rng.sample(products, rng.choice([1, 1, 2]))]
            record_purchase(customer, owner, lines, "", purchased_at=when)
        else:
            kind = rng.choice(["call", "call", "wechat", "visit", "meeting", "email", "sms", "note"])
            follow = None
            if rng.random() < 0.2:
                follow = (when + dt.timedelta(days=rng.randint(1, 14))).date()
            activity = log_activity(customer, owner, kind, rng.choice(SUMMARIES[kind]), when,
                                    rng.choice(["", "reached", "interested", "follow_up"]),
                                    next_followup_on=follow)
            if follow and follow < now.date() - dt.timedelta(days=3):
                Activity.update(followup_done=True).where(Activity.id == activity.id).execute()
