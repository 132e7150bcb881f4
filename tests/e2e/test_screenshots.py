"""Screenshots of the main pages at phone and desktop widths, for people to look at:
test-artifacts/screenshots/<page>-<phone|desktop>.png (gitignored)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, TIMEOUT_MS, sign_in, watch

VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_screenshots_of_the_main_pages(browser, live_server, demo, instance, viewport):
    phone = viewport == "phone"
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[viewport],
                                  is_mobile=phone, has_touch=phone, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = watch(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name):
        # Lazily loaded parts (dashboard cards, plugin panels) first.
        expect(page.locator("[hx-trigger='load']")).to_have_count(0)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{viewport}.png"), full_page=True)

    try:
        page.goto("/login")
        shot("login")
        sign_in(page, "admin")
        page.goto("/")
        expect(page.locator("main h1")).to_be_visible()
        shot("dashboard")
        page.goto("/customers")
        expect(page.locator("#results tbody tr").first).to_be_visible()
        shot("customers")
        page.goto(f"/customers/{demo.customer_id}")
        expect(page.locator("#timeline-items")).to_be_visible()
        shot("customer")
        purchase_id = instance.query("SELECT MAX(id) FROM purchase WHERE status = 'completed'")[0][0]
        page.goto(f"/purchases/{purchase_id}/refund")
        expect(page.locator("#refund-form")).to_be_visible()
        shot("refund")
        page.goto("/customers/new")
        expect(page.locator("#customer-form")).to_be_visible()
        shot("customer-new")
        page.goto("/followups")
        expect(page.locator("main h1")).to_be_visible()
        shot("followups")
        page.goto("/community")
        expect(page.locator("main h1")).to_be_visible()
        group = page.locator("main a[href^='/community/groups/']:not([href$='/new'])").first
        page.goto(group.get_attribute("href"))
        expect(page.locator("main h1")).to_be_visible()
        shot("community-group")
        page.goto("/insights")
        expect(page.locator("main h1")).to_be_visible()
        shot("insights")
        problems.check()
    finally:
        context.close()
    for name in ("login", "dashboard", "customers", "customer", "refund", "customer-new", "followups",
                 "community-group", "insights"):
        assert (SCREENSHOTS / f"{name}-{viewport}.png").stat().st_size > 1000
