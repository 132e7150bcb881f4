"""Row-level access (basic): reps see their own customers, managers their department's subtree,
service everybody, the counter searches but does not browse.  Outside the scope is a 404."""
from __future__ import annotations

import re

import pytest

from crm.activities.models import Activity
from crm.customers.models import Contact, Customer
from crm.purchases.models import Product, Purchase
from tests.conftest import htmx
from tests.core.conftest import PanelPlugin, customer_form


@pytest.fixture
def plugins():
    return [PanelPlugin()]


@pytest.fixture
def book(seed):
    """One customer per owner.  Departments: Sales > (Team A: sales, sales2; Team B),
    Service (service, clerk); manager in Sales; admin in none."""
    owners = {"sales": ("张伟", "13812345678"), "sales2": ("李娜", "13987654321"),
              "manager": ("王芳", "13711112222"), "admin": ("刘洋", "13633334444"),
              "service": ("陈静", "13555556666")}
    made = {}
    for owner, (name, phone) in owners.items():
        made[owner] = seed.customer(name, owner=owner, phone=phone,
                                    contacts=[{"name": f"{name}的助理"}])
    # a rep of Team B, inside the manager's subtree
    from crm.accounts import services
    from crm.accounts.models import Department
    seed.run(lambda: services.create_user(
        "rep.b", "long-enough-1", "sales", "Rep B",
        Department.get(Department.name == "Team B")))
    made["rep.b"] = seed.customer("赵磊", owner="rep.b")
    seed.product("TEA-1", "Green tea", 1999)
    return made


def listed(client, query="") -> set[str]:
    response = client.get("/customers" + query, headers=htmx("results"))
    assert response.status_code == 200
    return set(re.findall(r'<a href="/customers/\d+">([^<]+)</a>', response.get_data(as_text=True)))


def test_sales_sees_only_own(client, login, book):
    login("sales")
    assert listed(client) == {"张伟"}
    assert listed(client, "?q=13") == {"张伟"}
    assert client.get(f"/customers/{book['sales'].id}").status_code == 200


def _foreign_requests(customer_id: int, contact_id: int, product_id: int):
    """Every route that touches one customer: (method, url, data)."""
    return [
        ("GET", f"/customers/{customer_id}", None),
        ("GET", f"/customers/{customer_id}/edit", None),
        ("POST", f"/customers/{customer_id}/edit", customer_form(name="改名", kind="person",
                                                                 version="1")),
        ("GET", f"/customers/{customer_id}/panels/coretest_notes", None),
        ("GET", f"/customers/{customer_id}/history", None),
        ("GET", f"/customers/{customer_id}/activities", None),
        ("POST", f"/customers/{customer_id}/activities", {"kind": "call", "summary": "x"}),
        ("GET", f"/customers/{customer_id}/purchases", None),
        ("POST", f"/customers/{customer_id}/purchases",
         {"lines-0-product": str(product_id), "lines-0-quantity": "1"}),
        ("POST", f"/customers/{customer_id}/contacts", {"contact-name": "x"}),
        ("GET", f"/customers/{customer_id}/contacts/{contact_id}/edit", None),
        ("POST", f"/customers/{customer_id}/contacts/{contact_id}/edit",
         {"contact-name": "x", "contact-version": "1"}),
        ("POST", f"/customers/{customer_id}/contacts/{contact_id}/delete", None),
        ("POST", f"/customers/{customer_id}/delete", None),
        ("POST", f"/customers/{customer_id}/restore", None),
    ]


def _assert_untouched(seed, customer):
    stored = seed.get_customer(customer.id)
    assert (stored.name, stored.version, stored.deleted_at) == (customer.name, 1, None)
    assert seed.run(lambda: Activity.select().where(Activity.customer == customer.id).count()) == 0
    assert seed.run(lambda: Purchase.select().where(Purchase.customer == customer.id).count()) == 0
    assert seed.run(lambda: Contact.get(Contact.customer == customer.id).name) == \
        f"{customer.name}的助理"


@pytest.mark.parametrize("username, other", [("sales", "sales2"), ("sales", "manager"),
                                             ("manager", "admin"), ("manager", "service")])
def test_another_owners_customer_is_404_everywhere(client, login, seed, book, username, other):
    foreign = book[other]
    contact_id = seed.run(lambda: Contact.get(Contact.customer == foreign.id).id)
    product_id = seed.run(lambda: Product.get().id)
    login(username)
    for method, url, data in _foreign_requests(foreign.id, contact_id, product_id):
        response = client.open(url, method=method, data=data)
        assert response.status_code == 404, (method, url, response.status_code)
        partial = client.open(url, method=method, data=data, headers=htmx("main"))
        assert partial.status_code == 404, (method, url, "htmx")
    _assert_untouched(seed, foreign)
    # and nothing of it in lists, searches or the duplicate warning
    assert foreign.name not in listed(client, "?q=" + foreign.name)
    assert foreign.name not in listed(client)
    dup = client.get("/customers/duplicates", query_string={"phone": foreign.phone},
                     headers=htmx("dup-warning")).get_data(as_text=True)
    assert foreign.name not in dup and foreign.number not in dup


