"""Shares, masking with audited reveal, and bulk reassignment (issue 3: row-level visibility and
sensitive data).  Departments of the fixtures: Sales > (Team A: sales, sales2; Team B),
Service (service, clerk); manager in Sales; admin in none."""
from __future__ import annotations

import re

import pytest

from crm.accounts.models import Department
from crm.audit.models import AuditLog
from crm.customers import masking
from crm.customers.models import Contact, Customer, CustomerShare
from tests.conftest import csrf_token, htmx


@pytest.fixture
def book(seed):
    made = {
        "own": seed.customer("张伟", owner="sales", phone="13812345678", email="zhang@example.com",
                             contacts=[{"name": "李雷", "mobile": "13912345678",
                                        "email": "lilei@example.com", "wechat": "lilei88"}]),
        "other": seed.customer("李娜", owner="sales2", phone="13987654321"),
        "admins": seed.customer("刘洋", owner="admin", phone="13633334444"),
    }
    return made


def listed(client) -> set[str]:
    response = client.get("/customers", headers=htmx("results"))
    assert response.status_code == 200
    return set(re.findall(r'<a href="/customers/\d+">([^<]+)</a>', response.get_data(as_text=True)))


def share_with(client, customer_id, target, partial=False):
    headers = htmx("shares") if partial else {}
    return client.post(f"/customers/{customer_id}/shares", data={"target": target},
                       headers=headers)


# -- shares ---------------------------------------------------------------------------------------

def test_a_share_with_a_person_grants_access_and_explains_it(client, login, seed, book):
    other = book["other"]
    login("sales")
    assert client.get(f"/customers/{other.id}").status_code == 404
    client.post("/logout")
    login("sales2")
    response = share_with(client, other.id, f"u:{seed.user('sales').id}")
    assert response.status_code == 303
    client.post("/logout")
    login("sales")
    assert listed(client) == {"张伟", "李娜"}
    page = client.get(f"/customers/{other.id}").get_data(as_text=True)
    assert "shared it with you" in page
    assert seed.run(lambda: AuditLog.select().where(
        (AuditLog.action == "customer.share") & (AuditLog.entity_id == other.id)).count()) == 1


def test_a_share_with_a_department_covers_its_subdepartments(client, login, seed, book):
    sales_dept = seed.run(lambda: Department.get(Department.name == "Sales").id)
    login("admin")
    assert share_with(client, book["admins"].id, f"d:{sales_dept}").status_code == 303
    client.post("/logout")
    login("sales")          # Team A, below Sales
    assert "刘洋" in listed(client)
    page = client.get(f"/customers/{book['admins'].id}").get_data(as_text=True)
    assert "It is shared with Sales, your department or one above it." in page
    client.post("/logout")
    login("service")        # not below Sales, but sees every customer anyway
    assert client.get(f"/customers/{book['admins'].id}").status_code == 200


def test_stop_sharing_takes_the_access_away(client, login, seed, book):
    other = book["other"]
    share = seed.run(lambda: CustomerShare.create(customer=other.id, user=seed.user("sales").id))
    login("sales2")
    response = client.post(f"/customers/{other.id}/shares/{share.id}/delete",
                           headers=htmx("shares"))
    assert response.status_code == 200 and 'id="shares"' in response.get_data(as_text=True)
    client.post("/logout")
    login("sales")
    assert client.get(f"/customers/{other.id}").status_code == 404
    assert listed(client) == {"张伟"}


def test_share_errors_are_explained_and_change_nothing(client, login, seed, book):
    own = book["own"]
    login("sales")
    for target, message in (("", "Choose a person or a department"),
                            ("u:999999", "no longer works here"),
                            (f"u:{seed.user('sales').id}", "already owns this customer"),
                            ("d:999999", "This department does not exist")):
        response = share_with(client, own.id, target, partial=True)
        assert response.status_code == 422, target
        assert message in response.get_data(as_text=True), target
    assert seed.run(lambda: CustomerShare.select().count()) == 0
    # sharing twice is harmless
    assert share_with(client, own.id, f"u:{seed.user('sales2').id}").status_code == 303
    assert share_with(client, own.id, f"u:{seed.user('sales2').id}").status_code == 303
    assert seed.run(lambda: CustomerShare.select().count()) == 1


