"""Refunding a purchase in a real browser, with JavaScript on and off: the clerk opens the
refund page from the customer's purchases, the browser refuses to send it without a reason, the
refund is made with one, and the customer page shows the purchase as refunded.  Each run
refunds a different demo purchase (the js and nojs runs share one server); the result is
checked in the SQLite database too."""
from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def test_refund_a_purchase_from_the_customer_page(page, js, instance):
    reason = f"退货 {'js' if js else 'nojs'}"
    # a completed demo purchase of a customer with more than one purchase
    purchase_id, customer_id = instance.query(
        "SELECT p.id, p.customer_id FROM purchase p WHERE p.status = 'completed' AND "
        "(SELECT COUNT(*) FROM purchase q WHERE q.customer_id = p.customer_id) > 1 "
        "ORDER BY p.id LIMIT 1")[0]
    sign_in(page, "admin")
    page.goto(f"/customers/{customer_id}")
    link = page.locator(f"#purchases a[href='/purchases/{purchase_id}/refund']")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(lambda url: urlsplit(url).path == f"/purchases/{purchase_id}/refund")
    expect(page.locator("main h1")).to_be_visible()
    button = page.locator("#refund-form button[type=submit]")
    button.click()       # no reason: the browser keeps the form (required)
    assert page.evaluate("document.querySelector('#reason').validity.valueMissing")
    assert instance.query("SELECT status FROM purchase WHERE id = ?",
                          (purchase_id,))[0][0] == "completed"
    page.fill("#reason", reason)
    button.click()
    page.wait_for_url(lambda url: urlsplit(url).path == f"/customers/{customer_id}")
    expect(page.locator(".flash.success")).to_be_visible()
    expect(page.locator("#purchases tr.muted").first).to_be_visible()   # the refunded row
    expect(page.locator(f"#purchases a[href='/purchases/{purchase_id}/refund']")).to_have_count(0)
    status, refunded, total = instance.query(
        "SELECT status, refunded_fen, total_fen FROM purchase WHERE id = ?", (purchase_id,))[0]
    assert (status, refunded) == ("refunded", total)
    assert instance.query("SELECT reason FROM purchase_refund WHERE purchase_id = ?",
                          (purchase_id,)) == [(reason,)]
    assert instance.query("SELECT COUNT(*) FROM outbox_event WHERE name = 'purchase.refunded' "
                          "AND payload LIKE ?", (f'%"purchase_id": {purchase_id},%',))[0][0] == 1
