"""The duplicate finder and merging two customers (issue 5: duplicates and merge)."""
from __future__ import annotations

import json

import pytest

from crm.activities.models import Activity
from crm.audit.models import AuditLog
from crm.customers.models import Contact, Customer, CustomerMerge, CustomerShare
from crm.events.models import OutboxEvent
from crm.purchases.models import Purchase
from tests.conftest import htmx


@pytest.fixture
def twins(seed):
    a = seed.customer("杭州华信科技有限公司", owner="sales", phone="13812345678", tags=["VIP"],
                      industry="软件", contacts=[{"name": "李雷", "mobile": "13912345678"}])
    b = seed.customer("杭州华信科技有限公司", owner="sales", phone="13812345678",
                      email="hx@example.com", tags=["老客户"], region="杭州",
                      contacts=[{"name": "韩梅梅"}])
    seed.activity(b.id, "sales")
    product = seed.product("TEA-1", "Green tea", 1999)
    seed.purchase(b.id, [(product.id, 2)], "sales")
    other = seed.customer("李娜", owner="sales2", phone="13987654321")
    seed.customer("李娜", owner="sales2", email="lina@example.com")
    return a, b, other


def test_the_finder_ranks_pairs_with_reasons(client, login, twins):
    a, b, _other = twins
    login("manager")
    page = client.get("/customers/duplicate-pairs").get_data(as_text=True)
    assert "same phone, same name" in page or "same name, same phone" in page
    assert page.index("杭州华信科技有限公司") < page.index("李娜")     # 99% before 80%
    assert "99%" in page and "80%" in page
    assert f"/customers/merge?a={a.id}&amp;b={b.id}" in page


def test_the_finder_stays_in_scope(client, login, twins):
    login("admin")
    assert "李娜" in client.get("/customers/duplicate-pairs").get_data(as_text=True)
    client.post("/logout")
    login("sales")
    assert client.get("/customers/duplicate-pairs").status_code == 403


def test_merge_moves_everything_and_can_be_reviewed(client, login, seed, twins):
    a, b, _other = twins
    seed.run(lambda: CustomerShare.create(customer=b.id, user=seed.user("sales2").id))
    login("manager")
    form = client.get(f"/customers/merge?a={a.id}&b={b.id}").get_data(as_text=True)
    assert 'name="f_email"' in form and 'name="f_name"' not in form    # only what differs
    response = client.post("/customers/merge", data={
        "a": a.id, "b": b.id, "keep": "a", "f_email": "b", "f_region": "b", "f_industry": "a"})
    assert response.status_code == 303
    kept = seed.get_customer(a.id)
    assert (kept.email, kept.region, kept.industry) == ("hx@example.com", "杭州", "软件")
    assert seed.get_customer(b.id).deleted_at is not None
    counts = seed.run(lambda: (
        Contact.select().where(Contact.customer == a.id).count(),
        Activity.select().where(Activity.customer == a.id).count(),
        Purchase.select().where(Purchase.customer == a.id).count(),
        CustomerShare.select().where(CustomerShare.customer == a.id).count()))
    assert counts == (2, 2, 1, 1)      # the purchase is an activity too
    page = client.get(f"/customers/{a.id}").get_data(as_text=True)
    assert "韩梅梅" in page and "VIP" in page and "老客户" in page
    record = seed.run(lambda: CustomerMerge.get())
    assert json.loads(record.moved)["contacts"] == 1
    review = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "hx@example.com" in review and "from the merged record" in review
    assert seed.run(lambda: OutboxEvent.select().where(OutboxEvent.name == "customer.merged")
                    .count()) == 1
    assert seed.run(lambda: AuditLog.select().where(AuditLog.action == "customer.merge").count()) == 1
    # the kept customer is found by what came with the merge (the moved contact, the e-mail)
    for query in ("韩梅梅", "hx@example"):
        found = client.get("/customers", query_string={"q": query}, headers=htmx("results"))
        assert f'href="/customers/{a.id}"' in found.get_data(as_text=True), query


def test_keeping_the_second_record(client, login, seed, twins):
    a, b, _other = twins
    login("manager")
    response = client.post("/customers/merge", data={
        "a": a.id, "b": b.id, "keep": "b", "f_industry": "a", "f_email": "b"})
    assert response.status_code == 303
    kept = seed.get_customer(b.id)
    assert (kept.industry, kept.email, kept.deleted_at) == ("软件", "hx@example.com", None)
    assert seed.get_customer(a.id).deleted_at is not None


def test_merge_refusals_change_nothing(client, login, seed, twins):
    a, b, other = twins
    login("manager")
    response = client.post("/customers/merge", data={"a": a.id, "b": a.id, "keep": "a"})
    assert response.status_code == 422
    assert "two different customers" in response.get_data(as_text=True)
    seed.run(lambda: Customer.update(deleted_at=Customer.created_at)
             .where(Customer.id == b.id).execute())
    assert client.get(f"/customers/merge?a={a.id}&b={b.id}").status_code == 404
    client.post("/logout")
    login("sales")
    assert client.post("/customers/merge", data={"a": a.id, "b": other.id}).status_code == 403
    assert seed.run(lambda: CustomerMerge.select().count()) == 0
    assert seed.get_customer(a.id).version == 1


def test_purge_is_for_admins_and_keeps_the_merge_review(client, login, seed, twins):
    a, b, _other = twins
    login("manager")
    client.post("/customers/merge", data={"a": a.id, "b": b.id, "keep": "a"})
    assert client.post(f"/customers/{b.id}/purge").status_code == 403
    client.post("/logout")
    login("admin")
    assert client.post(f"/customers/{a.id}/purge").status_code == 303   # not in the trash
    assert seed.get_customer(a.id) is not None
    trash = client.get("/customers/trash").get_data(as_text=True)
    assert f"/customers/{b.id}/purge" in trash
    assert client.post(f"/customers/{b.id}/purge").status_code == 303
    assert seed.run(lambda: Customer.get_or_none(Customer.id == b.id)) is None
    record = seed.run(lambda: CustomerMerge.get())
    assert record.loser_id is None
    review = client.get(f"/customers/merges/{record.id}").get_data(as_text=True)
    assert b.number in review
    purged = seed.run(lambda: {(r.entity_id, r.field, r.old) for r in AuditLog.select().where(
        AuditLog.action == "customer.purge")})
    assert purged == {(b.id, "number", b.number), (b.id, "name", b.name)}