def test_who_may_share(client, login, seed, book):
    own = book["own"]
    login("service")        # sees it, may not edit it: may not share it either
    assert share_with(client, own.id, f"u:{seed.user('sales2').id}").status_code == 403
    assert 'id="sharing"' not in client.get(f"/customers/{own.id}").get_data(as_text=True)
    client.post("/logout")
    login("sales2")         # out of scope: 404, not 403
    assert share_with(client, own.id, f"u:{seed.user('sales2').id}").status_code == 404
    assert seed.run(lambda: CustomerShare.select().count()) == 0


# -- masking and reveal ---------------------------------------------------------------------------

def test_mask_functions():
    assert masking.mask_phone("+8613812345678") == "138****5678"
    assert masking.mask_phone("+861088886666") == "108****6666"
    assert masking.mask_phone("+14155550123").startswith("+1 415****0123")
    assert masking.mask_email("zhang.wei@example.com") == "z***@example.com"
    assert masking.mask("wechat", "lilei88") == "l***"
    assert masking.mask_phone("") == ""


@pytest.mark.parametrize("role", ["service", "clerk"])
def test_service_and_clerk_see_masked_values(client, login, book, role):
    own = book["own"]
    login(role)
    page = client.get(f"/customers/{own.id}").get_data(as_text=True)
    for secret in ("138 1234 5678", "13812345678", "zhang@example.com", "139 1234 5678",
                   "lilei@example.com", "lilei88"):
        assert secret not in page, secret
    assert "138****5678" in page and "z***@example.com" in page and "l***" in page
    results = client.get("/customers?q=5678", headers=htmx("results")).get_data(as_text=True)
    assert "138****5678" in results and "138 1234 5678" not in results


def test_sales_sees_plain_values(client, login, book):
    login("sales")
    page = client.get(f"/customers/{book['own'].id}").get_data(as_text=True)
    assert "138 1234 5678" in page and "zhang@example.com" in page and "lilei88" in page
    assert "/reveal" not in page