def test_manager_sees_the_department_subtree(client, login, book):
    login("manager")
    assert listed(client) == {"张伟", "李娜", "王芳", "赵磊"}   # Team A, Team B and own
    for owner in ("sales", "sales2", "rep.b", "manager"):
        assert client.get(f"/customers/{book[owner].id}").status_code == 200
    page = client.get(f"/customers/{book['sales'].id}").get_data(as_text=True)
    assert "The owner works in Team A, your department or one below it." in page


def test_manager_can_edit_in_the_subtree(client, login, seed, book):
    login("manager")
    customer = book["sales2"]
    page = client.get(f"/customers/{customer.id}/edit").data
    response = client.post(f"/customers/{customer.id}/edit",
                           data=customer_form(page, value_class="A"))
    assert response.status_code == 303
    assert seed.get_customer(customer.id).value_class == "A"


def test_service_sees_all_but_does_not_edit(client, login, seed, book):
    login("service")
    assert listed(client) == {"张伟", "李娜", "王芳", "刘洋", "陈静", "赵磊"}
    customer = book["sales"]
    assert client.get(f"/customers/{customer.id}").status_code == 200
    assert client.get(f"/customers/{customer.id}/edit").status_code == 403
    assert client.post(f"/customers/{customer.id}/delete").status_code == 403
    assert client.get("/customers/new").status_code == 403
    assert client.get("/customers/trash").status_code == 403
    # service may log the call and keep the contacts up to date
    assert client.post(f"/customers/{customer.id}/activities",
                       data={"kind": "call", "summary": "售后回访"}).status_code == 303
    assert client.post(f"/customers/{customer.id}/contacts",
                       data={"contact-name": "新联系人"}).status_code == 303
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert f'href="/customers/{customer.id}/edit"' not in page    # no edit button


def test_clerk_searches_but_does_not_browse(client, login, seed, book):
    login("clerk")
    page = client.get("/customers")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Search a member by the last 4 digits" in body
    assert listed(client) == set()
    assert 'name="owner"' not in body                  # no filters either
    for query in ("?sort=name", "?value_class=C", f"?owner={seed.user('sales').id}",
                  "?page=2", "?q=%20"):
        assert listed(client, query) == set(), query
    # a search finds any member, by the last 4 digits at the counter
    assert listed(client, "?q=5678") == {"张伟"}
    assert listed(client, "?q=lina") == {"李娜"}
    customer = book["sales2"]
    assert client.get(f"/customers/{customer.id}").status_code == 200
    assert client.get(f"/customers/{customer.id}/edit").status_code == 403
    # the counter registers new members and records purchases
    assert client.get("/customers/new").status_code == 200
    product_id = seed.run(lambda: Product.get().id)
    assert client.post(f"/customers/{customer.id}/purchases", data={
        "lines-0-product": str(product_id), "lines-0-quantity": "1"}).status_code == 303


def test_admin_sees_all(client, login, book):
    login("admin")
    assert listed(client) == {"张伟", "李娜", "王芳", "刘洋", "陈静", "赵磊"}


def test_sales_cannot_hand_a_customer_away_via_the_form(client, login, seed, book):
    login("sales")
    customer = book["sales"]
    page = client.get(f"/customers/{customer.id}/edit").data
    response = client.post(f"/customers/{customer.id}/edit",
                           data=customer_form(page, owner=seed.user("sales2").id))
    assert response.status_code == 422
    assert seed.get_customer(customer.id).owner_id == seed.user("sales").id


def test_scope_counts_on_the_dashboard(client, login, book):
    login("sales")
    card = client.get("/dashboard/cards/customers").get_data(as_text=True)
    assert "<strong>1</strong>" in card
    client.post("/logout")
    login("manager")
    card = client.get("/dashboard/cards/customers").get_data(as_text=True)
    assert "<strong>4</strong>" in card


def test_deleted_customers_stay_out_of_scope_counts(client, login, seed, book):
    seed.run(lambda: Customer.update(deleted_at=Customer.created_at)
             .where(Customer.id == book["sales"].id).execute())
    login("admin")
    card = client.get("/dashboard/cards/customers").get_data(as_text=True)
    assert "<strong>5</strong>" in card
