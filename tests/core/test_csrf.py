"""CSRF on every state-changing request: no token is a 400 (an htmx request is told to refresh
the page instead), the token from the page or the X-CSRFToken header works."""
from __future__ import annotations

import re

import pytest

from crm.customers.models import Customer, CustomerShare
from tests.conftest import PASSWORD, csrf_token, htmx
from tests.core.conftest import customer_form


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture
def signed_in(client):
    """Sign in the way a browser does: with the token from the login page."""
    def do(username="admin"):
        token = csrf_token(client.get("/login").data)
        response = client.post("/login", data={"username": username, "password": PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 303
        return client
    return do


@pytest.fixture
def ids(seed):
    customer = seed.customer("张伟", owner="admin", contacts=[{"name": "李雷"}])
    activity = seed.activity(customer.id, "admin", next_followup_on=customer.created_at.date())
    product = seed.product()
    sales = seed.user("sales")
    share = seed.run(lambda: CustomerShare.create(customer=customer.id, user=sales.id))
    from crm.imports import services as imports
    job = seed.run(lambda: imports.create(seed.user("admin"), "c.csv",
                                          "名称\n王五\n".encode(), "customers"))
    from crm.notifications import notify
    from crm.notifications.models import Notification
    from crm.tasks.services import create_task
    admin = seed.user("admin")
    task = seed.run(create_task, "CSRF 任务", admin, customer=customer.id)
    seed.run(notify, [admin], "hello", url="/followups")
    note = seed.run(lambda: Notification.get(Notification.user == admin.id))
    purchase = seed.purchase(customer.id, [(product.id, 1)])
    return {"purchase_id": purchase.id, "customer_id": customer.id, "contact_id": seed.run(lambda: customer.contacts.get().id),
            "activity_id": activity.id, "product_id": product.id,
            "user_id": sales.id, "share_id": share.id, "import_id": job.id,
            "task_id": task.id, "notification_id": note.id}


def post_urls(app, ids) -> dict[str, str]:
    """Every POST route of the app, with real ids filled in."""
    urls = {}
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods:
            values = {arg: ids[arg] for arg in rule.arguments}
            urls[rule.rule] = rule.build(values)[1]
    return urls


def test_login_without_token_is_rejected(client):
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/customers").status_code == 302      # not signed in


def test_every_post_route_rejects_a_missing_token(app, client, signed_in, seed, ids):
    signed_in("admin")
    urls = post_urls(app, ids)
    assert len(urls) >= 15
    for rule, url in sorted(urls.items()):
        response = client.post(url, data={"name": "x"})
        assert response.status_code == 400, (rule, response.status_code)
        bad = client.post(url, data={"name": "x", "csrf_token": "forged"})
        assert bad.status_code == 400, (rule, "forged")
    # nothing happened
    customer = seed.get_customer(ids["customer_id"])
    assert customer.deleted_at is None and customer.version == 1
    assert seed.run(Customer.select().count) == 1
    assert client.get("/customers").status_code == 200       # and the session is still fine


def test_htmx_post_without_token_refreshes(app, client, signed_in, ids):
    signed_in("admin")
    for rule, url in sorted(post_urls(app, ids).items()):
        response = client.post(url, data={}, headers=htmx("main"))
        assert response.status_code == 200, rule
        assert response.headers.get("HX-Refresh") == "true", rule
        assert response.data == b""


def test_token_from_the_page_works(client, signed_in, seed):
    signed_in("admin")
    page = client.get("/customers/new").data
    data = customer_form(page, kind="person", name="张伟")
    data["csrf_token"] = csrf_token(page)
    response = client.post("/customers/new", data=data)
    assert response.status_code == 303
    customer_id = int(response.headers["Location"].rsplit("/", 1)[1])
    # htmx sends the token in the X-CSRFToken header (hx-headers on the page's wrapper)
    detail = client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in detail
    header_token = csrf_token(detail.split('hx-headers=')[1])
    response = client.post(f"/customers/{customer_id}/activities",
                           data={"kind": "call", "summary": "电话"},
                           headers=htmx("log-activity", **{"X-CSRFToken": header_token}))
    assert response.status_code == 200 and b"HX-Refresh" not in response.data
    assert "HX-Refresh" not in response.headers
    # a prefixed form's token ("contact-csrf_token")
    token = re.search(r'name="contact-csrf_token"[^>]*value="([^"]+)"', detail).group(1)
    response = client.post(f"/customers/{customer_id}/contacts",
                           data={"contact-name": "李雷", "contact-csrf_token": token})
    assert response.status_code == 303
    # the sign-out button carries its token too
    token = csrf_token(detail.split('action="/logout"')[1])
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/customers").status_code == 302


def test_every_form_on_a_page_carries_the_token(client, signed_in, seed, ids):
    """Each <form method="post"> of the main pages has a csrf_token input."""
    signed_in("admin")
    pages = ["/", "/customers", "/customers/new", f"/customers/{ids['customer_id']}",
             f"/customers/{ids['customer_id']}/edit", "/followups", "/account",
             "/products/new", "/admin/users/new", "/admin/departments", "/customers/trash",
             f"/customers/{ids['customer_id']}/contacts/{ids['contact_id']}/edit"]
    for url in pages:
        body = client.get(url).get_data(as_text=True)
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", body, re.S | re.I)
        assert forms or url in ("/", "/customers"), url
        for form in forms:
            # prefixed forms name it "<prefix>-csrf_token" (Flask-WTF accepts that)
            assert re.search(r'name="(?:[\w]+-)?csrf_token"', form), (url, form[:200])