def test_reveal_is_one_audited_click(client, login, seed, book):
    own = book["own"]
    contact = seed.run(lambda: Contact.get(Contact.customer == own.id))
    login("service")
    page = client.get(f"/customers/{own.id}").get_data(as_text=True)
    assert f'hx-target="#rv-{own.id}-phone"' in page
    response = client.post(f"/customers/{own.id}/reveal", data={"field": "phone"},
                           headers=htmx(f"rv-{own.id}-phone"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "138 1234 5678" in body and f'id="rv-{own.id}-phone"' in body
    assert "<html" not in body
    assert response.headers["Cache-Control"] == "no-store"
    # without JavaScript: a page that shows the value once
    response = client.post(f"/customers/{own.id}/reveal",
                           data={"field": "email", "contact": str(contact.id)})
    assert response.status_code == 200 and "lilei@example.com" in response.get_data(as_text=True)
    rows = seed.run(lambda: list(AuditLog.select().where(AuditLog.action == "customer.reveal")
                                 .order_by(AuditLog.id)))
    assert [(r.entity_id, r.field, r.user_id) for r in rows] == [
        (own.id, "phone", seed.user("service").id),
        (own.id, "contact.email", seed.user("service").id)]
    # the next page view is masked again
    assert "138 1234 5678" not in client.get(f"/customers/{own.id}").get_data(as_text=True)


def test_reveal_refuses_bad_requests(client, login, seed, book):
    own, other = book["own"], book["other"]
    foreign_contact = seed.run(lambda: Contact.create(customer=other.id, name="x", mobile="+8613000000000"))
    login("service")
    assert client.post(f"/customers/{own.id}/reveal", data={"field": "notes"}).status_code == 400
    assert client.post(f"/customers/{own.id}/reveal",
                       data={"field": "mobile", "contact": str(foreign_contact.id)}).status_code == 404
    client.post("/logout")
    login("sales")
    assert client.post(f"/customers/{other.id}/reveal", data={"field": "phone"}).status_code == 404
    assert seed.run(lambda: AuditLog.select().where(
        AuditLog.action == "customer.reveal").count()) == 0


def test_masked_contact_edit_keeps_hidden_values(client, login, seed, book):
    own = book["own"]
    contact = seed.run(lambda: Contact.get(Contact.customer == own.id))
    login("service")
    form = client.get(f"/customers/{own.id}/contacts/{contact.id}/edit").get_data(as_text=True)
    assert "lilei@example.com" not in form and "139 1234 5678" not in form
    assert 'placeholder="l***@example.com"' in form
    response = client.post(f"/customers/{own.id}/contacts/{contact.id}/edit", data={
        "contact-name": "李雷", "contact-title": "采购经理", "contact-version": "1",
        "contact-mobile": "", "contact-email": "", "contact-wechat": ""})
    assert response.status_code == 303
    stored = seed.run(lambda: Contact.get_by_id(contact.id))
    assert (stored.title, stored.mobile, stored.email, stored.wechat) == (
        "采购经理", "+8613912345678", "lilei@example.com", "lilei88")


# -- bulk reassignment ----------------------------------------------------------------------------

def test_reassign_selected_customers(client, login, seed, book):
    login("manager")
    page = client.get("/customers").get_data(as_text=True)
    assert 'form="bulk"' in page and 'id="bulk"' in page
    token = csrf_token(page) if "csrf_token" in page else ""
    response = client.post("/customers/reassign", data={
        "ids": [str(book["own"].id), str(book["other"].id), str(book["admins"].id)],
        "owner": str(seed.user("sales2").id), "back": "/customers?sort=name", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/customers?sort=name")
    assert seed.get_customer(book["own"].id).owner_id == seed.user("sales2").id
    assert seed.get_customer(book["admins"].id).owner_id == seed.user("admin").id   # out of scope
    follow = client.get("/customers?sort=name").get_data(as_text=True)
    assert "1 customer reassigned." in follow and "2 skipped" in follow
    history = client.get(f"/customers/{book['own'].id}/history").get_data(as_text=True)
    assert "reassigned" in history
    assert seed.user("sales").name in history and seed.user("sales2").name in history


def test_reassign_every_customer_of_a_rep_who_leaves(client, login, seed, book):
    extra = seed.customer("王强", owner="sales")
    login("admin")
    response = client.post("/customers/reassign", data={
        "from_owner": str(seed.user("sales").id), "owner": str(seed.user("sales2").id)})
    assert response.status_code == 303
    for customer in (book["own"], extra):
        stored = seed.get_customer(customer.id)
        assert stored.owner_id == seed.user("sales2").id and stored.version == 2
    assert seed.run(lambda: AuditLog.select().where(
        AuditLog.action == "customer.reassign").count()) == 2


def test_reassign_refusals(client, login, seed, book):
    login("sales")
    assert client.get("/customers/reassign").status_code == 403
    assert 'id="bulk"' not in client.get("/customers").get_data(as_text=True)
    client.post("/logout")
    login("manager")
    # a new owner outside the manager's subtree (admin has no department)
    response = client.post("/customers/reassign", data={
        "ids": [str(book["own"].id)], "owner": str(seed.user("admin").id)})
    assert response.status_code == 422
    assert "Choose a new owner" in response.get_data(as_text=True)
    response = client.post("/customers/reassign", data={"owner": str(seed.user("sales2").id)})
    assert response.status_code == 422
    assert "Select at least one customer" in response.get_data(as_text=True)
    assert seed.get_customer(book["own"].id).owner_id == seed.user("sales").id
    assert seed.run(lambda: Customer.select().where(Customer.version > 1).count()) == 0
