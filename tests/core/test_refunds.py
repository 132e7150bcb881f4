"""Refunding a purchase: the whole purchase, once, with a reason; totals, timeline, history and
the ``purchase.refunded`` event follow; who may, and a second refund refused."""
from __future__ import annotations

import json
import re

import pytest

from crm.activities.models import Activity
from crm.audit.models import AuditLog
from crm.events.models import OutboxEvent
from crm.purchases import services
from crm.purchases.models import Purchase
from tests.conftest import csrf_token, htmx
from tests.core.test_purchases import catalogue, customer  # noqa: F401  (fixtures)


@pytest.fixture
def bought(seed, catalogue, customer):  # noqa: F811
    tea, cup = catalogue["tea"], catalogue["cup"]
    first = seed.purchase(customer.id, [(tea.id, 2), (cup.id, 1)])     # 44.98
    second = seed.purchase(customer.id, [(tea.id, 1)])                 # 19.99
    return first, second


def _form(client, purchase_id: int, reason: str = "商品有瑕疵"):
    page = client.get(f"/purchases/{purchase_id}/refund")
    assert page.status_code == 200
    return {"csrf_token": csrf_token(page.data), "reason": reason}


def test_clerk_refunds_a_purchase(client, login, seed, customer, bought):  # noqa: F811
    first, second = bought
    login("clerk")
    detail = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert f'href="/purchases/{first.id}/refund"' in detail
    page = client.get(f"/purchases/{first.id}/refund").get_data(as_text=True)
    assert "Green tea × 2" in page and "Tea cup × 1" in page and "CN¥44.98" in page
    response = client.post(f"/purchases/{first.id}/refund", data=_form(client, first.id))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customers/{customer.id}#purchases")

    stored = seed.run(lambda: Purchase.get_by_id(first.id))
    assert stored.status == "refunded" and stored.refund_reason == "商品有瑕疵"
    assert stored.refunded_by_id == seed.user("clerk").id and stored.refunded_at is not None
    assert seed.run(lambda: Purchase.get_by_id(second.id)).status == "completed"
    # the totals count the other purchase only; the refunded one is marked and has no link
    detail = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert re.search(r"1 purchase · total <strong>CN¥19.99</strong>", detail)
    assert "(refunded)" in detail and f'href="/purchases/{first.id}/refund"' not in detail
    # the timeline, the history and the event
    activity = seed.run(lambda: Activity.get((Activity.customer == customer.id)
                                             & (Activity.outcome == "refunded")))
    assert (activity.kind, activity.purchase_id) == ("purchase", first.id)
    assert "CN¥44.98" in activity.summary and "商品有瑕疵" in activity.summary
    assert "Refunded" in detail
    audit = seed.run(lambda: [(a.action, a.field, a.old, a.new) for a in AuditLog.select().where(
        (AuditLog.entity == "customer") & (AuditLog.entity_id == customer.id)
        & (AuditLog.action == "purchase.refund"))])
    assert ("purchase.refund", "status", "completed", "refunded") in audit
    assert ("purchase.refund", "reason", "", "商品有瑕疵") in audit
    event = seed.run(lambda: OutboxEvent.get(OutboxEvent.name == "purchase.refunded"))
    payload = json.loads(event.payload)
    assert payload == {"purchase_id": first.id, "customer_id": customer.id, "amount_fen": 4498,
                       "refund_id": first.id, "user_id": seed.user("clerk").id}


def test_a_purchase_is_refunded_once(client, login, seed, customer, bought):  # noqa: F811
    first, _second = bought
    login("manager")
    form = _form(client, first.id)
    assert client.post(f"/purchases/{first.id}/refund", data=form).status_code == 303
    again = client.post(f"/purchases/{first.id}/refund", data=form)
    assert again.status_code == 409
    assert "already been refunded" in again.get_data(as_text=True)
    page = client.get(f"/purchases/{first.id}/refund")
    assert page.status_code == 409 and 'name="reason"' not in page.get_data(as_text=True)
    assert seed.run(lambda: OutboxEvent.select().where(
        OutboxEvent.name == "purchase.refunded").count()) == 1
    # the service itself: a stale object (both clerks loaded it "completed") is refused too
    stale = seed.run(lambda: Purchase.get_by_id(first.id))
    stale.status = "completed"
    with pytest.raises(services.AlreadyRefunded):
        seed.run(services.refund_purchase, stale, seed.user("admin"), "again")


def test_a_reason_is_required(client, login, seed, customer, bought):  # noqa: F811
    first, _second = bought
    login("clerk")
    response = client.post(f"/purchases/{first.id}/refund", data=_form(client, first.id, "  "))
    assert response.status_code == 422
    assert "Say why the purchase is refunded." in response.get_data(as_text=True)
    long = client.post(f"/purchases/{first.id}/refund", data=_form(client, first.id, "x" * 301))
    assert long.status_code == 422
    assert seed.run(lambda: Purchase.get_by_id(first.id)).status == "completed"


def test_htmx_swaps_the_form_and_follows_the_redirect(client, login, seed, customer, bought):  # noqa: F811,E501
    first, _second = bought
    login("clerk")
    bad = client.post(f"/purchases/{first.id}/refund", data=_form(client, first.id, ""),
                      headers=htmx("refund"))
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and body.lstrip().startswith("<div id=\"refund\">")
    assert "<html" not in body
    good = client.post(f"/purchases/{first.id}/refund", data=_form(client, first.id),
                       headers=htmx("refund"))
    assert good.status_code in (200, 204, 303)
    assert f"/customers/{customer.id}" in (good.headers.get("HX-Location", "")
                                           + good.headers.get("HX-Redirect", "")
                                           + good.headers.get("Location", ""))


@pytest.mark.parametrize("role", ["sales", "service"])
def test_roles_without_the_permission(client, login, customer, bought, role):  # noqa: F811
    first, _second = bought
    login(role)
    detail = client.get(f"/customers/{customer.id}")
    assert detail.status_code == 200        # they see the customer and its purchases...
    assert f"/purchases/{first.id}/refund" not in detail.get_data(as_text=True)
    assert client.get(f"/purchases/{first.id}/refund").status_code == 403   # ...not refunds
    form = {"reason": "x", "csrf_token": csrf_token(detail.data)}
    assert client.post(f"/purchases/{first.id}/refund", data=form).status_code == 403


def test_out_of_scope_and_unknown_purchases_are_404(client, login, seed, catalogue):  # noqa: F811
    other = seed.customer("李娜", owner="sales2")
    purchase = seed.purchase(other.id, [(catalogue["tea"].id, 1)])
    login("manager")          # the manager of another department
    visible = client.get(f"/customers/{other.id}").status_code == 200
    assert client.get(f"/purchases/{purchase.id}/refund").status_code == (200 if visible else 404)
    assert client.get("/purchases/999999/refund").status_code == 404
