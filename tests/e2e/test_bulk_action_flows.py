"""Acting on many customers from the list, in a real browser, with JavaScript on and off.

Two customers are ticked on the list and given a new tag through "Act on selected…"; then the
list filtered by that tag, nothing ticked, gets a follow-up task for each customer matching
the filter, after the confirmation page that says how many.  Every result is checked in the
SQLite database too.  The js and nojs runs share one server: tags and titles are unique.
"""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def _on_list(url: str) -> bool:
    return urlsplit(url).path == "/customers"


def test_tag_ticked_customers_then_tasks_for_all_matching(page, js, instance):
    tag = f"批量{'js' if js else 'nojs'}{secrets.token_hex(3)}"
    title = f"回访 {tag}"
    sign_in(page, "admin")
    page.goto("/customers")
    boxes = page.locator("#rows input[type=checkbox][name=ids]")
    expect(boxes.first).to_be_visible()
    ids = [int(boxes.nth(i).get_attribute("value")) for i in range(2)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.locator("#results button[formaction$='/customers/bulk']").click()
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator("#bulk-count")).to_contain_text("2")
    page.fill("#bulk-tags", tag)
    page.locator("form:has(input[name=action][value=tag_add]) button[type=submit]").click()
    page.wait_for_url(_on_list)
    expect(page.locator(".flash.success")).to_contain_text("2")
    tagged = {row[0] for row in instance.query(
        "SELECT ct.customer_id FROM customer_tag ct JOIN tag t ON t.id = ct.tag_id "
        "WHERE t.name = ?", (tag,))}
    assert tagged == set(ids), (tagged, ids)

    # The list filtered by the new tag, nothing ticked: every customer matching the filter.
    (tag_id,) = instance.query("SELECT id FROM tag WHERE name = ?", (tag,))[0]
    page.goto(f"/customers?tag={tag_id}")
    expect(page.locator("#rows tr")).to_have_count(2)
    page.locator("#results button[formaction$='/customers/bulk']").click()
    expect(page.locator("#bulk-count")).to_contain_text("2")
    page.fill("#bulk-title", title)
    page.locator("form:has(input[name=action][value=task]) button[type=submit]").click()
    confirm = page.locator("form:has(input[name=confirm]) button[type=submit]")
    expect(confirm).to_contain_text("2")           # the confirmation says how many
    assert not instance.query("SELECT id FROM task WHERE title = ?", (title,))
    confirm.click()
    page.wait_for_url(_on_list)
    expect(page.locator(".flash.success")).to_be_visible()
    tasks = instance.query("SELECT customer_id FROM task WHERE title = ?", (title,))
    assert sorted(row[0] for row in tasks) == sorted(ids)
