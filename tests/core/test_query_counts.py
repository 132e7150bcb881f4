"""No N+1: each page runs the same number of queries with a little data and with a lot
(the customer list has its own test in test_customer_list.py)."""
from __future__ import annotations

import datetime as dt

from crm.activities import services as activities
from crm.audit import services as audit
from crm.customers import services
from crm.customers.models import Contact, Customer
from crm.purchases.models import Product
from tests.conftest import htmx

USERS = ["admin", "manager", "sales", "sales2", "service"]


def grow(seed, customer_id: int, n: int, offset: int = 0):
    """n more of everything the customer page shows, by different people."""
    for i in range(offset, offset + n):
        who = USERS[i % len(USERS)]
        customer = seed.get_customer(customer_id)
        seed.run(lambda: services.save_contact(customer, {"name": f"联系人{i}",
                                                          "mobile": f"+86139{i:08d}"},
                                               seed.user(who)))
        seed.run(lambda: services.set_tags(customer, [f"tag{j}" for j in range(i + 1)]))
        contact_id = seed.run(lambda: Contact.select().where(Contact.customer == customer_id)
                              .order_by(Contact.id.desc()).get().id)
        seed.run(lambda: activities.log_activity(
            customer, seed.user(who), "call", f"电话{i}", dt.datetime(2025, 1, 1, 8, i),
            contact_id=contact_id, next_followup_on=dt.date(2025, 1, 2)))
        product = seed.product(f"SKU{i}", f"商品{i}", 100 + i)
        seed.purchase(customer_id, [(product.id, 1)], username=who)
        seed.run(lambda: audit.record("update", seed.user(who), "customer", customer_id,
                                      [("region", f"r{i}", f"r{i + 1}")]))


def measure(client, count_queries, url, headers=None):
    count_queries.reset()
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, url
    return len(count_queries), response.get_data(as_text=True)


PAGES = [
    ("{c}", None),
    ("{c}/history", None),
    ("{c}/activities", None),
    ("{c}/activities?page=1", htmx("timeline-more")),
    ("{c}/purchases", None),
]


def test_customer_pages_run_a_fixed_number_of_queries(client, login, seed, count_queries):
    customer = seed.customer("杭州华信科技有限公司", owner="admin")
    grow(seed, customer.id, 2)
    login("admin")
    small = {}
    for path, headers in PAGES:
        url = "/customers/" + path.format(c=customer.id)
        small[url] = measure(client, count_queries, url, headers)
    grow(seed, customer.id, 12, offset=2)
    for path, headers in PAGES:
        url = "/customers/" + path.format(c=customer.id)
        count, body = measure(client, count_queries, url, headers)
        assert len(body) > len(small[url][1]), url      # more rows shown...
        assert count == small[url][0], (              # ...with as many queries
            url, small[url][0], count, "\n".join(count_queries.statements))


def test_other_lists_run_a_fixed_number_of_queries(client, login, seed, count_queries):
    def setup(n, offset):
        for i in range(offset, offset + n):
            who = USERS[i % len(USERS)]
            customer = seed.customer(f"客户{i}有限公司", owner=who if who != "service" else "sales")
            seed.activity(customer.id, "admin", summary=f"跟进{i}",
                          next_followup_on=dt.date(2025, 1, 1))
            seed.run(lambda: Product.create(sku=f"S{i}", name=f"商品{i}", price_fen=i))
            if i % 2:
                seed.run(lambda: Customer.update(deleted_at=dt.datetime(2025, 1, 1),
                                                 deleted_by=seed.user(who).id)
                         .where(Customer.id == customer.id).execute())

    urls = [("/followups", None), ("/followups?days=30", htmx("followups")),
            ("/customers/trash", None), ("/products", None), ("/admin/users", None),
            ("/admin/departments", None), ("/", None),
            ("/dashboard/cards/followups", htmx("card-followups")),
            ("/dashboard/cards/customers", htmx("card-customers")),
            ("/dashboard/cards/activity", htmx("card-activity"))]
    setup(3, 0)
    login("admin")
    small = {url: measure(client, count_queries, url, headers)[0] for url, headers in urls}
    setup(15, 3)
    for url, headers in urls:
        count, _body = measure(client, count_queries, url, headers)
        assert count == small[url], (url, small[url], count, "\n".join(count_queries.statements))
