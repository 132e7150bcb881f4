"""Customer imports end to end through the routes: the dry run's classification (create,
update with its diff, skip, error with the reason) writing nothing; the scope (never an update
outside it, never a duplicate created instead); formula injection; the commit (bulk creates,
audited updates, contacts, plugin columns); undo of creates and updates."""
from __future__ import annotations

from crm.audit.models import AuditLog
from crm.customers.models import Contact, Customer, CustomerTag, Tag
from tests.conftest import htmx
from tests.imports.card_plugin.models import Card
from tests.imports.conftest import (check, client_for, count, csv_bytes, import_id, job, rows,
                                    upload)

HEADER = ["客户名称", "手机", "地区", "行业", "标签", "备注", "负责人", "会员卡号", "联系人"]


def tags_of(seed, customer_id):
    return seed.run(lambda: sorted(t.name for t in Tag.select().join(CustomerTag).where(
        CustomerTag.customer == customer_id)))


def book(seed):
    return {
        "a": seed.customer("杭州华信科技有限公司", owner="sales", phone="13812345678",
                           region="杭州", tags=["VIP"]),
        "b": seed.customer("上海远景贸易有限公司", owner="sales2", phone="13911112222"),
        "c": seed.customer("苏州同德机械有限公司", owner="sales", phone="13600001111",
                           region="苏州"),
    }


FILE = [HEADER,
        ["杭州华信科技有限公司", "138 1234 5678", "上海", "软件", "VIP，老客户", "", "", "", ""],  # 2
        ["杭州华信科技有限公司", "13812345678", "北京", "", "", "", "", "", ""],                 # 3
        ["上海远景贸易有限公司", "13911112222", "上海", "", "", "", "", "", ""],                 # 4
        ["宁波新港物流有限公司", "13700001111", "宁波", "物流", "新客户", "", "Sales One",
         "12345678", "王经理"],                                                                  # 5
        ["华为", "13700002222", "", "", "", "", "", "", ""],                                     # 6
        ["无锡某某有限公司", "12345", "", "", "", "", "", "", ""],                               # 7
        ["常州某某有限公司", "13700003333", "", "", "", "=cmd|' /C calc'!A0", "", "", ""],       # 8
        ["苏州同德机械有限公司", "13600001111", "苏州", "", "", "", "", "", ""],                 # 9
        ["南京某某有限公司", "13700004444", "", "", "", "", "sales2", "", ""],                   # 10
        ["扬州某某有限公司", "13700005555", "", "", "", "", "", "123", ""],                      # 11
        ["", "", "", "", "", "", "", "", ""],                                             # 12
        ]


