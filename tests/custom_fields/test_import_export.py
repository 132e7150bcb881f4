"""Custom fields in the export (every visible field is offered; list filters apply) and in the
import (mapped by their names, parsed like the form, audited), and the round trip between
them."""
from __future__ import annotations

import csv
import io

from tests.imports.conftest import csv_bytes, rows as import_rows, run_import


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _book(fields, seed):
    level = fields.add("level", "choice", label_zh="等级", label_en="Level",
                       choices="金卡 | Gold\n银卡 | Silver")
    budget = fields.add("budget", "money", label_zh="预算", label_en="Budget")
    vip = fields.add("vip", "boolean", label_zh="贵宾", label_en="VIP")
    a = seed.customer("甲公司有限公司")
    b = seed.customer("乙公司有限公司")
    fields.set(level, a.id, "金卡")
    fields.set(budget, a.id, 1234550)
    fields.set(vip, a.id, True)
    fields.set(level, b.id, "银卡")
    return (level, budget, vip), (a, b)


def test_export_offers_every_visible_field_and_honours_the_filters(client, login, fields, seed):
    (level, budget, vip), (a, b) = _book(fields, seed)
    login("admin")
    form = client.get("/customers/export?x_cf_level=金卡").get_data(as_text=True)
    for name in ("x_cf_level", "x_cf_budget", "x_cf_vip"):
        assert f'value="{name}"' in form
    assert 'name="x_cf_level"' in form                       # the filter travels along
    assert "1 customer matches" in form
    response = client.get("/customers/export?format=csv&columns=number&columns=name"
                          "&columns=x_cf_level&columns=x_cf_budget&columns=x_cf_vip"
                          "&x_cf_level=金卡")
    table = _csv(response)
    assert table[0] == ["Number", "Name", "Level", "Budget", "VIP"]
    assert table[1][1:] == ["甲公司有限公司", "Gold", "12,345.50", "yes"]
    assert len(table) == 2


def test_import_creates_updates_and_refuses_bad_cells(client, login, fields, seed):
    (level, budget, vip), (a, b) = _book(fields, seed)
    login("admin")
    number_a = seed.get_customer(a.id).number
    data = csv_bytes([["编号", "名称", "等级", "预算", "贵宾"],
                      [number_a, "甲公司有限公司", "银卡", "¥99.5", "否"],
                      ["", "丙公司有限公司", "Gold", "1000", "是"],
                      ["", "丁公司有限公司", "铂金卡", "", ""]])
    job_id = run_import(client, data, key="number")
    from crm.customers.models import Customer
    assert fields.value(level, a.id) == "银卡"
    assert fields.value(budget, a.id) == 9950
    assert fields.value(vip, a.id) is False
    c = seed.run(lambda: Customer.get(Customer.name == "丙公司有限公司"))
    assert (fields.value(level, c.id), fields.value(budget, c.id), fields.value(vip, c.id)) == \
        ("金卡", 100000, True)
    errors = [r for r in import_rows(seed, job_id) if r.action == "error"]
    assert len(errors) == 1 and "铂金卡" in errors[0].message
    from crm.audit.models import AuditLog
    audited = seed.run(lambda: [(x.field, x.old, x.new) for x in AuditLog.select().where(
        (AuditLog.entity == "customer") & (AuditLog.entity_id == a.id)
        & (AuditLog.action == "import"))])
    assert ("Level", "金卡", "银卡") in audited and ("Budget", "12,345.50", "99.50") in audited


def test_export_then_import_gives_the_same_values(client, login, fields, seed):
    (level, budget, vip), (a, b) = _book(fields, seed)
    login("admin")
    exported = client.get("/customers/export?format=csv&columns=number&columns=name"
                          "&columns=x_cf_level&columns=x_cf_budget&columns=x_cf_vip")
    table = _csv(exported)
    before = {(fields.value(d, c.id)) for d in (level, budget, vip) for c in (a, b)}
    for d in (level, budget, vip):
        for c in (a, b):
            fields.set(d, c.id, None)                      # wipe, then import the export back
    data = "".join(",".join(f'"{cell}"' for cell in row) + "\n" for row in table).encode()
    run_import(client, data, key="number")
    after = {(fields.value(d, c.id)) for d in (level, budget, vip) for c in (a, b)}
    assert after == before


def test_a_required_field_is_required_when_an_import_creates(client, login, fields, seed):
    fields.add("region_code", "text", label_en="Region code", required=True)
    login("admin")
    data = csv_bytes([["名称", "Region code"], ["甲公司有限公司", "ZJ"], ["乙公司有限公司", ""]])
    job_id = run_import(client, data)
    errors = [r for r in import_rows(seed, job_id) if r.action == "error"]
    assert len(errors) == 1 and "Region code: required." in errors[0].message


def test_undo_of_an_import_restores_the_old_values(client, login, fields, seed):
    (level, budget, vip), (a, b) = _book(fields, seed)
    since = fields.add("since", "date", label_en="Client since")
    lines = fields.add("lines", "multichoice", label_en="Lines", choices="茶\n咖啡")
    import datetime as dt
    fields.set(since, a.id, dt.date(2020, 1, 2))
    fields.set(lines, a.id, ("茶",))
    login("admin")
    number_a = seed.get_customer(a.id).number
    data = csv_bytes([["Number", "Level", "Client since", "Lines", "VIP"],
                      [number_a, "Silver", "2021-03-04", "茶, 咖啡", "N"]])
    job_id = run_import(client, data, key="number")
    assert (fields.value(level, a.id), fields.value(since, a.id), fields.value(lines, a.id),
            fields.value(vip, a.id)) == ("银卡", dt.date(2021, 3, 4), ("茶", "咖啡"), False)
    assert client.post(f"/imports/{job_id}/undo").status_code == 303
    assert (fields.value(level, a.id), fields.value(since, a.id), fields.value(lines, a.id),
            fields.value(vip, a.id)) == ("金卡", dt.date(2020, 1, 2), ("茶",), True)
