"""Every GET route of the core, as a full page and as the htmx partial its templates ask for.

``ROUTES`` is the route table: a new GET route without a row here fails
``test_every_get_route_is_in_the_table``.  The HX-Target of each row is the one the templates
use (``results``, ``load-more``, ``timeline-more``, ``dup-warning``, the panel and card ids,
``followups``); pages that no element targets are asked for by ``see_other``'s HX-Location,
which targets ``main``.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import htmx
from tests.core.conftest import PanelPlugin


@pytest.fixture
def plugins():
    return [PanelPlugin()]


@pytest.fixture
def world(seed):
    customer = seed.customer("杭州华信科技有限公司", owner="sales", phone="13812345678",
                             contacts=[{"name": "李雷", "mobile": "13900001111"}])
    seed.calls(customer.id, "sales", [dt.datetime(2025, 1, 1) + dt.timedelta(days=i)
                                      for i in range(25)])
    product = seed.product("TEA-1", "Green tea", 1999)
    purchase = seed.purchase(customer.id, [(product.id, 2)])
    contact_id = seed.run(lambda: customer.contacts.get().id)
    twin = seed.customer("杭州华信科技有限公司", owner="sales", email="hx@example.com")
    merged = seed.customer("华信科技（杭州）有限公司", owner="sales")
    from crm.customers import merge
    record = seed.run(lambda: merge.merge(seed.get_customer(customer.id),
                                          seed.get_customer(merged.id), [], seed.user("admin")))
    from crm.imports import services as imports
    job = seed.run(lambda: imports.create(seed.user("admin"), "world.csv",
                                          "名称,手机\n王五,13700001111\n".encode(), "customers"))
    from crm.notifications import notify
    from crm.tasks.services import create_task
    task = seed.run(create_task, "回访华信", seed.user("admin"), customer=customer.id)
    seed.run(notify, [seed.user("admin")], "A note for the admin", url="/followups")
    return {"customer": customer.id, "contact": contact_id, "product": product.id,
            "user": seed.user("sales").id, "twin": twin.id, "merge": record.id,
            "import": job.id, "task": task.id, "purchase": purchase.id}


# rule -> (url from the world, HX-Target, a marker the partial must contain[, one the page must])
ROUTES = {
    "/": (lambda w: "/", "main", 'id="main"'),
    "/dashboard/cards/<name>": (lambda w: "/dashboard/cards/followups", "card-followups",
                                'id="card-followups"'),
    "/customers": (lambda w: "/customers", "results", 'id="results"'),
    "/customers/new": (lambda w: "/customers/new", "main", 'id="customer-form"'),
    "/customers/<int:customer_id>/edit": (lambda w: f"/customers/{w['customer']}/edit", "main",
                                          'id="customer-form"'),
    "/customers/duplicates": (lambda w: "/customers/duplicates?phone=13812345678", "dup-warning",
                              "Possible duplicates"),
    "/customers/<int:customer_id>": (lambda w: f"/customers/{w['customer']}", "main",
                                     'id="timeline-items"'),
    "/customers/<int:customer_id>/panels/<name>": (
        lambda w: f"/customers/{w['customer']}/panels/coretest_notes", "panel-coretest_notes",
        "notes of 杭州华信科技有限公司"),
    "/customers/trash": (lambda w: "/customers/trash", "main", "Trash"),
    "/customers/<int:customer_id>/contacts/<int:contact_id>/edit": (
        lambda w: f"/customers/{w['customer']}/contacts/{w['contact']}/edit", "main",
        'id="contact-form"'),
    "/customers/<int:customer_id>/history": (lambda w: f"/customers/{w['customer']}/history",
                                             "main", "History of"),
    "/customers/<int:customer_id>/activities": (
        lambda w: f"/customers/{w['customer']}/activities?page=2", "timeline-more",
        'hx-swap-oob="beforeend:#timeline-items"', 'id="timeline-items"'),
    "/customers/<int:customer_id>/shares": (lambda w: f"/customers/{w['customer']}/shares",
                                            "shares", 'id="shares"', "Sharing"),
    "/customers/duplicate-pairs": (lambda w: "/customers/duplicate-pairs", "main", "80%"),
    "/customers/merge": (lambda w: f"/customers/merge?a={w['customer']}&b={w['twin']}", "main",
                         'name="f_email"'),
    "/customers/merges": (lambda w: "/customers/merges", "main", "华信科技（杭州）有限公司"),
    "/customers/merges/<int:merge_id>": (lambda w: f"/customers/merges/{w['merge']}", "main",
                                         "华信科技（杭州）有限公司"),
    "/customers/completeness": (lambda w: "/customers/completeness", "main", "incomplete"),
    "/customers/<int:customer_id>/sheet": (lambda w: f"/customers/{w['customer']}/sheet", "main",
                                           "Customer information sheet"),
    "/admin/audit": (lambda w: "/admin/audit", "audit-results", 'id="audit-results"'),
    "/account/password": (lambda w: "/account/password", "main", 'id="password-form"'),
    "/imports": (lambda w: "/imports", "main", 'type="file"'),
    "/imports/<int:import_id>/mapping": (lambda w: f"/imports/{w['import']}/mapping", "main",
                                         "王五"),
    "/imports/<int:import_id>": (lambda w: f"/imports/{w['import']}", "main", "world.csv"),
    "/customers/export": (lambda w: "/customers/export", "main", 'name="columns"'),
    "/customers/reassign": (lambda w: "/customers/reassign", "main", 'name="from_owner"'),
    "/followups": (lambda w: "/followups", "followups", 'id="followups"'),
    "/tasks/new": (lambda w: f"/tasks/new?customer={w['customer']}", "main", 'id="task-form"'),
    "/tasks/<int:task_id>/edit": (lambda w: f"/tasks/{w['task']}/edit", "main", "回访华信"),
    "/notifications": (lambda w: "/notifications", "notifications", "A note for the admin",
                       "Mark all as read"),
    "/purchases/<int:purchase_id>/refund": (
        lambda w: f"/purchases/{w['purchase']}/refund", "refund", 'id="refund-form"'),
    "/customers/<int:customer_id>/purchases": (
        lambda w: f"/customers/{w['customer']}/purchases", "main", "Green tea"),
    "/products": (lambda w: "/products", "main", "TEA-1"),
    "/products/new": (lambda w: "/products/new", "main", 'name="sku"'),
    "/products/<int:product_id>/edit": (lambda w: f"/products/{w['product']}/edit", "main",
                                        'value="TEA-1"'),
    "/login": (lambda w: "/login", "main", 'name="password"'),
    "/account": (lambda w: "/account", "main", 'name="prefs-locale"'),
    "/admin/users": (lambda w: "/admin/users", "main", "sales2"),
    "/admin/users/new": (lambda w: "/admin/users/new", "main", 'name="username"'),
    "/admin/users/<int:user_id>/edit": (lambda w: f"/admin/users/{w['user']}/edit", "main",
                                        'value="sales"'),
    "/admin/departments": (lambda w: "/admin/departments", "main", "Team A"),
    "/admin/backups": (lambda w: "/admin/backups", "main", "Back up now"),
    "/admin/plugins": (lambda w: "/admin/plugins", "main", "coretest"),
}
# GET routes that are not HTML pages, each with the test that covers it.
NOT_PAGES = {
    "/imports/<int:import_id>/rejected.csv": "tests/imports/test_routes.py",
    "/customers/<int:customer_id>/personal-data": "tests/core/test_privacy.py",
    "/healthz": "tests/core/test_smoke.py::test_healthz",
    "/notifications/badge": "tests/core/test_notifications.py (a fragment polled by htmx; "
                            "without htmx it sends to /notifications)",
    "/static/<path:filename>": "tests/core/test_routes.py::test_static_assets",
}
ANONYMOUS = {"/login"}
# Only ever loaded into their own element (a card, a panel, the duplicate warning).
FRAGMENTS = {"/dashboard/cards/<name>", "/customers/<int:customer_id>/panels/<name>",
             "/customers/duplicates"}


def test_every_get_route_is_in_the_table(app):
    rules = {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    missing = rules - set(ROUTES) - set(NOT_PAGES)
    assert not missing, f"GET routes without a row in ROUTES: {sorted(missing)}"
    stale = (set(ROUTES) | set(NOT_PAGES)) - rules
    assert not stale, f"rows for routes that do not exist: {sorted(stale)}"


def _check_full(response, url):
    assert response.status_code == 200, (url, response.status_code)
    assert response.mimetype == "text/html"
    assert b"<html" in response.data, url
    assert b'id="main"' in response.data
    assert "HX-Request" in response.headers.get("Vary", ""), url
    _check_headers(response, url)


def _check_headers(response, url):
    """Customer data is never cached, and the strict CSP is on pages and fragments alike."""
    assert "no-store" in response.headers.get("Cache-Control", ""), url
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"], url
    assert response.headers["X-Content-Type-Options"] == "nosniff", url


def _check_partial(response, url, marker):
    assert response.status_code == 200, (url, response.status_code)
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<!doctype" not in body.lower(), url
    assert "<head" not in body and "<body" not in body, url
    assert marker in body, (url, marker, body[:300])
    assert "HX-Request" in response.headers.get("Vary", ""), url
    _check_headers(response, url)


@pytest.mark.parametrize("rule", sorted(ROUTES))
def test_route_full_page_and_partial(rule, client, login, world):
    url_for_world, target, marker, *page_marker = ROUTES[rule]
    url = url_for_world(world)
    if rule not in ANONYMOUS:
        login("admin")
    full = client.get(url)
    _check_full(full, url)
    assert (page_marker or [marker])[0] in full.get_data(as_text=True), (url, marker)
    partial = client.get(url, headers=htmx(target))
    _check_partial(partial, url, marker)


def test_every_page_as_the_hx_location_target(client, login, world):
    """see_other may send any page to #main through HX-Location: each answers the fragment
    with exactly one <main id="main"> (what htmx selects), never a whole document."""
    login("admin")
    for rule, (url_for_world, *_rest) in sorted(ROUTES.items()):
        if rule in ANONYMOUS or rule in FRAGMENTS:
            continue
        url = url_for_world(world)
        response = client.get(url, headers=htmx("main"))
        assert response.status_code == 200, (url, response.status_code)
        body = response.get_data(as_text=True)
        assert "<html" not in body and body.count('<main id="main">') == 1, url
        assert "HX-Request" in response.headers["Vary"], url


def test_boosted_navigation_gets_the_full_page(client, login, world):
    """hx-boost swaps the whole body: a boosted request is answered with the full page."""
    login("admin")
    for rule, (url_for_world, target, *_markers) in sorted(ROUTES.items()):
        if rule in ANONYMOUS:
            continue
        url = url_for_world(world)
        _check_full(client.get(url, headers=htmx(target, **{"HX-Boosted": "true"})), url)


def test_history_restore_gets_the_full_page(client, login, world):
    login("admin")
    response = client.get("/customers", headers=htmx("results", **{
        "HX-History-Restore-Request": "true"}))
    _check_full(response, "/customers")


def test_partial_main_is_the_content_only(client, login, world):
    """HX-Location (see_other) swaps #main selected from the answer: it must hold one #main,
    the flash messages and the title, and none of the navigation."""
    login("admin")
    page = client.get(f"/customers/{world['customer']}", headers=htmx("main"))
    body = page.get_data(as_text=True)
    assert body.count('id="main"') == 1
    assert "<title>杭州华信科技有限公司" in body
    assert 'class="top"' not in body     # the header stays in the page
    assert "Green tea" in body and "李雷" in body


def test_load_more_partial_is_rows_only(client, login, seed, app):
    app.config["PAGE_SIZE"] = 3
    for i in range(5):
        seed.customer(f"Customer {i} Trading Ltd.")
    login("admin")
    response = client.get("/customers?page=2", headers=htmx("load-more"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and 'id="results"' not in body and "<table" not in body
    assert body.count("<tr>") == 2          # rows 4 and 5 of 5
    assert 'id="load-more"' not in body      # the last page: nothing more to load
    assert "HX-Request" in response.headers["Vary"]


def test_timeline_partial_pages(client, login, world):
    login("admin")
    first = client.get(f"/customers/{world['customer']}")
    body = first.get_data(as_text=True)
    # the page shows the 20 newest and offers the second page
    assert body.count('class="act ') == 20   # the purchase and the 19 newest calls
    assert 'id="timeline-more"' in body and "page=2" in body
    more = client.get(f"/customers/{world['customer']}/activities?page=2",
                      headers=htmx("timeline-more"))
    more_body = more.get_data(as_text=True)
    # 25 calls + 1 purchase = 26 items: 6 on page 2, and no third page
    assert more_body.count('class="act ') == 6
    assert "call number 0" in more_body and "call number 24" not in more_body
    assert 'id="timeline-more"' not in more_body


def test_dashboard_cards(client, login, world):
    login("admin")
    page = client.get("/")
    for name in ("followups", "activity", "customers"):
        assert f'hx-get="/dashboard/cards/{name}"' in page.get_data(as_text=True)
        card = client.get(f"/dashboard/cards/{name}", headers=htmx(f"card-{name}"))
        assert card.status_code == 200
        assert f'id="card-{name}"' in card.get_data(as_text=True)
        assert b"<html" not in card.data
    assert client.get("/dashboard/cards/nope").status_code == 404
    # a clerk does not browse customers: no customers card, and asking for it is a 404
    client.post("/logout")
    login("clerk")
    assert 'hx-get="/dashboard/cards/customers"' not in client.get("/").get_data(as_text=True)
    assert client.get("/dashboard/cards/customers").status_code == 404


def test_customer_card_counts(client, login, seed):
    seed.customer("张伟", value_class="A")
    seed.customer("李娜", value_class="A")
    seed.customer("王芳", value_class="B")
    login("admin")
    body = client.get("/dashboard/cards/customers", headers=htmx("card-customers")) \
        .get_data(as_text=True)
    assert "<strong>3</strong>" in body
    assert re.search(r"value_class=A\">A</a></td><td>2<", body)
    assert re.search(r"value_class=B\">B</a></td><td>1<", body)


def test_static_assets(client):
    page = client.get("/login").get_data(as_text=True)
    css = re.search(r'href="(/static/[^"]+\.css)"', page).group(1)
    response = client.get(css)
    assert response.status_code == 200
    assert "immutable" in response.headers.get("Cache-Control", "")
    assert client.get("/static/nope.css").status_code == 404


def test_pages_require_login(client, world):
    for rule, (url_for_world, *_rest) in ROUTES.items():
        if rule in ANONYMOUS:
            continue
        response = client.get(url_for_world(world))
        assert response.status_code in (302, 401), rule
        assert "/login" in response.headers.get("Location", ""), rule


def test_htmx_post_redirects_with_hx_location(client, login, seed):
    """A non-boosted htmx POST answers 204 with HX-Location aimed at #main; following it as
    htmx does gives the <main> fragment with the flash message."""
    import json
    customer = seed.customer("张伟", owner="admin")
    login("admin")
    response = client.post(f"/customers/{customer.id}/delete", headers=htmx("main"))
    assert response.status_code == 204
    location = json.loads(response.headers["HX-Location"])
    assert location == {"path": "/customers", "target": "#main", "select": "#main",
                        "swap": "outerHTML"}
    assert "HX-Request" in response.headers["Vary"]
    page = client.get(location["path"], headers=htmx("main"))
    body = page.get_data(as_text=True)
    assert "<html" not in body and body.count('<main id="main">') == 1
    assert "张伟 moved to the trash." in body
    # without htmx: a plain 303
    restored = client.post(f"/customers/{customer.id}/restore")
    assert restored.status_code == 303
