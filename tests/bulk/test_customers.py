"""bulk_create_customers: the same customers, numbers, search tokens, tags, contacts, outbox
events and audit rows as ``services.create_customer`` (+ ``save_contact``) one by one; a
failing batch leaves nothing of itself."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm import bulk
from crm.audit.models import AuditLog
from crm.customers import search_index, search_tokens, services
from crm.customers.models import Contact, Customer, CustomerTag, Sequence, Tag
from crm.customers.queries import Filters, apply_filters
from crm.db import database
from crm.validation import normalise_phone
from tests.bulk.conftest import counts, events

# Columns that differ by construction between two customers made from the same data.
OWN = {"id", "number", "created_at", "updated_at"}


def sample_rows(users) -> list[dict]:
    """Varied, validated rows: companies with contacts and tags, a heteronym surname, a Latin
    name, owners in other departments, a row without owner, dates and consents."""
    return [
        dict(kind="company", name="杭州华信科技有限公司", phone=normalise_phone("0571-88886666"),
             email="info@huaxin.cn", industry="软件与信息技术", size="50-249", region="杭州",
             value_class="A", owner=users["sales"].id, source="referral",
             preferred_channel="wechat", address="杭州市文三路 1 号", notes="大客户",
             consent_phone=True, consent_wechat=True, founded_on=dt.date(2008, 5, 4),
             tags=["VIP", "老客户"],
             contacts=[dict(name="李雷", title="采购经理", mobile=normalise_phone("15900002222"),
                            email="lilei@huaxin.cn", consent_phone=True, is_primary=True),
                       dict(name="韩梅梅", title="财务", phone=normalise_phone("0571-87654321"),
                            wechat="hmm2024", is_primary=False)]),
        dict(kind="person", name="单丽", phone=normalise_phone("13987654321"), value_class="B",
             owner=users["sales2"].id, consent_sms=True, tags=["会员"]),
        dict(kind="company", name="Acme Trading Ltd.", email="sales@acme.example",
             owner=users["manager"].id, region="上海",
             contacts=[dict(name="Emily Baker", mobile=normalise_phone("13600001111"),
                            is_primary=True)]),
        dict(kind="person", name="张伟", phone=normalise_phone("13812345678"), value_class="C"),
    ]


def through_services(rows, user, settings) -> list[Customer]:
    """The one-by-one path: create_customer, then save_contact for each contact."""
    made = []
    for row in rows:
        data = {k: v for k, v in row.items() if k not in ("tags", "contacts")}
        customer = services.create_customer(data, user, settings, list(row.get("tags", ())))
        for contact in row.get("contacts", ()):
            services.save_contact(customer, dict(contact), user)
        made.append(Customer.get_by_id(customer.id))
    return made


def tokens_of(customer_id: int) -> set[str]:
    return search_index.tokens_of(customer_id)


def tags_of(customer_id: int) -> list[str]:
    return sorted(t.name for t in Tag.select().join(CustomerTag)
                  .where(CustomerTag.customer == customer_id))


def contacts_of(customer_id: int) -> list[dict]:
    skip = {"id", "customer", "created_at"}
    return sorted(({k: v for k, v in c.__data__.items() if k not in skip}
                   for c in Contact.select().where(Contact.customer == customer_id)),
                  key=lambda c: c["name"])


def audit_of(entity: str, entity_id: int) -> list[tuple]:
    return sorted((a.action, a.user_id, a.field, a.old, a.new) for a in AuditLog.select().where(
        (AuditLog.entity == entity) & (AuditLog.entity_id == entity_id)))


def contact_audit_of(customer_id: int) -> list[tuple]:
    """The contacts' audit rows, keyed by contact name instead of id."""
    rows = []
    for contact in Contact.select().where(Contact.customer == customer_id):
        rows += [(contact.name,) + row for row in audit_of("contact", contact.id)]
    return sorted(rows)


def columns(customer: Customer) -> dict:
    return {k: v for k, v in customer.__data__.items() if k not in OWN}


def month_number(settings, seq: int, when: dt.datetime | None = None) -> str:
    local = (when.replace(tzinfo=dt.timezone.utc) if when else dt.datetime.now(dt.timezone.utc)) \
        .astimezone(ZoneInfo(settings.timezone))
    return settings.number_pattern.format(year=local.year, month=local.month, seq=seq)


def found(q: str) -> set[str]:
    return {c.name for c in apply_filters(Customer.select(), Filters(q=q))}


