"""The main flows in a real browser, each with JavaScript on (htmx) and off (plain HTML).

With JavaScript on, the tests prove that htmx really did the work: a marker set on ``window``
before an interaction survives it (no full page load), and the request carried ``HX-Request``.
"""
from __future__ import annotations

import random
import re
import secrets
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, sign_in

CUSTOMER_URL = re.compile(r"/customers/\d+(#.*)?$")


def _set_marker(page):
    page.evaluate("window.__marker = 1")


def _assert_no_full_load(page):
    assert page.evaluate("window.__marker") == 1, "the page was fully reloaded: htmx did not swap"


def _is_htmx(request) -> bool:
    return request.headers.get("hx-request") == "true"


def test_sign_in_and_sign_out(page, js):
    # A protected page sends a signed-out visitor to the login form.
    page.goto("/customers")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.locator("header.top")).to_have_count(0)

    # A wrong password: 422 and an error, the username kept.
    page.fill("#username", "admin")
    page.fill("#password", "not-the-password")
    with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as info:
        page.click("form[action^='/login'] button[type=submit]")
    assert info.value.status == 422
    expect(page.locator(".error-box[role=alert]")).to_be_visible()
    expect(page.locator("#username")).to_have_value("admin")
    if js:
        # htmx focuses the swapped form's autofocus field (the username) when the swap settles;
        # typing before that would land in the wrong field (a flaky "demo1234admin")
        expect(page.locator("#username")).to_be_focused()
        page.wait_for_function("!document.querySelector('.htmx-settling, .htmx-swapping')")

    # The right one: back where the visitor wanted to go.
    page.fill("#password", DEMO_PASSWORD)
    page.click("form[action^='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r"/customers$"))
    expect(page.locator("header.top")).to_be_visible()
    expect(page.locator("#q")).to_be_visible()
    if js:
        assert page.evaluate("typeof window.htmx") == "object", "htmx did not load"
    else:
        assert page.evaluate("typeof window.htmx") == "undefined"

    # Sign out: back to the login form, and the session is gone.
    page.click("header.top form[action$='/logout'] button[type=submit]")
    page.wait_for_url(re.compile(r"/login"))
    expect(page.locator("#username")).to_be_visible()
    expect(page.locator("header.top")).to_have_count(0)
    page.goto("/customers")
    expect(page).to_have_url(re.compile(r"/login"))


def test_navigation_reaches_every_main_page(page, js):
    sign_in(page, "admin")
    links = page.locator("header.top nav a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert "/customers" in hrefs and "/followups" in hrefs, hrefs
    for href in hrefs:
        if js:
            _set_marker(page)
        here = urlsplit(page.url).path
        page.click(f"header.top nav a[href='{href}']")
        if here != href:   # a link to the page it is on: no navigation to wait for (with htmx
            page.wait_for_url(re.compile(re.escape(href) + r"$"))   # not even a load event)
        expect(page.locator("main h1")).to_be_visible()
        expect(page.locator(f"header.top nav a[href='{href}']")).to_have_attribute(
            "aria-current", "page")
        if js:   # hx-boost: the navigation swapped the body, it did not load a new page
            _assert_no_full_load(page)


def _search(page, js: bool, term: str):
    """Type ``term`` into the search box; return the response of the request it made."""
    def is_search(response):
        query = parse_qs(urlsplit(response.url).query)
        return urlsplit(response.url).path == "/customers" and query.get("q") == [term]
    if js:
        _set_marker(page)
        with page.expect_response(is_search) as info:
            page.fill("#q", term)          # active search: htmx sends it after a short pause
        response = info.value
        assert _is_htmx(response.request), "the search did not go through htmx"
        assert response.status == 200
        body = response.text()
        assert "<html" not in body and 'id="results"' in body, "expected the #results fragment"
    else:
        page.fill("#q", term)
        with page.expect_response(is_search) as info:
            page.press("#q", "Enter")
        response = info.value
        assert not _is_htmx(response.request)
        assert response.status == 200
        page.wait_for_load_state()
    return response


def test_search_by_chinese_characters_pinyin_initials_and_phone_digits(page, js, demo):
    sign_in(page, "admin")
    page.goto("/customers")
    for term, name in (demo.by_han, demo.by_initials, demo.by_phone):
        _search(page, js, term)
        expect(page.locator("#results a", has_text=name).first).to_be_visible()
        expect(page.locator("#q")).to_have_value(term)
        # Both paths leave a shareable address: hx-push-url with htmx, the form's GET without.
        assert parse_qs(urlsplit(page.url).query).get("q") == [term], page.url
        if js:
            _assert_no_full_load(page)


def test_a_search_result_opens_the_customer_page(page, js, demo):
    """Tapping a result right after typing opens it.  (Regression: the search form's trigger
    used to include a bare ``change``, which fired again when #q lost focus; that search's
    response and URL push raced the tapped link's navigation.)"""
    sign_in(page, "admin")
    page.goto("/customers")
    term, name = demo.by_phone
    _search(page, js, term)
    page.locator("#results a", has_text=name).first.click()      # right after typing
    page.wait_for_url(CUSTOMER_URL, timeout=5_000)
    expect(page.locator("main h1")).to_have_text(name)


def test_create_customer_shows_errors_then_succeeds(page, js, instance):
    sign_in(page, "admin")
    page.goto("/customers/new")
    expect(page.locator("#customer-form")).to_be_visible()
    name = "测试" + secrets.token_hex(4)
    page.select_option("#customer-form #kind", "person")
    page.fill("#customer-form #name", name)
    page.fill("#customer-form #phone", "1381234567")          # a mobile number with 10 digits
    if js:
        _set_marker(page)

    def is_post(response):
        return response.request.method == "POST" and urlsplit(response.url).path == "/customers/new"
    with page.expect_response(is_post) as info:
        page.click("#customer-form button[type=submit]")
    assert info.value.status == 422
    expect(page.locator("#customer-form #phone-err")).to_be_visible()
    expect(page.locator("#customer-form #phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#customer-form #name")).to_have_value(name)      # input kept
    assert not instance.query("SELECT id FROM customer WHERE name = ?", (name,))
    if js:
        _assert_no_full_load(page)
        # let the swap settle (htmx then focuses the form's autofocus field) before typing
        page.wait_for_function("!document.querySelector('.htmx-settling, .htmx-swapping')")

    taken = {row[0] for row in instance.query("SELECT phone FROM customer")}
    while True:
        phone = "139" + "".join(random.choice("0123456789") for _ in range(8))
        if "+86" + phone not in taken:
            break
    page.fill("#customer-form #phone", phone)
    page.click("#customer-form button[type=submit]")
    page.wait_for_url(CUSTOMER_URL)
    expect(page.locator("main h1")).to_have_text(name)
    expect(page.locator(".flash.success")).to_be_visible()
    rows = instance.query("SELECT number, phone FROM customer WHERE name = ?", (name,))
    assert len(rows) == 1 and rows[0][1] == "+86" + phone, rows
    expect(page.locator("main")).to_contain_text(rows[0][0])               # its new number
    if js:   # hx-boost: the form was posted by htmx, the page never reloaded
        _assert_no_full_load(page)


def test_log_activity_appears_in_the_timeline(page, js, demo):
    sign_in(page, "admin")
    page.goto(f"/customers/{demo.customer_id}")
    summary = f"端到端测试 {'js' if js else 'nojs'} {secrets.token_hex(4)}"
    page.fill("#log-activity [name=summary]", summary)
    if js:
        _set_marker(page)

    def is_post(response):
        return response.request.method == "POST" and \
            urlsplit(response.url).path == f"/customers/{demo.customer_id}/activities"
    with page.expect_response(is_post) as info:
        page.click("#log-activity button[type=submit]")
    response = info.value
    if js:
        assert _is_htmx(response.request)
        assert response.status == 200
        assert "<html" not in response.text()
    else:
        assert response.status == 303
        page.wait_for_url(CUSTOMER_URL)
    item = page.locator("#timeline-items > li").first
    expect(item).to_contain_text(summary)
    expect(page.locator("#log-activity [name=summary]")).to_have_value("")   # a fresh form
    if js:
        _assert_no_full_load(page)
    # It is really stored: a fresh load shows it too.
    page.goto(f"/customers/{demo.customer_id}")
    expect(page.locator("#timeline-items > li", has_text=summary)).to_have_count(1)


def test_customer_page_sections_and_panels(page, js, demo, panel_plugins):
    sign_in(page, "admin")
    page.goto(f"/customers/{demo.customer_id}")
    expect(page.locator("main h1")).to_have_text(demo.customer_name)
    # the profile's facts (a plugin's panel may have a list of facts of its own)
    for selector in ("#h-basics", "[aria-labelledby=h-basics] dl.facts", "#contacts",
                     "#timeline", "#log-activity",
                     "#timeline-items", "#purchases", "#h-history"):
        expect(page.locator(f"main {selector}")).to_have_count(1)
    assert page.locator("main #timeline-items > li").count() >= 1, "demo customer without activity"
    headings = page.locator("main section h2, main section summary")
    assert headings.count() >= 5

    panels = page.locator("main section.panel")
    if not panel_plugins:
        # No plugin contributes a panel: the page has none (and nothing broken in its place).
        expect(panels).to_have_count(0)
        return
    assert panels.count() >= 1, f"plugins {panel_plugins} installed but no panel shown"
    if js:   # every panel is fetched by its own htmx request, then replaces its placeholder
        expect(page.locator("main section.panel[hx-get]")).to_have_count(0)
        expect(page.locator("main section.panel .error-box")).to_have_count(0)
    else:    # each placeholder links to the panel's own page
        hrefs = [panels.nth(i).locator("a").first.get_attribute("href")
                 for i in range(panels.count())]
        for href in hrefs:
            page.goto(href)
            expect(page.locator("main section.panel")).to_have_count(1)
            expect(page.locator("main section.panel .error-box")).to_have_count(0)


def test_load_more_lists_the_next_page(page, js):
    sign_in(page, "admin")
    page.goto("/customers")
    rows = page.locator("#results tbody tr:not(#load-more)")
    first_page = rows.count()
    assert first_page >= 10, "the demo list should fill a page"
    first_numbers = set(page.locator("#results tbody td.num").all_inner_texts())
    more = page.locator("#load-more a")
    expect(more).to_have_count(1)
    if js:   # htmx appends the next rows in place of the "load more" row
        _set_marker(page)
        with page.expect_response(lambda r: "page=2" in r.url) as info:
            more.click()
        assert _is_htmx(info.value.request) and info.value.status == 200
        expect(rows).to_have_count(first_page * 2)
        numbers = page.locator("#results tbody td.num").all_inner_texts()
        assert len(set(numbers)) == len(numbers) == first_page * 2, "rows repeated"
        assert first_numbers <= set(numbers)
        _assert_no_full_load(page)
    else:    # a plain link to the next page
        more.click()
        page.wait_for_url(re.compile(r"[?&]page=2"))
        expect(rows.first).to_be_visible()
        numbers = set(page.locator("#results tbody td.num").all_inner_texts())
        assert numbers and not (numbers & first_numbers), "page 2 repeats page 1"


def test_filters_refresh_the_results(page, js):
    sign_in(page, "admin")
    page.goto("/customers")
    page.click("#search details summary")
    if js:   # changing a filter searches at once
        _set_marker(page)
        with page.expect_response(lambda r: "value_class=A" in r.url) as info:
            page.select_option("#search select[name=value_class]", "A")
        assert _is_htmx(info.value.request) and info.value.status == 200
        _assert_no_full_load(page)
    else:    # without JavaScript the form's button submits it
        page.select_option("#search select[name=value_class]", "A")
        with page.expect_response(lambda r: "value_class=A" in r.url):
            page.click("#search button[type=submit]")
    classes = page.locator("#results tbody tr:not(#load-more) td.vc")
    expect(classes.first).to_have_text("A")
    assert set(classes.all_inner_texts()) == {"A"}
