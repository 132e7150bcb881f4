"""The recommendations plugin in a real browser, with JavaScript on (htmx) and off.

- After the refresh (``crm recommendations-refresh``, the nightly job's body) a customer with a
  purchase history sees, in the lazily loaded panel, the products the model scored for them,
  each with the product its reason names.
- A company founded five years ago this week gets the "send a greeting" next best action; an
  administrator dismisses it (htmx swaps the panel; without JavaScript the plain form posts and
  comes back), it is gone and stays gone, and the dismissal is stored.
Every result is checked in the SQLite database too.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

CUSTOMER_URL = re.compile(r".*/customers/\d+$")
PANEL = "recommendations_next"


def _open_panel(page, js: bool, customer_id: int):
    """The customer page's recommendations panel, as a person reaches it."""
    page.goto(f"/customers/{customer_id}")
    panel = page.locator(f"#panel-{PANEL}")
    expect(panel).to_have_count(1)
    if js:   # fetched by its own htmx request, which replaces the placeholder
        expect(page.locator(f"#panel-{PANEL}[hx-get]")).to_have_count(0)
        return page.locator(f"#reco-{customer_id}")
    page.goto(panel.locator("a").first.get_attribute("href"))
    return page.locator(f"#reco-{customer_id}")


def test_the_panel_shows_the_precomputed_products_with_their_reason(page, js, instance):
    instance.crm("recommendations-refresh")
    rows = instance.query(
        "SELECT s.customer_id, p.name, r.name FROM recommendations_score s "
        "JOIN product p ON p.id = s.product_id JOIN product r ON r.id = s.reason_product_id "
        "JOIN customer c ON c.id = s.customer_id "
        "WHERE c.deleted_at IS NULL AND s.reason_product_id <> s.product_id "
        "ORDER BY s.customer_id, s.score DESC LIMIT 1")
    assert rows, "the demo data gave the model nothing to recommend"
    customer_id, product, reason = rows[0]
    sign_in(page, "admin")
    reco = _open_panel(page, js, customer_id)
    first = reco.locator("ol.lines > li").first
    expect(first).to_contain_text(product)
    expect(first).to_contain_text(reason)


def _anniversary_this_week(years: int = 5) -> dt.date:
    soon = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + dt.timedelta(days=3)
    try:
        return soon.replace(year=soon.year - years)
    except ValueError:        # 29 February
        return (soon + dt.timedelta(days=1)).replace(year=soon.year - years)


def test_a_next_best_action_is_explained_and_dismissed(page, js, instance):
    sign_in(page, "admin")
    page.goto("/customers/new")
    form = page.locator("#customer-form")
    name = f"周年测试{secrets.token_hex(3)}科技有限公司"
    form.locator("#kind").select_option("company")
    form.locator("#name").fill(name)
    form.locator("#founded_on").fill(_anniversary_this_week().isoformat())
    form.locator("button[type=submit]").click()
    page.wait_for_url(CUSTOMER_URL)
    (customer_id,) = instance.query("SELECT id FROM customer WHERE name = ?", (name,))[0]

    reco = _open_panel(page, js, customer_id)
    actions = reco.locator("ul.lines > li")
    expect(actions).to_have_count(1)
    expect(actions.first.locator("strong")).to_be_visible()
    expect(actions.first).to_contain_text("5")                 # the years, in its explanation
    if js:
        page.evaluate("window.__marker = 1")
    path = f"/recommendations/customers/{customer_id}/dismiss"
    with page.expect_response(lambda r: r.request.method == "POST"
                              and urlsplit(r.url).path == path) as info:
        actions.first.locator("button[type=submit]").click()
    if js:
        assert info.value.status == 200
        assert info.value.request.headers.get("hx-request") == "true"
        assert page.evaluate("window.__marker") == 1, "the page was reloaded: htmx did not swap"
    else:
        assert info.value.status == 303
    expect(page.locator(f"#reco-{customer_id} ul.lines > li")).to_have_count(0)
    stored = instance.query("SELECT action FROM recommendations_dismissed WHERE customer_id = ?",
                            (customer_id,))
    assert len(stored) == 1 and stored[0][0].startswith("anniversary"), stored
    # It stays dismissed on a fresh load.
    reco = _open_panel(page, js, customer_id)
    expect(reco).to_be_visible()
    expect(reco.locator("ul.lines > li")).to_have_count(0)