def test_same_effect_as_create_customer(ctx, users, settings):
    admin = users["admin"]
    rows = sample_rows(users)
    one_by_one = through_services(rows, admin, settings)
    before = counts()
    events_before = len(events())
    ids = bulk.bulk_create_customers(sample_rows(users), admin, settings)
    assert len(ids) == len(rows) == len(set(ids))
    assert not set(ids) & {c.id for c in one_by_one}
    made = [Customer.get_by_id(i) for i in ids]
    assert [c.name for c in made] == [r["name"] for r in rows]   # ids in input order

    after = counts()
    for table in ("customer", "contact", "search_token", "customer_tag"):
        assert after[table] - before[table] == before[table], table   # as many as one by one
    assert after["audit_log"] - before["audit_log"] == len(rows)      # one entry per customer
    assert after["tag"] == before["tag"]          # existing tags reused, none duplicated

    for single, many in zip(one_by_one, made):
        # every column: owner, its department, created_by, consents, dates, version, ...
        assert columns(many) == columns(single), many.name
        assert many.department_id == users[
            next(u for u, v in users.items() if v.id == many.owner_id)].department_id
        assert many.created_by_id == admin.id
        assert tags_of(many.id) == tags_of(single.id)
        assert contacts_of(many.id) == contacts_of(single.id)
        # the search index: exactly what refresh_search() writes for the stored record
        stored_contacts = list(Contact.select().where(Contact.customer == many.id))
        assert tokens_of(many.id) == search_tokens.customer_tokens(many, stored_contacts)
        assert tokens_of(many.id) - search_tokens.number_tokens(many.number) == \
            tokens_of(single.id) - search_tokens.number_tokens(single.number)
        # the history: a "create" entry by the creating user (one row, not one per field:
        # see bulk_create_customers), nothing about the contacts
        assert {a[:2] for a in audit_of("customer", single.id)} == {("create", admin.id)}
        assert audit_of("customer", many.id) == [("create", admin.id, "", "", "")]
        assert contact_audit_of(many.id) == []

    # outbox: one customer.created per customer, same payload as create_customer's
    created = events("customer.created")
    assert created[len(one_by_one):] == [
        dict(customer_id=c.id, number=c.number, user_id=admin.id, _name="customer.created",
             _status="pending") for c in made]
    assert len(events()) - events_before == len(made)   # save_contact's updates are not bulk's
    assert ctx.config.get("TESTING")


def test_numbers_continue_the_month_sequence(ctx, users, settings):
    admin = users["admin"]
    first = services.create_customer({"name": "王芳", "kind": "person"}, admin, settings)
    assert first.number == month_number(settings, 1)
    ids = bulk.bulk_create_customers([{"name": f"客户{i}"} for i in range(5)], admin, settings,
                                     batch_size=2)
    numbers = [Customer.get_by_id(i).number for i in ids]
    assert numbers == [month_number(settings, n) for n in range(2, 7)]
    after = services.create_customer({"name": "李娜", "kind": "person"}, admin, settings)
    assert after.number == month_number(settings, 7)
    assert after.id > max(ids)      # the id sequence (PostgreSQL) moved past the bulk ids


def test_numbers_follow_created_at_in_the_business_time_zone(ctx, users, settings):
    admin = users["admin"]
    march_utc = dt.datetime(2025, 3, 10, 8, 0)
    # 2025-03-31 17:30 UTC is 2025-04-01 01:30 in Shanghai: an April number
    april_local = dt.datetime(2025, 3, 31, 17, 30)
    rows = [dict(name="甲", created_at=march_utc), dict(name="乙", created_at=april_local),
            dict(name="丙", created_at=march_utc + dt.timedelta(days=1))]
    ids = bulk.bulk_create_customers(rows, admin, settings)
    made = [Customer.get_by_id(i) for i in ids]
    assert [c.number for c in made] == ["C2025030001", "C2025040001", "C2025030002"]
    assert made[0].created_at == march_utc
    assert {(s.period, s.value) for s in Sequence.select()} == {("202503", 2), ("202504", 1)}


def test_bulk_customers_are_found_by_every_search_kind(ctx, users, settings):
    ids = bulk.bulk_create_customers(sample_rows(users), users["admin"], settings)
    number = Customer.get_by_id(ids[3]).number
    assert found("华信") == {"杭州华信科技有限公司"}           # Chinese characters
    assert found("zhangwei") == {"张伟"}                       # full pinyin
    assert found("zw") == {"张伟"}                             # initials
    assert found("dl") == {"单丽"} and found("shanli") == {"单丽"}   # heteronym surname 单
    assert found("5678") == {"张伟"}                           # last 4 phone digits
    assert found(number) == {"张伟"}                           # customer number
    assert found(number[-4:]) >= {"张伟"}
    assert found("李雷") == {"杭州华信科技有限公司"}            # a contact's name
    assert found("2222") == {"杭州华信科技有限公司"}            # a contact's mobile
    assert found("acme") == {"Acme Trading Ltd."}
    assert found("emily") == {"Acme Trading Ltd."}


def test_search_page_finds_bulk_customers(client, login, app, settings, users):
    bulk.bulk_create_customers(sample_rows(users), users["admin"], settings)
    database.close()
    login("admin")
    body = client.get("/customers?q=zw", headers={"HX-Request": "true", "HX-Target": "results"}) \
        .get_data(as_text=True)
    assert "张伟" in body and "单丽" not in body