def test_dry_run_then_commit_then_undo(app, login, seed):
    customers = book(seed)
    client = login("sales")
    audit_before = count(seed, AuditLog)
    job_id = import_id(upload(client, csv_bytes(FILE)))
    assert check(client, job_id, key="phone").status_code == 303

    # -- the dry run: every line classified, nothing written --
    assert job(seed, job_id).status == "checked"
    assert count(seed, Customer) == 3 and count(seed, AuditLog) == audit_before
    found = {r.line: r for r in rows(seed, job_id, "dry")}
    assert {line: r.action for line, r in found.items()} == {
        2: "update", 3: "error", 4: "error", 5: "create", 6: "error", 7: "error", 8: "error",
        9: "skip", 10: "error", 11: "error"}
    assert found[2].record_id == customers["a"].id
    import json
    assert json.loads(found[2].diff) == {"region": ["杭州", "上海"], "industry": ["", "软件"],
                                         "tags": ["VIP", "VIP, 老客户"]}
    assert "line 2" in found[3].message
    assert "Not found or not yours" in found[4].message
    assert "full name" in found[6].message
    assert found[7].message.startswith("Phone: ")
    assert "formula" in found[8].message and "cmd" not in found[8].message
    assert "Nothing to change" in found[9].message
    assert "Sales Two" not in found[10].message and "sales2" in found[10].message
    assert "8 digits" in found[11].message
    page = client.get(f"/imports/{job_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "上海" in text and "Import 2 rows" in text
    errors = client.get(f"/imports/{job_id}?action=error", headers=htmx("import-rows"))
    assert errors.status_code == 200
    assert errors.get_data(as_text=True).lstrip().startswith('<section id="import-rows">')
    assert "宁波新港物流有限公司" not in errors.get_data(as_text=True)

    # -- commit --
    assert client.post(f"/imports/{job_id}/commit").status_code == 303
    done = job(seed, job_id)
    assert (done.status, done.n_create, done.n_update, done.n_skip, done.n_error) == \
        ("done", 1, 1, 1, 7)
    assert done.stored_name == ""                                  # the file is not kept
    a = seed.get_customer(customers["a"].id)
    assert (a.region, a.industry, a.version) == ("上海", "软件", 2)
    assert tags_of(seed, a.id) == ["VIP", "老客户"]
    changed = seed.run(lambda: sorted(x.field for x in AuditLog.select().where(
        (AuditLog.entity == "customer") & (AuditLog.entity_id == a.id)
        & (AuditLog.action == "update"))))
    assert changed == ["industry", "region", "tags"]               # audited per field
    new = seed.run(Customer.get, Customer.name == "宁波新港物流有限公司")
    assert (new.phone, new.owner_id, new.region) == ("+8613700001111", seed.user("sales").id,
                                                     "宁波")
    assert new.number.startswith("C")
    assert seed.run(lambda: Card.get(Card.customer == new.id).number) == "12345678"
    assert seed.run(lambda: [c.name for c in Contact.select().where(Contact.customer == new.id)]) \
        == ["王经理"]
    assert seed.run(lambda: {(a.entity_id, a.field, a.new) for a in AuditLog.select().where(
        AuditLog.action == "import.commit")}) >= {(job_id, "created", "1"),
                                                  (job_id, "updated", "1")}
    # the search finds the new customer
    assert "宁波新港物流有限公司" in client.get("/customers?q=宁波").get_data(as_text=True)

    # -- undo --
    assert client.post(f"/imports/{job_id}/undo").status_code == 303
    undone = job(seed, job_id)
    assert undone.status == "undone"
    assert count(seed, Customer, Customer.id == new.id) == 0
    assert count(seed, Card) == 0
    a = seed.get_customer(customers["a"].id)
    assert (a.region, a.industry) == ("杭州", "")
    assert tags_of(seed, a.id) == ["VIP"]
    assert seed.run(lambda: AuditLog.select().where(AuditLog.action == "import.undo").count()) >= 2
    text = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "Undone" in text


def test_no_update_and_no_duplicate_outside_the_scope(app, login, seed):
    customers = book(seed)
    client = login("sales")
    data = csv_bytes([["客户编号", "客户名称", "地区"],
                      [customers["b"].number, "上海远景贸易有限公司", "广州"]])
    job_id = import_id(upload(client, data))
    check(client, job_id, key="number")
    client.post(f"/imports/{job_id}/commit")
    assert seed.get_customer(customers["b"].id).region == ""
    assert count(seed, Customer) == 3
    (row,) = rows(seed, job_id, "commit")
    assert row.action == "error" and "Not found or not yours" in row.message
    # by exact name too, and a customer in the trash is not updated either
    from crm.customers import services
    with seed.ctx():
        services.trash(Customer.get_by_id(customers["c"].id), seed.user("sales"))
    data = csv_bytes([["名称", "地区"], ["上海远景贸易有限公司", "广州"], ["苏州同德机械有限公司 ", "无锡"]])
    job_id = import_id(upload(client, data))
    check(client, job_id, key="name")
    assert [r.action for r in rows(seed, job_id, "dry")] == ["error", "error"]


def test_the_manager_updates_the_teams_customers(app, seed):
    customers = book(seed)
    client = client_for(app, "manager")
    data = csv_bytes([["手机", "地区"], ["13911112222", "广州"]])
    job_id = import_id(upload(client, data))
    check(client, job_id, key="phone")
    client.post(f"/imports/{job_id}/commit")
    assert seed.get_customer(customers["b"].id).region == "广州"


def test_matching_by_email_and_by_exact_normalised_name(app, login, seed):
    seed.customer("Acme Trading Ltd.", owner="sales", email="Sales@Acme.example")
    client = login("sales")
    data = csv_bytes([["Name", "E-mail", "Region"],
                      ["ACME  trading ltd.", "sales@acme.example", "上海"]])
    for key in ("email", "name"):
        job_id = import_id(upload(client, data))
        check(client, job_id, key=key)
        assert [r.action for r in rows(seed, job_id, "dry")] == ["update"], key


def test_formula_cells_in_xlsx_are_rejected_and_never_stored(app, login, seed):
    from tests.imports.conftest import xlsx_bytes
    client = login("sales")
    data = xlsx_bytes([["客户名称", "备注", "地址"],
                       ["甲乙科技有限公司", "=HYPERLINK(\"http://evil.example\",\"x\")", ""],
                       ["丙丁科技有限公司", "'=1+1", "@SUM(A1:A2)"],
                       ["戊己科技有限公司", "'-5 度", "+86 路"]])
    job_id = import_id(upload(client, data, "book.xlsx"))
    check(client, job_id)
    client.post(f"/imports/{job_id}/commit")
    assert [r.action for r in rows(seed, job_id, "commit")] == ["error", "error", "create"]
    stored = seed.run(lambda: list(Customer.select(Customer.name, Customer.notes,
                                                   Customer.address).tuples()))
    assert stored == [("戊己科技有限公司", "-5 度", "+86 路")]


def test_persons_a_contact_and_an_update_adds_the_contact_once(app, login, seed):
    client = login("sales")
    data = csv_bytes([["姓名", "手机", "微信", "同意短信联系", "价值等级", "来源"],
                      ["单丽", "13987654321", "danli88", "是", "A（重点）", "转介绍"]])
    job_id = import_id(upload(client, data))
    check(client, job_id, key="phone", default_kind="person")
    client.post(f"/imports/{job_id}/commit")
    person = seed.run(Customer.get, Customer.name == "单丽")
    assert (person.kind, person.consent_sms, person.value_class, person.source) == \
        ("person", True, "A", "referral")
    contact = seed.run(Contact.get, Contact.customer == person.id)
    assert (contact.name, contact.wechat, contact.is_primary) == ("单丽", "danli88", True)
    # the same file again: nothing to change (the contact exists)
    again = import_id(upload(client, data))
    check(client, again, key="phone", default_kind="person")
    assert [r.action for r in rows(seed, again, "dry")] == ["skip"]


def test_undo_keeps_what_changed_since(app, login, seed):
    customers = book(seed)
    client = login("sales")
    data = csv_bytes([["手机", "客户名称", "地区"], ["13812345678", "", "上海"],
                      ["13600001111", "", "无锡"], ["13500001111", "新建科技有限公司", "南京"],
                      ["13500002222", "另建科技有限公司", "南京"]])
    job_id = import_id(upload(client, data))
    check(client, job_id, key="phone")
    client.post(f"/imports/{job_id}/commit")
    created = {c.name: c for c in seed.run(lambda: list(Customer.select().where(
        Customer.region == "南京")))}
    # since the import: somebody edits customer c and logs a call on one created customer
    from crm.customers import services
    with seed.ctx():
        services.update_customer(customers["c"].id, {"region": "常州"}, 2, seed.user("sales"))
    seed.activity(created["新建科技有限公司"].id, "sales")
    assert client.post(f"/imports/{job_id}/undo").status_code == 303
    assert seed.get_customer(customers["a"].id).region == "杭州"      # restored
    assert seed.get_customer(customers["c"].id).region == "常州"      # kept, reported
    assert count(seed, Customer, Customer.name == "另建科技有限公司") == 0
    assert count(seed, Customer, Customer.name == "新建科技有限公司") == 1
    kept = job(seed, job_id).undo_report
    assert "苏州同德机械有限公司" in kept and "新建科技有限公司" in kept
    text = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "2 rows were not reverted" in text


def test_who_sees_and_does_what(app, login, seed):
    client = login("sales")
    job_id = import_id(upload(client, csv_bytes([["名称"], ["甲乙科技有限公司"]])))
    other = client_for(app, "sales2")
    assert other.get(f"/imports/{job_id}").status_code == 404
    assert other.post(f"/imports/{job_id}/commit").status_code == 404
    assert other.get(f"/imports/{job_id}/rejected.csv").status_code == 404
    manager = client_for(app, "manager")
    assert manager.get(f"/imports/{job_id}").status_code == 200      # the team's import
    assert manager.post(f"/imports/{job_id}/mapping", data={}).status_code == 403
    assert "甲乙" not in other.get("/imports").get_data(as_text=True)
    for role in ("service", "clerk"):
        assert client_for(app, role).get("/imports").status_code == 403
    # discard: the file and the rows go, the record of the upload stays
    assert client.post(f"/imports/{job_id}/discard").status_code == 303
    discarded = job(seed, job_id)
    assert (discarded.status, discarded.stored_name) == ("discarded", "")
    assert rows(seed, job_id) == []
    assert client.post(f"/imports/{job_id}/commit").status_code == 303      # refused, flashed
    assert "Discarded" in client.get(f"/imports/{job_id}").get_data(as_text=True)
