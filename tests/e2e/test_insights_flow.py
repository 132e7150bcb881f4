"""The KPI page in a real browser, with JavaScript on and off.  With JavaScript, the menu link
brings the page at once and each KPI card (and the lead funnel) fills itself in by its own
request; switching the period does the same inside the page.  Without JavaScript, the page
arrives with every figure in it, and the period form reloads it."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def _all_filled(page):
    expect(page.locator("#kpis [aria-busy='true']")).to_have_count(0)
    cards = page.locator("#kpis section.card")
    assert cards.count() >= 8
    expect(page.locator("#kpis section.card p.big")).to_have_count(cards.count())
    expect(page.locator("#lead-funnel")).to_be_visible()


def test_kpis_fill_in_and_follow_the_period(page, js):
    """The js and nojs runs share the server, whose workers keep computed figures a few
    minutes: the js run switches to a period nothing else in the session asks for, so its
    cards are computed after the page, each by its own request."""
    period = "quarter" if js else "last_month"
    sign_in(page, "admin")
    cards = []
    page.on("request", lambda r: cards.append(r.url) if "/insights/kpi?" in r.url else None)
    page.click("header.top nav a[href='/insights']")
    page.wait_for_url(re.compile(r"/insights$"))
    _all_filled(page)
    if not js:
        assert cards == []
    if js:
        page.evaluate("window.__marker = 1")
    before = len(cards)
    page.select_option("#period", period)
    if not js:
        page.click("form.filters button[type=submit]")
    page.wait_for_url(lambda url: f"period={period}" in urlsplit(url).query)
    expect(page.locator("#period")).to_have_value(period)
    _all_filled(page)
    if js:      # swapped in place, and every card of the new period came by itself
        assert page.evaluate("window.__marker") == 1
        assert len([url for url in cards[before:] if f"period={period}" in url]) >= 8
    else:
        assert cards == []