def test_only_the_last_primary_contact_stays_primary(ctx, users, settings):
    contacts = [dict(name="甲", is_primary=True), dict(name="乙", is_primary=True),
                dict(name="丙", is_primary=False)]
    [cid] = bulk.bulk_create_customers([dict(name="某公司", contacts=contacts)], users["admin"],
                                       settings)
    primary = {c.name: c.is_primary for c in Contact.select().where(Contact.customer == cid)}
    assert primary == {"甲": False, "乙": True, "丙": False}   # as save_contact one by one


def _state():
    return counts(), {(s.period, s.value) for s in Sequence.select()}


@pytest.mark.parametrize("failure", ["insert", "late_insert", "prepare"])
def test_failing_batch_leaves_nothing_of_itself(ctx, users, settings, failure):
    admin = users["admin"]
    good = [dict(name=f"好客户{i}", phone=normalise_phone(f"1380000000{i}"), tags=["甲"])
            for i in range(4)]
    bad = [dict(name="坏客户", tags=["只在坏批次"],
                contacts=[dict(name="联系人", mobile=normalise_phone("13900000000"))])]
    if failure == "insert":          # the customer row itself: an owner that does not exist
        bad[0]["owner"] = 999_999
    elif failure == "late_insert":   # after customers and tokens: a contact without a name
        bad[0]["contacts"].append(dict(name=None))
    else:                            # before any SQL: a row that is not a mapping
        bad.append(None)
    rows = good[:2] + bad + good[2:]    # batch 0: good 0-1, batch 1: the bad one(s) ...
    with pytest.raises(bulk.BulkError) as info:
        bulk.bulk_create_customers(rows, admin, settings, batch_size=2)
    error = info.value
    assert error.batch == 1
    names = {c.id: c.name for c in Customer.select()}
    assert sorted(names) == sorted(error.created) and len(error.created) == 2
    assert [names[i] for i in error.created] == ["好客户0", "好客户1"]
    table_counts, sequences = _state()
    assert table_counts["contact"] == 0
    assert table_counts["search_token"] == sum(
        len(search_tokens.customer_tokens(Customer.get_by_id(i))) for i in error.created)
    assert not Tag.select().where(Tag.name == "只在坏批次").exists()
    assert table_counts["customer_tag"] == 2
    assert [e["customer_id"] for e in events("customer.created")] == error.created
    assert {a.entity_id for a in AuditLog.select().where(AuditLog.entity == "customer")} == \
        set(error.created)
    assert sequences == {(month_number(settings, 1)[1:7], 2)}   # no number used up
    # the database is usable and the numbers continue without a gap
    nxt = services.create_customer({"name": "下一个"}, admin, settings)
    assert nxt.number == month_number(settings, 3)


def test_inside_an_outer_transaction(ctx, users, settings):
    """Called inside the caller's transaction (a savepoint per batch): rolling the caller's
    transaction back removes everything."""
    with pytest.raises(RuntimeError):
        with database.atomic():
            ids = bulk.bulk_create_customers([dict(name="甲"), dict(name="乙")], users["admin"],
                                             settings, batch_size=1)
            assert len(ids) == 2 and Customer.select().count() == 2
            raise RuntimeError("caller gives up")
    assert Customer.select().count() == 0 and search_index.indexed_customers() == 0
    assert Sequence.select().count() == 0


def test_events_have_unique_version_4_uids(ctx, users, settings):
    import uuid

    from crm.events.models import OutboxEvent
    bulk.bulk_create_customers([dict(name=f"客户{i}") for i in range(50)], users["admin"],
                               settings, batch_size=20)
    uids = [e.uid for e in OutboxEvent.select()]
    assert len(uids) == 50 == len(set(uids))
    assert all(uuid.UUID(u).version == 4 and str(uuid.UUID(u)) == u for u in uids)


def test_values_are_stored_exactly(ctx, users, settings):
    """Awkward text (tabs, new lines, backslashes, a literal \\N), booleans, dates and
    microseconds come back as they went in (PostgreSQL loads through COPY's text format)."""
    notes = "第一行\n第二行\r\n\ttab\\backslash \\N \\\\N end"
    created_at = dt.datetime(2025, 6, 1, 12, 30, 45, 123456)
    [cid] = bulk.bulk_create_customers([dict(
        name="王\t芳\\", notes=notes, address="\\N", founded_on=dt.date(1999, 12, 31),
        consent_email=True, consent_sms=False, created_at=created_at,
        contacts=[dict(name="N\\A", title="\\t", wechat="")])], users["admin"], settings)
    customer = Customer.get_by_id(cid)
    assert (customer.name, customer.notes, customer.address) == ("王\t芳\\", notes, "\\N")
    assert customer.founded_on == dt.date(1999, 12, 31) and customer.created_at == created_at
    assert customer.consent_email is True and customer.consent_sms is False
    assert customer.industry == "" and customer.deleted_at is None
    [contact] = Contact.select().where(Contact.customer == cid)
    assert (contact.name, contact.title, contact.wechat) == ("N\\A", "\\t", "")
