"""Custom fields on customers: the forms (validated like core fields, required ones too), the
customer page, the audit history, who sees and edits which field, the list's columns and
filters, and what merges and anonymising do to the values."""
from __future__ import annotations

import re

from tests.conftest import htmx
from tests.core.conftest import customer_form
from tests.plugins.helpers import dispatch


def _id(location: str) -> int:
    return int(re.search(r"/customers/(\d+)", location).group(1))


def test_create_and_edit_with_custom_fields(client, login, fields, seed):
    level = fields.add("level", "choice", label_en="Level", choices="金卡 | Gold\n银卡 | Silver",
                       required=True, section="Membership")
    staff = fields.add("staff", "integer", label_en="Staff")
    budget = fields.add("budget", "money", label_en="Budget")
    since = fields.add("since", "date", label_en="Client since")
    lines = fields.add("lines", "multichoice", label_en="Lines", choices="茶\n咖啡\n果汁")
    vip = fields.add("vip", "boolean", label_en="VIP")
    mobile = fields.add("mobile2", "phone", label_en="Second mobile")
    site = fields.add("site", "url", label_en="Web site")
    login("admin")
    page = client.get("/customers/new").get_data(as_text=True)
    assert "<legend>Membership</legend>" in page and 'name="x_cf_level"' in page
    assert re.search(r'for="x_cf_level">Level <span class="req"', page)      # required
    missing = client.post("/customers/new", data=customer_form(page, name="杭州华信科技有限公司",
                                                              x_cf_staff="many"))
    text = missing.get_data(as_text=True)
    assert missing.status_code == 422
    assert "Required." in text and "Not a whole number." in text
    created = client.post("/customers/new", data=customer_form(
        page, name="杭州华信科技有限公司", x_cf_level="金卡", x_cf_staff="120",
        x_cf_budget="¥12,000.50", x_cf_since="2020-05-01", x_cf_lines=["果汁", "茶"],
        x_cf_vip="y", x_cf_mobile2="13812345678", x_cf_site="huaxin.cn"))
    assert created.status_code == 303, created.get_data(as_text=True)[:2000]
    cid = _id(created.headers["Location"])
    import datetime as dt
    assert [fields.value(d, cid) for d in (level, staff, budget, since, lines, vip, mobile, site)] \
        == ["金卡", 120, 1200050, dt.date(2020, 5, 1), ("茶", "果汁"), True, "+8613812345678",
            "https://huaxin.cn"]
    panel = client.get(f"/customers/{cid}/panels/custom_fields", headers=htmx("panel"))
    body = panel.get_data(as_text=True)
    assert panel.status_code == 200
    for shown in ("Gold", "120", "12,000.50", "2020-05-01", "茶, 果汁", "yes", "138 1234 5678",
                  'href="https://huaxin.cn"'):
        assert shown in body, shown
    edit = client.get(f"/customers/{cid}/edit").get_data(as_text=True)
    assert 'value="12000.50"' in edit and 'value="2020-05-01"' in edit
    data = customer_form(edit, x_cf_level="银卡", x_cf_staff="", x_cf_budget="12000.50",
                         x_cf_since="2020-05-01", x_cf_lines=["茶", "果汁"],
                         x_cf_mobile2="138 1234 5678", x_cf_site="https://huaxin.cn")
    assert client.post(f"/customers/{cid}/edit", data=data).status_code == 303
    assert fields.value(level, cid) == "银卡"
    assert fields.value(staff, cid) is None                 # emptied: the row is gone
    assert fields.value(vip, cid) is False                  # unticked
    history = client.get(f"/customers/{cid}/history").get_data(as_text=True)
    assert "Level" in history and "金卡" in history and "银卡" in history
    assert "Staff" in history and "120" in history


def test_an_edit_of_custom_fields_only_emits_customer_updated(client, login, fields, seed):
    from crm.events.models import OutboxEvent
    import json
    fields.add("level", "choice", label_en="Level", choices="金卡\n银卡")
    login("admin")
    page = client.get("/customers/new").get_data(as_text=True)
    created = client.post("/customers/new", data=customer_form(
        page, name="杭州华信科技有限公司", x_cf_level="金卡"))
    cid = _id(created.headers["Location"])

    def updates():
        return seed.run(lambda: [json.loads(e.payload)["fields"] for e in OutboxEvent.select()
                                 .where(OutboxEvent.name == "customer.updated")
                                 .order_by(OutboxEvent.id)])
    edit = client.get(f"/customers/{cid}/edit").get_data(as_text=True)
    assert client.post(f"/customers/{cid}/edit",
                       data=customer_form(edit, x_cf_level="银卡")).status_code == 303
    assert updates() == [["x_cf_level"]]
    edit = client.get(f"/customers/{cid}/edit").get_data(as_text=True)
    assert client.post(f"/customers/{cid}/edit",                    # nothing changed: no event
                       data=customer_form(edit, x_cf_level="银卡")).status_code == 303
    assert updates() == [["x_cf_level"]]


