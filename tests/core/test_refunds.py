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
from crm.purchases.models import Product, Purchase, PurchaseLine, PurchaseRefund
from tests.conftest import csrf_token, htmx
from tests.core.test_purchases import catalogue, customer  # noqa: F401  (fixtures)


@pytest.fixture
def bought(seed, catalogue, customer):  # noqa: F811
    tea, cup = catalogue["tea"], catalogue["cup"]
    first = seed.purchase(customer.id, [(tea.id, 2), (cup.id, 1)])     # 44.98
    second = seed.purchase(customer.id, [(tea.id, 1)])                 # 19.99
    return first, second


def _form(client, purchase_id: int, reason: str = "商品有瑕疵", **returns):
    """The refund page's form as the browser would send it: the quantities it proposes
    (everything not returned yet) unless ``returns`` says otherwise (``{line id: quantity}``)."""
    page = client.get(f"/purchases/{purchase_id}/refund")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    form = dict(re.findall(r'name="(return-\d+)" value="(\d+)"', text))
    form.update({f"return-{k.split('_')[1]}": str(v) for k, v in returns.items()})
    return dict(form, csrf_token=csrf_token(page.data), reason=reason)


def _lines(seed, purchase_id: int) -> dict:
    return seed.run(lambda: {line.product_row.name: line for line in PurchaseLine.select(
        PurchaseLine, Product.name).join(Product, attr="product_row").where(
        PurchaseLine.purchase == purchase_id)})


def test_clerk_refunds_a_purchase(client, login, seed, customer, bought):  # noqa: F811
    first, second = bought
    login("clerk")
    detail = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert f'href="/purchases/{first.id}/refund"' in detail
    page = client.get(f"/purchases/{first.id}/refund").get_data(as_text=True)
    assert "Green tea" in page and "Tea cup" in page and "CN¥44.98" in page
    response = client.post(f"/purchases/{first.id}/refund", data=_form(client, first.id))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customers/{customer.id}#purchases")

    stored = seed.run(lambda: Purchase.get_by_id(first.id))
    assert (stored.status, stored.refunded_fen) == ("refunded", 4498)
    refund = seed.run(lambda: PurchaseRefund.get(PurchaseRefund.purchase == first.id))
    assert (refund.amount_fen, refund.reason, refund.user_id) == (
        4498, "商品有瑕疵", seed.user("clerk").id)
    assert sorted((r["quantity"], r["amount_fen"]) for r in json.loads(refund.lines)) == \
        [(1, 500), (2, 3998)]
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
    assert "Green tea × 2" in activity.summary and "Tea cup × 1" in activity.summary
    assert "Refunded" in detail
    audit = seed.run(lambda: [(a.action, a.field, a.old, a.new) for a in AuditLog.select().where(
        (AuditLog.entity == "customer") & (AuditLog.entity_id == customer.id)
        & (AuditLog.action == "purchase.refund"))])
    assert ("purchase.refund", "status", "completed", "refunded") in audit
    assert ("purchase.refund", "reason", "", "商品有瑕疵") in audit
    event = seed.run(lambda: OutboxEvent.get(OutboxEvent.name == "purchase.refunded"))
    payload = json.loads(event.payload)
    assert {k: payload[k] for k in ("purchase_id", "customer_id", "amount_fen", "refund_id",
                                    "user_id")} == {
        "purchase_id": first.id, "customer_id": customer.id, "amount_fen": 4498,
        "refund_id": refund.id, "user_id": seed.user("clerk").id}
    assert sorted(item["quantity"] for item in payload["lines"]) == [1, 2]


