"""The needs register: the priority score, the status flow, the monthly review, the analysis
across customers, the XLSX sheet, and the pages (full and htmx, scope, roles, validation)."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from plugins.needs import services
from plugins.needs.models import Need, NeedEvent
from tests.conftest import htmx


def switch(client, login, username):
    client.post("/logout")
    return login(username)


def test_priority_bands():
    assert services.score(5, 4, 3) == 12 and services.priority(12) == "high"
    assert services.priority(11) == "medium" and services.priority(8) == "medium"
    assert services.priority(7) == "low" and services.priority(3) == "low"
    assert services.first_of_next_month(dt.date(2026, 12, 15)) == dt.date(2027, 1, 1)
    assert services.first_of_next_month(dt.date(2026, 1, 31)) == dt.date(2026, 2, 1)


def test_customer_value_defaults_from_the_value_class(seed):
    assert services.default_customer_value(seed.customer("甲", value_class="A")) == 5
    assert services.default_customer_value(seed.customer("丁", value_class="D")) == 2


def test_flow_and_review(seed, needs):
    customer = seed.customer(owner="sales")
    today = dt.date(2026, 11, 20)
    explicit = needs.register(customer.id, today=today, urgency=5, importance=4,
                              customer_value=4)
    assert (explicit.status, explicit.score, explicit.next_review_on) == \
        ("analysing", 13, dt.date(2026, 12, 1))
    implicit = needs.register(customer.id, today=today, kind="implicit", evidence="月底加急")
    assert implicit.status == "to_confirm"
    user = seed.user("sales")

    def flow():
        due = services.filtered(user, services.Filters(review=True), dt.date(2026, 12, 1))
        assert due.count() == 2
        reviewed = services.review(implicit.id, 1, user, "客户还没回复", dt.date(2026, 12, 1))
        assert reviewed.next_review_on == dt.date(2027, 1, 1)
        assert services.filtered(user, services.Filters(review=True),
                                 dt.date(2026, 12, 1)).count() == 1
        with pytest.raises(services.Conflict):          # straight to resolved is not a step
            services.change_status(implicit.id, 2, user, "resolved", "x", today)
        n = services.change_status(implicit.id, 2, user, "analysing", "客户确认", today)
        n = services.change_status(n.id, n.version, user, "resolved", "已排期开发", today)
        assert (n.status, n.resolution, n.next_review_on) == ("resolved", "已排期开发", None)
        n = services.change_status(n.id, n.version, user, "closed", "", today)
        assert n.status == "closed"
        with pytest.raises(services.Conflict):
            services.review(n.id, n.version, user, "", today)
        kinds = [e.kind for e in services.history(n)]
        assert kinds == ["created", "reviewed", "status", "status", "status"]
    seed.run(flow)


def test_analysis_groups_the_same_words_across_customers(seed, needs):
    a, b = seed.customer("甲公司", owner="sales"), seed.customer("乙公司", owner="sales")
    needs.register(a.id, title="需要开放 API", urgency=5, importance=5, customer_value=5)
    needs.register(b.id, title=" 需要开放  API ", urgency=1, importance=1, customer_value=1)
    needs.register(b.id, title="年付折扣", type="price")
    data = seed.run(services.analysis, seed.user("admin"), services.Filters(), dt.date.today())
    assert data["grid"]["function"] == {"high": 1, "medium": 0, "low": 1}
    assert data["grid"]["price"] == {"high": 0, "medium": 1, "low": 0}
    top = data["common"][0]
    assert (top["title"], top["customers"], top["count"], top["average"]) == \
        ("需要开放 API", 2, 2, 9.0)


def test_xlsx_sheet(seed, needs, client, login):
    from openpyxl import load_workbook
    customer = seed.customer("杭州华信科技有限公司", owner="sales",
                             contacts=[{"name": "王芳", "mobile": "13812345678"}])
    needs.register(customer.id, title="=HYPERLINK(\"http://x\")", statement="@SUM(1)")
    login("manager")
    response = client.get("/needs/analysis.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    assert sheet.title == "Customer needs analysis"
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Customer number", "Customer", "Contact"]
    row = [c.value for c in sheet[2]]
    assert row[1] == "杭州华信科技有限公司" and row[5] == '=HYPERLINK("http://x")'
    assert sheet.cell(row=2, column=6).data_type == "s"          # text, never a formula
    assert row[12] == 9 and row[13] == "Medium"
    assert book.worksheets[1]["A2"].value == "Function"


@pytest.fixture
def world(seed, needs):
    own = seed.customer("杭州华信科技有限公司", owner="sales", value_class="A")
    other = seed.customer("宁波海天贸易有限公司", owner="sales2")
    return {"own": own, "other": other,
            "own_need": needs.register(own.id, title="需要开放 API"),
            "other_need": needs.register(other.id, "sales2", title="年付折扣", type="price")}


def test_list_page_partial_and_scope(client, login, world):
    login("sales")
    page = client.get("/needs")
    assert page.status_code == 200 and "需要开放 API".encode() in page.data
    assert "年付折扣".encode() not in page.data
    for query in ("status=unresolved", "type=function", "kind=explicit", "priority=medium",
                  "review=1", "q=API", f"customer={world['own'].id}", "page=4"):
        partial = client.get(f"/needs?{query}", headers=htmx("results"))
        assert partial.status_code == 200 and b"<html" not in partial.data, query
        assert partial.data.lstrip().startswith(b'<div id="results"'), query
    assert client.get(f"/needs?customer={world['other'].id}").status_code == 404
    other = world["other_need"].id
    assert client.get(f"/needs/{other}").status_code == 404
    for action in ("edit", "status", "review"):
        assert client.post(f"/needs/{other}/{action}", data={"version": 1}).status_code == 404
    assert client.get(f"/needs/customers/{world['other'].id}/new").status_code == 404
    assert client.get(f"/customers/{world['other'].id}/panels/needs_register").status_code == 404


def test_roles(client, login, world):
    login("clerk")
    assert client.get("/needs").status_code == 403
    assert client.get(f"/needs/{world['own_need'].id}").status_code == 403
    switch(client, login, "sales")
    assert client.get("/needs/analysis").status_code == 403
    assert client.get("/needs/analysis.xlsx").status_code == 403


def test_register_validate_and_move_through_the_pages(client, login, world, seed):
    login("sales")
    customer = world["own"].id
    form = client.get(f"/needs/customers/{customer}/new")
    assert form.status_code == 200
    assert b'name="customer_value" type="number" value="5"' in form.data or \
        re.search(rb'name="customer_value"[^>]*value="5"', form.data)
    data = {"kind": "implicit", "type": "service", "title": "", "statement": "",
            "urgency": "6", "importance": "3", "customer_value": "5"}
    bad = client.post(f"/needs/customers/{customer}/new", data=data)
    assert bad.status_code == 422
    assert b"Required." in bad.data and b"Give a score from 1 to 5." in bad.data
    assert b"An implicit need needs its evidence." in bad.data
    partial = client.post(f"/needs/customers/{customer}/new", data=data,
                          headers=htmx("need-form"))
    assert partial.status_code == 422 and b"<html" not in partial.data
    ok = client.post(f"/needs/customers/{customer}/new",
                     data=dict(data, title="上门培训", statement="新员工不会用",
                               evidence="客服电话里多次问基础操作", urgency="4"))
    assert ok.status_code == 303
    need_id = int(ok.headers["Location"].rstrip("/").split("/")[-1])
    stored = seed.run(Need.get_by_id, need_id)
    assert (stored.status, stored.score, stored.kind) == ("to_confirm", 12, "implicit")
    page = client.get(f"/needs/{need_id}").data
    assert b"score 12 = urgency 4 + importance 3 + customer value 5" in page
    assert client.post(f"/needs/{need_id}/status",
                       data={"version": "1", "status": "analysing"}).status_code == 303
    missing = client.post(f"/needs/{need_id}/status",
                          data={"version": "2", "status": "resolved", "note": ""})
    assert missing.status_code == 422 and b"Say how the need was resolved." in missing.data
    stale = client.post(f"/needs/{need_id}/status",
                        data={"version": "1", "status": "resolved", "note": "x"})
    assert stale.status_code == 409
    assert client.post(f"/needs/{need_id}/status",
                       data={"version": "2", "status": "resolved", "note": "安排了培训"}) \
        .status_code == 303
    assert seed.run(Need.get_by_id, need_id).status == "resolved"


def test_edit_and_review_pages(client, login, world, seed):
    login("sales")
    need = world["own_need"].id
    data = {"version": "1", "kind": "explicit", "type": "function", "title": "需要开放接口",
            "statement": "订单同步", "urgency": "5", "importance": "5", "customer_value": "5"}
    assert client.post(f"/needs/{need}/edit", data=dict(data, title="")).status_code == 422
    assert client.post(f"/needs/{need}/edit", data=data).status_code == 303
    assert seed.run(Need.get_by_id, need).score == 15
    assert client.post(f"/needs/{need}/edit", data=data).status_code == 409
    response = client.post(f"/needs/{need}/review",
                           data={"version": "2", "note": "下月再看", "from": "review"})
    assert response.status_code == 303 and response.headers["Location"].endswith("review=1")
    assert seed.run(lambda: NeedEvent.select().where(NeedEvent.kind == "reviewed").count()) == 1


def test_panel_action_card_nav_and_analysis(client, login, world):
    login("manager")
    customer = world["own"].id
    page = client.get(f"/customers/{customer}").data
    assert b"/customers/%d/panels/needs_register" % customer in page
    assert b"/needs/customers/%d/new" % customer in page
    panel = client.get(f"/customers/{customer}/panels/needs_register",
                       headers=htmx("panel-needs_register"))
    assert panel.status_code == 200 and "需要开放 API".encode() in panel.data
    assert b"could not be loaded" not in panel.data
    card = client.get("/dashboard/cards/needs_review", headers=htmx("card-needs_review"))
    assert card.status_code == 200 and b"could not be loaded" not in card.data
    assert b'href="/needs"' in client.get("/").data
    analysis = client.get("/needs/analysis")
    assert analysis.status_code == 200 and b"The most common needs" in analysis.data
    partial = client.get("/needs/analysis?status=unresolved", headers=htmx("analysis"))
    assert partial.status_code == 200 and partial.data.lstrip().startswith(b'<div id="analysis"')


def test_demo_data(app, seed):
    import random

    from plugins.needs import hooks
    for name in ("张伟", "李娜", "王芳", "赵磊", "刘洋", "陈静", "孙丽", "周杰"):
        seed.customer(name, owner="sales")
    seed.run(hooks.crm_demo_data, app, random.Random(5))
    count = seed.run(lambda: Need.select().count())
    seed.run(hooks.crm_demo_data, app, random.Random(5))
    assert seed.run(lambda: Need.select().count()) == count