def test_required_yes_no_and_required_import_message(client, login, fields):
    fields.add("agreed", "boolean", label_en="Agreed to terms", required=True)
    login("admin")
    page = client.get("/customers/new").get_data(as_text=True)
    refused = client.post("/customers/new", data=customer_form(page, name="杭州华信科技有限公司"))
    assert refused.status_code == 422
    assert "Agreed to terms: required." in refused.get_data(as_text=True)
    ok = client.post("/customers/new", data=customer_form(page, name="杭州华信科技有限公司",
                                                         x_cf_agreed="y"))
    assert ok.status_code == 303


def test_roles_decide_who_sees_and_edits(client, login, fields, seed):
    secret = fields.add("credit", "money", label_en="Credit line", view_roles="admin,manager",
                        in_list=True)
    managed = fields.add("grade", "text", label_en="Grade", edit_roles="manager", in_list=True)
    customer = seed.customer("杭州华信科技有限公司", owner="sales")
    fields.set(secret, customer.id, 100000)
    fields.set(managed, customer.id, "甲级")
    login("sales")
    form = client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    assert "Credit line" not in form and "x_cf_grade" not in form
    panel = client.get(f"/customers/{customer.id}/panels/custom_fields").get_data(as_text=True)
    assert "Grade" in panel and "甲级" in panel and "Credit line" not in panel
    listing = client.get("/customers").get_data(as_text=True)
    assert "Grade" in listing and "Credit line" not in listing and "x_cf_credit" not in listing
    assert client.get("/customers?x_cf_credit_min=1").status_code == 200
    # what sales cannot see they cannot touch: a save keeps both values
    assert client.post(f"/customers/{customer.id}/edit",
                       data=customer_form(form, notes="n")).status_code == 303
    assert fields.value(secret, customer.id) == 100000
    assert fields.value(managed, customer.id) == "甲级"
    history = client.get(f"/customers/{customer.id}/history").get_data(as_text=True)
    assert "Credit line" in history and "1,000.00" not in history     # shown as ***
    client.post("/logout")
    login("manager")
    form = client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    assert "Credit line" in form and "x_cf_grade" in form
    from crm.audit.models import AuditLog
    kept = seed.run(lambda: [(a.field, a.new) for a in AuditLog.select().where(
        (AuditLog.entity == "custom_fields_value") & (AuditLog.entity_id == customer.id))])
    assert kept == [("Credit line", "1,000.00")]          # the values, for the audit log


def test_list_columns_and_filters(client, login, fields, seed):
    level = fields.add("level", "choice", label_en="Level", choices="金卡 | Gold\n银卡 | Silver",
                       in_list=True)
    staff = fields.add("staff", "integer", label_en="Staff", in_list=True)
    since = fields.add("since", "date", label_en="Since")
    vip = fields.add("vip", "boolean", label_en="VIP")
    note = fields.add("note", "textarea", label_en="Note")
    tags = fields.add("lines", "multichoice", label_en="Lines", choices="茶\n咖啡")
    hidden = fields.add("quiet", "text", label_en="Quiet", filterable=False)
    import datetime as dt
    a = seed.customer("甲公司有限公司")
    b = seed.customer("乙公司有限公司")
    c = seed.customer("丙公司有限公司")
    for customer, values in ((a, ("金卡", 10, dt.date(2020, 1, 1), True, "爱喝龙井", ("茶",))),
                             (b, ("银卡", 200, dt.date(2023, 6, 1), False, "咖啡控", ("茶", "咖啡"))),
                             (c, (None, None, None, False, None, None))):
        for defn, value in zip((level, staff, since, vip, note, tags), values):
            fields.set(defn, customer.id, value)
    login("admin")
    page = client.get("/customers").get_data(as_text=True)
    assert "<th scope=\"col\">Level</th>" in page and "<th scope=\"col\">Staff</th>" in page
    assert "<th scope=\"col\">Since</th>" not in page           # not a list column
    assert 'name="x_cf_level"' in page and 'name="x_cf_staff_min"' in page
    assert 'name="x_cf_since_from"' in page and 'type="date"' in page
    assert 'name="x_cf_quiet"' not in page                    # not a filter

    def names(query):
        response = client.get("/customers?" + query, headers=htmx("results"))
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        return {n for n in ("甲公司有限公司", "乙公司有限公司", "丙公司有限公司") if n in text}, text

    assert names("x_cf_level=金卡")[0] == {"甲公司有限公司"}
    assert names("x_cf_level=Silver")[0] == {"乙公司有限公司"}
    assert names("x_cf_staff_min=50")[0] == {"乙公司有限公司"}
    assert names("x_cf_staff_min=5&x_cf_staff_max=50")[0] == {"甲公司有限公司"}
    assert names("x_cf_since_to=2021-12-31")[0] == {"甲公司有限公司"}
    assert names("x_cf_vip=1")[0] == {"甲公司有限公司"}
    assert names("x_cf_vip=0")[0] == {"乙公司有限公司", "丙公司有限公司"}
    assert names("x_cf_note=龙井")[0] == {"甲公司有限公司"}
    assert names("x_cf_lines=咖啡")[0] == {"乙公司有限公司"}
    assert names("x_cf_lines=茶&x_cf_staff_min=100")[0] == {"乙公司有限公司"}
    shown, text = names("x_cf_staff_min=lots")
    assert shown == {"甲公司有限公司", "乙公司有限公司", "丙公司有限公司"}
    assert "Staff from: Not a whole number." in text
    # the pages keep the filter
    full = client.get("/customers?x_cf_level=金卡").get_data(as_text=True)
    assert "x_cf_level=%E9%87%91%E5%8D%A1" in full          # the export link carries it