def test_some_items_then_the_rest(client, login, seed, customer, bought):  # noqa: F811
    first, _second = bought
    lines = _lines(seed, first.id)
    tea, cup = lines["Green tea"], lines["Tea cup"]
    login("manager")
    form = _form(client, first.id, "少了一盒", **{f"line_{tea.id}": 1, f"line_{cup.id}": 0})
    assert client.post(f"/purchases/{first.id}/refund", data=form).status_code == 303
    stored = seed.run(lambda: Purchase.get_by_id(first.id))
    assert (stored.status, stored.refunded_fen) == ("completed", 1999)
    assert _lines(seed, first.id)["Green tea"].returned_quantity == 1
    detail = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    # the net amounts: 44.98 - 19.99 + 19.99
    assert re.search(r"2 purchases · total <strong>CN¥44.98</strong>", detail)
    assert "(refunded CN¥19.99)" in detail and f'href="/purchases/{first.id}/refund"' in detail
    # the page proposes what is left, and lists the refund made
    page = client.get(f"/purchases/{first.id}/refund").get_data(as_text=True)
    assert f'name="return-{tea.id}" value="1" min="0" max="1"' in page
    assert f'name="return-{cup.id}" value="1" min="0" max="1"' in page
    assert "少了一盒" in page and "Green tea × 1" in page
    assert client.post(f"/purchases/{first.id}/refund",
                       data=_form(client, first.id, "全部退")).status_code == 303
    stored = seed.run(lambda: Purchase.get_by_id(first.id))
    assert (stored.status, stored.refunded_fen) == ("refunded", 4498)
    amounts = seed.run(lambda: [e.payload for e in OutboxEvent.select().where(
        OutboxEvent.name == "purchase.refunded").order_by(OutboxEvent.id)])
    assert [json.loads(p)["amount_fen"] for p in amounts] == [1999, 2499]


def test_quantities_are_checked(client, login, seed, customer, bought):  # noqa: F811
    first, _second = bought
    lines = _lines(seed, first.id)
    tea, cup = lines["Green tea"], lines["Tea cup"]
    login("clerk")
    for values, message in (({tea.id: 3, cup.id: 0}, "Green tea: return a whole number"),
                            ({tea.id: -1, cup.id: 0}, "Green tea: return a whole number"),
                            ({tea.id: "x", cup.id: 1}, "Green tea: return a whole number"),
                            ({tea.id: "²", cup.id: 1}, "Green tea: return a whole number"),
                            ({tea.id: 0, cup.id: 0}, "Choose at least one item")):
        form = _form(client, first.id, **{f"line_{k}": v for k, v in values.items()})
        response = client.post(f"/purchases/{first.id}/refund", data=form)
        assert response.status_code == 422, values
        assert message in response.get_data(as_text=True), values
    stored = seed.run(lambda: Purchase.get_by_id(first.id))
    assert (stored.status, stored.refunded_fen) == ("completed", 0)
    assert seed.run(lambda: PurchaseRefund.select().count()) == 0


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


def test_two_refunds_of_the_same_items_at_once(client, login, seed, customer, bought):  # noqa: F811,E501
    """Both clerks loaded the page proposing the two teas; the first refund takes them, the
    second (its form still says two) is refused and writes nothing."""
    first, _second = bought
    tea = _lines(seed, first.id)["Green tea"]
    login("clerk")
    stale = _form(client, first.id, "第二位", **{f"line_{tea.id}": 2})
    seed.run(services.refund_purchase, seed.run(lambda: Purchase.get_by_id(first.id)),
             seed.user("manager"), "第一位", {tea.id: 2})
    response = client.post(f"/purchases/{first.id}/refund", data=stale)
    assert response.status_code == 422                     # 2 > what is left (0)
    assert "Green tea: return a whole number from 0 to 0" in response.get_data(as_text=True)
    with pytest.raises(services.AlreadyRefunded):        # the service itself, racing
        seed.run(services.refund_purchase, seed.run(lambda: Purchase.get_by_id(first.id)),
                 seed.user("admin"), "again", {tea.id: 1})
    assert seed.run(lambda: Purchase.get_by_id(first.id)).refunded_fen == 3998
    assert seed.run(lambda: PurchaseRefund.select().count()) == 1


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
