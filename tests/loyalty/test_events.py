"""Points through the core's outbox: a purchase recorded in the core earns points exactly
once, even when loyalty's handler fails the first time and however often the event comes; a
``purchase.refunded`` event takes them back pro rata; other plugins add rule types and awards
through the hooks loyalty offers; a broken plugin beside loyalty leaves the counter whole."""
from __future__ import annotations

import datetime as dt
import json
import re

from crm import hookimpl
from crm.contrib import Event
from crm.db import database, utcnow
from crm.events.models import EventDelivery, OutboxEvent
from crm.events.services import emit
from crm.purchases.models import Product, Purchase
from plugins.loyalty import hooks, services
from plugins.loyalty.hookspecs import Award, RuleType
from plugins.loyalty.models import LoyaltyEntry, LoyaltyMember
from tests.conftest import csrf_token
from tests.plugins import broken_plugin
from tests.plugins.helpers import dispatch


class SharePlugin:
    """Another plugin: points for telling friends on WeChat (an activity of kind wechat)."""
    PLUGIN_NAME = "testshare"

    @hookimpl(optionalhook=True)
    def loyalty_rule_types(self):
        return [RuleType("testshare_wechat", "Shared on WeChat", 15)]

    @hookimpl(optionalhook=True)
    def loyalty_awards_for_event(self, event):
        if event.name == "activity.logged" and event.payload.get("kind") == "wechat":
            return [Award(event.payload["customer_id"], "testshare_wechat",
                          str(event.payload["activity_id"]))]
        return []


EXTRA_PLUGINS = [SharePlugin(), broken_plugin]


def later(minutes=30):
    return utcnow() + dt.timedelta(minutes=minutes)


def points_of(seed, member_id):
    m = seed.run(lambda: LoyaltyMember.get_by_id(member_id))
    return m.balance + m.pending


def test_a_core_purchase_earns_once_even_when_the_handler_fails_first(shop, seed, client_for,
                                                                      app, monkeypatch):
    member = shop.member("事件测试", owner="sales")
    product = seed.run(lambda: Product.create(sku="EV-1", name="茶具", price_fen=35_000))
    real = services.earn_for_purchase
    calls = []

    def flaky(purchase_id, **kwargs):
        calls.append(purchase_id)
        if len(calls) == 1:
            raise RuntimeError("the database hiccuped")
        return real(purchase_id, **kwargs)
    monkeypatch.setattr(services, "earn_for_purchase", flaky)

    client = client_for("sales")
    response = client.post(f"/customers/{member.customer_id}/purchases",
                           data={"lines-0-product": str(product.id), "lines-0-quantity": "1",
                                 "note": ""})
    assert response.status_code == 303                       # the purchase stands
    assert seed.run(lambda: Purchase.select()
                    .where(Purchase.customer == member.customer_id).count()) == 1
    assert calls and points_of(seed, member.id) == 0          # the first delivery failed
    host = app.extensions["crm.plugins"]
    assert any(p == "loyalty" and "hiccuped" in e for p, _h, e in host.failures)
    event = seed.run(lambda: OutboxEvent.get(OutboxEvent.name == "purchase.recorded",
                                             OutboxEvent.payload.contains(
                                                 f'"customer_id": {member.customer_id}')))
    assert event.status == "pending" and event.attempts == 1

    dispatch(app, now=later())                                # the retry
    assert points_of(seed, member.id) == 350
    dispatch(app, now=later(120))                             # again: loyalty is done
    delivered = seed.run(lambda: EventDelivery.select().where(
        (EventDelivery.event == event.id) & (EventDelivery.plugin == "loyalty")).count())
    assert delivered == 1
    # delivered once more anyway (at least once: a crash after the handler's commit)
    seed.run(lambda: hooks.crm_handle_event(Event(event.uid, event.name,
                                                  json.loads(event.payload))))
    assert points_of(seed, member.id) == 350
    earned = seed.run(lambda: list(LoyaltyEntry.select().where(
        (LoyaltyEntry.member == member.id) & (LoyaltyEntry.kind == "purchase"))))
    assert len(earned) == 1 and earned[0].event_uid == event.uid
    assert shop.reconcile() == []


def test_a_counter_purchase_is_credited_at_once_and_the_event_changes_nothing(shop, seed,
                                                                             client_for, app):
    member = shop.member("柜台", owner="sales")
    product = seed.run(lambda: Product.create(sku="EV-2", name="茶叶", price_fen=10_000))
    client = client_for("clerk")
    base = f"/loyalty/counter/{member.customer_id}"
    key = services.new_key()
    done = client.post(f"{base}/purchase", data={"lines-0-product": str(product.id),
                                                 "lines-0-quantity": "1", "key": key})
    assert done.status_code == 303
    dispatch(app, now=later())
    assert points_of(seed, member.id) == 100
    assert "Points earned: 100" in client.get(done.headers["Location"]).get_data(as_text=True)