def test_the_list_runs_one_query_per_custom_column(client, login, fields, seed, app):
    from crm.db import database
    level = fields.add("level", "text", label_en="Level", in_list=True)
    for i in range(8):
        customer = seed.customer(f"测试公司{i}有限公司")
        fields.set(level, customer.id, f"L{i}")
    login("admin")
    statements = []
    hook = lambda event: statements.append(event.sql)  # noqa: E731
    database.obj.query_hooks.append(hook)
    try:
        client.get("/customers", headers=htmx("results"))
    finally:
        database.obj.query_hooks.remove(hook)
    mine = [s for s in statements if "custom_fields_value" in s]
    assert len(mine) == 1, mine


def test_merge_moves_values_and_anonymise_erases_them(app, fields, seed):
    note = fields.add("note", "text", label_en="Note")
    level = fields.add("level", "text", label_en="Level")
    winner = seed.customer("甲公司有限公司")
    loser = seed.customer("甲公司有限公司（旧）")
    fields.set(note, loser.id, "旧备注")
    fields.set(level, winner.id, "A")
    fields.set(level, loser.id, "B")
    from crm.customers.merge import merge
    from crm.customers.models import Customer
    from crm.customers.privacy import anonymise
    admin = seed.user("admin")
    with seed.ctx():
        merge(Customer.get_by_id(winner.id), Customer.get_by_id(loser.id), [], admin)
    dispatch(app)
    dispatch(app)                                        # twice: idempotent
    assert fields.value(note, winner.id) == "旧备注"
    assert fields.value(level, winner.id) == "A"          # the winner's own value stays
    assert fields.value(level, loser.id) == "B"           # ... and the loser keeps its own
    with seed.ctx():
        anonymise(Customer.get_by_id(winner.id), admin)
    dispatch(app)
    assert fields.rows(winner.id) == 0
    from crm.audit.models import AuditLog
    rows = seed.run(lambda: [(a.old, a.new) for a in AuditLog.select().where(
        (AuditLog.entity_id == winner.id) & (AuditLog.field.in_(["Note", "Level"])))])
    assert rows and all(r == ("***", "***") for r in rows)


def test_phone_values_are_masked_for_roles_that_see_masked_data(client, login, fields, seed):
    mobile = fields.add("mobile2", "phone", label_en="Second mobile", in_list=True)
    customer = seed.customer("杭州华信科技有限公司")
    fields.set(mobile, customer.id, "+8613812345678")
    login("service")
    panel = client.get(f"/customers/{customer.id}/panels/custom_fields").get_data(as_text=True)
    assert "138****5678" in panel and "1234 5678" not in panel


def test_schema_has_every_declared_index(app, db):
    from plugins.custom_fields.models import MODELS
    for model in MODELS:
        present = {tuple(i.columns) for i in db.get_indexes(model._meta.table_name)}
        for index in model._meta.fields_to_index():
            columns = tuple(getattr(e, "column_name", str(e)) for e in index._expressions)
            assert columns in present, (model, columns)


def test_filters_give_the_same_rows_whether_they_drive_the_query_or_not(
        client, login, fields, seed, monkeypatch):
    """Few matches: ``id IN (...)`` drives; many: ``(id + 0) IN (...)`` (services.BROAD)."""
    from plugins.custom_fields import services
    staff = fields.add("staff", "integer", label_en="Staff")
    vip = fields.add("vip", "boolean", label_en="VIP")
    names = {}
    for i in range(6):
        customer = seed.customer(f"测试{i}公司有限公司")
        names[customer.id] = f"测试{i}公司有限公司"
        fields.set(staff, customer.id, i * 10)
        fields.set(vip, customer.id, i % 2 == 0)
    login("admin")
    queries = ("x_cf_staff_min=20&x_cf_staff_max=40", "x_cf_staff_max=10", "x_cf_vip=1",
               "x_cf_vip=0")
    seen = {}
    for broad in (0.0, 1.0):
        monkeypatch.setattr(services, "BROAD", broad)
        for query in queries:
            text = client.get("/customers?" + query, headers=htmx("results")).get_data(
                as_text=True)
            seen.setdefault(query, []).append({n for n in names.values() if n in text})
    assert seen["x_cf_staff_min=20&x_cf_staff_max=40"][0] == {
        "测试2公司有限公司", "测试3公司有限公司", "测试4公司有限公司"}
    assert seen["x_cf_vip=0"][0] == {"测试1公司有限公司", "测试3公司有限公司", "测试5公司有限公司"}
    for query, (many, few) in seen.items():
        assert many == few, query