def test_a_refund_event_takes_points_back_once(shop, seed, app):
    shop.program(pending_days=0)
    member = shop.member("退货", owner="sales")
    purchase = shop.purchase(member, 80_000, when=utcnow() - dt.timedelta(hours=1))

    def refund():
        with database.atomic():
            emit("purchase.refunded", purchase_id=purchase.id, customer_id=member.customer_id,
                 amount_fen=20_000, refund_id="R-1")
    seed.run(refund)
    dispatch(app, now=later())
    assert points_of(seed, member.id) == 800 - 200
    event = seed.run(lambda: OutboxEvent.get(OutboxEvent.name == "purchase.refunded"))
    seed.run(lambda: hooks.crm_handle_event(Event(event.uid, event.name,
                                                  json.loads(event.payload))))
    assert points_of(seed, member.id) == 600
    assert shop.reconcile() == []


def test_the_cores_refund_takes_every_point_back(shop, seed, client_for, app):
    """The core's refund (the button on the customer page) emits ``purchase.refunded`` with the
    purchase's total: all its points go, and a second delivery changes nothing."""
    shop.program(pending_days=0)
    member = shop.member("整单退货", owner="sales")
    purchase = shop.purchase(member, 50_000, when=utcnow() - dt.timedelta(hours=1))
    dispatch(app, now=later())
    assert points_of(seed, member.id) == 500
    clerk = client_for("clerk")
    # at the counter, the member's screen and the points-only Return step lead to the refund
    screen = clerk.get(f"/loyalty/counter/{member.customer_id}").get_data(as_text=True)
    assert f'href="/customers/{member.customer_id}/purchases"' in screen
    listing = clerk.get(f"/customers/{member.customer_id}/purchases").get_data(as_text=True)
    assert f'href="/purchases/{purchase.id}/refund"' in listing
    page = clerk.get(f"/purchases/{purchase.id}/refund")
    assert page.status_code == 200
    proposed = dict(re.findall(r'name="(return-\d+)" value="(\d+)"', page.get_data(as_text=True)))
    assert proposed                     # everything not returned yet, as the page proposes
    done = clerk.post(f"/purchases/{purchase.id}/refund",
                      data=dict(proposed, csrf_token=csrf_token(page.data), reason="整单退货"))
    assert done.status_code == 303
    dispatch(app, now=later())
    assert points_of(seed, member.id) == 0
    event = seed.run(lambda: OutboxEvent.get(OutboxEvent.name == "purchase.refunded"))
    seed.run(lambda: hooks.crm_handle_event(Event(event.uid, event.name,
                                                  json.loads(event.payload))))
    assert points_of(seed, member.id) == 0
    assert shop.reconcile() == []


def test_other_plugins_add_rule_types_and_awards(shop, seed, client_for, app):
    member = shop.member("分享", owner="sales")
    seed.activity(member.customer_id, "sales", kind="wechat", summary="shared")
    dispatch(app, now=later())
    assert points_of(seed, member.id) == 0                    # the rule is not set up yet
    admin = client_for("admin")
    page = admin.get("/loyalty/admin/rules").get_data(as_text=True)
    assert "Shared on WeChat" in page and 'value="15"' in page
    form = {"purchase-rate": "1", "purchase-active": "y", "checkin-points": "5",
            "checkin-active": "y", "review-points": "20", "review-active": "y",
            "birthday-points": "100", "birthday-active": "y", "testshare_wechat-points": "15",
            "testshare_wechat-active": "y"}
    assert admin.post("/loyalty/admin/rules", data=form).status_code == 303
    activity = seed.activity(member.customer_id, "sales", kind="wechat", summary="again")
    dispatch(app, now=later())
    assert points_of(seed, member.id) == 15
    seed.run(lambda: hooks.crm_handle_event(Event(
        "00000000-0000-0000-0000-000000000001", "activity.logged",
        {"activity_id": activity.id, "customer_id": member.customer_id, "kind": "wechat"})))
    assert points_of(seed, member.id) == 15                    # once per (kind, ref)
    assert "Shared on WeChat" in client_for("clerk").get(
        f"/loyalty/counter/{member.customer_id}").get_data(as_text=True)


def test_a_broken_plugin_leaves_the_counter_whole(shop, client_for, app):
    member = shop.member("稳定", owner="sales")
    client = client_for("clerk")
    for url in ("/loyalty/counter", f"/loyalty/counter/{member.customer_id}",
                f"/customers/{member.customer_id}/panels/loyalty_member"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "could not be loaded" not in response.get_data(as_text=True)
    assert "/loyalty/counter" in client.get("/").get_data(as_text=True)   # the nav item
    assert any(p == "broken" for p, _h, _e in app.extensions["crm.plugins"].failures)
