"""bulk_log_activities and bulk_record_purchases: the rows, events and "last contacted" of
``log_activity`` and ``record_purchase``; a failing batch leaves nothing of itself."""
from __future__ import annotations

import datetime as dt

import pytest

from crm import bulk
from crm.activities import services as activities
from crm.activities.models import Activity
from crm.customers import services as customers
from crm.customers.models import Customer
from crm.purchases import services as purchases
from crm.purchases.models import Product, Purchase, PurchaseLine
from tests.bulk.conftest import counts, events

T = dt.datetime(2026, 5, 1, 9, 30)


@pytest.fixture
def people(ctx, users, settings):
    """Three customers made the ordinary way."""
    return [customers.create_customer({"name": name, "kind": "person"}, users["admin"], settings)
            for name in ("张伟", "李娜", "王芳")]


def last_contacted(customer) -> dt.datetime | None:
    return Customer.get_by_id(getattr(customer, "id", customer)).last_contacted_at


def activity_columns(activity_id: int) -> dict:
    data = dict(Activity.get_by_id(activity_id).__data__)
    for key in ("id", "created_at", "purchase"):
        data.pop(key)
    return data


def test_activities_same_rows_and_events_as_log_activity(ctx, users, people):
    sales = users["sales"]
    single = activities.log_activity(people[0], sales, "call", "  电话沟通  ", T, "reached",
                                     next_followup_on=dt.date(2026, 5, 8))
    [many] = bulk.bulk_log_activities([dict(
        customer=people[0], user=sales, kind="call", summary="  电话沟通  ", occurred_at=T,
        outcome="reached", next_followup_on=dt.date(2026, 5, 8))])
    assert activity_columns(many) == activity_columns(single.id)
    assert Activity.get_by_id(many).summary == "电话沟通"
    logged = events("activity.logged")
    assert logged[-1] == dict(activity_id=many, customer_id=people[0].id, kind="call",
                              user_id=sales.id, _name="activity.logged", _status="pending")
    assert {k: v for k, v in logged[-2].items() if k != "activity_id"} == \
        {k: v for k, v in logged[-1].items() if k != "activity_id"}


def test_last_contacted_moves_forward_only(ctx, users, people):
    a, b, c = people
    activities.log_activity(a, users["sales"], "call", "x", T)
    assert last_contacted(a) == T
    rows = [
        dict(customer=a.id, kind="call", summary="older", occurred_at=T - dt.timedelta(days=3)),
        dict(customer=a.id, kind="note", summary="a note is no contact",
             occurred_at=T + dt.timedelta(days=9)),
        dict(customer=b.id, kind="visit", summary="b1", occurred_at=T + dt.timedelta(days=2)),
        dict(customer=b.id, kind="wechat", summary="b2", occurred_at=T + dt.timedelta(days=5)),
        dict(customer=b.id, kind="call", summary="b3", occurred_at=T + dt.timedelta(days=1)),
        dict(customer=c.id, kind="note", summary="only a note", occurred_at=T),
    ]
    ids = bulk.bulk_log_activities(rows)
    assert len(ids) == 6 and Activity.select().count() == 7
    assert last_contacted(a) == T                          # back-dated call and a note: no move
    assert last_contacted(b) == T + dt.timedelta(days=5)   # the latest of the batch, not the last
    assert last_contacted(c) is None
    # across batches too: a later batch with an older activity never moves it back
    bulk.bulk_log_activities([dict(customer=b.id, kind="call", summary="later",
                                   occurred_at=T + dt.timedelta(days=8)),
                              dict(customer=b.id, kind="call", summary="back-dated",
                                   occurred_at=T + dt.timedelta(days=6))], batch_size=1)
    assert last_contacted(b) == T + dt.timedelta(days=8)
    assert len(events("activity.logged")) == 1 + 6 + 2


def test_failing_activity_batch_leaves_nothing(ctx, users, people):
    a = people[0]
    rows = [dict(customer=a.id, kind="call", summary=f"ok {i}", occurred_at=T) for i in range(3)]
    rows.append(dict(customer=999_999, kind="call", summary="no such customer",
                     occurred_at=T))
    rows.append(dict(customer=people[1].id, kind="call", summary="same batch as the bad one",
                     occurred_at=T + dt.timedelta(days=1)))
    with pytest.raises(bulk.BulkError) as info:
        bulk.bulk_log_activities(rows, batch_size=3)
    assert info.value.batch == 1 and len(info.value.created) == 3
    assert sorted(a.id for a in Activity.select()) == sorted(info.value.created)
    assert [e["activity_id"] for e in events("activity.logged")] == info.value.created
    assert last_contacted(people[1]) is None


@pytest.fixture
def catalogue(ctx):
    return [Product.create(sku="TEA-1", name="西湖龙井", price_fen=38800),
            Product.create(sku="CUP-1", name="紫砂壶", price_fen=59900),
            Product.create(sku="OLD-1", name="旧款", price_fen=100, active=False)]


def purchase_view(purchase_id: int) -> dict:
    purchase = Purchase.get_by_id(purchase_id)
    lines = sorted((l.product_id, l.quantity, l.unit_price_fen, l.amount_fen)
                   for l in PurchaseLine.select().where(PurchaseLine.purchase == purchase_id))
    [activity] = Activity.select().where(Activity.purchase == purchase_id)
    return dict(customer=purchase.customer_id, user=purchase.user_id, total=purchase.total_fen,
                status=purchase.status, note=purchase.note, at=purchase.purchased_at, lines=lines,
                activity=(activity.kind, activity.summary, activity.outcome,
                          activity.occurred_at, activity.user_id, activity.customer_id))


def test_purchases_same_effect_as_record_purchase(ctx, users, people, catalogue):
    tea, cup, _old = catalogue
    clerk = users["clerk"]
    lines = [(tea.id, 2), (cup.id, 1), (tea.id, 0)]       # a zero quantity is dropped
    single = purchases.record_purchase(people[0], clerk, lines, note=" 礼盒 ", purchased_at=T)
    ids = bulk.bulk_record_purchases([
        dict(customer=people[0].id, user=clerk.id, lines=lines, note=" 礼盒 ", purchased_at=T),
        dict(customer=people[1], user=clerk, lines=[(cup.id, 3)],
             purchased_at=T + dt.timedelta(hours=1)),
    ])
    first, second = (purchase_view(i) for i in ids)
    assert first == purchase_view(single.id)
    assert first["total"] == 2 * 38800 + 59900
    assert first["lines"] == sorted([(tea.id, 2, 38800, 77600), (cup.id, 1, 59900, 59900)])
    assert first["activity"][:3] == ("purchase", "西湖龙井 × 2; 紫砂壶 × 1", "done")
    assert second["total"] == 3 * 59900 and second["customer"] == people[1].id
    # "last contacted" moved to the purchase time, as log_activity does for a purchase
    assert last_contacted(people[1]) == T + dt.timedelta(hours=1)
    recorded = events("purchase.recorded")
    assert [{k: v for k, v in e.items() if k != "purchase_id"} for e in recorded[1:]] == [
        {k: v for k, v in recorded[0].items() if k != "purchase_id"},
        dict(customer_id=people[1].id, total_fen=179700, _name="purchase.recorded",
             _status="pending",
             lines=[{"product_id": cup.id, "quantity": 3, "amount_fen": 179700}])]
    assert [e["purchase_id"] for e in recorded[1:]] == ids
    assert len(events("activity.logged")) == 3


@pytest.mark.parametrize("bad_lines", [[], [("OLD", 1)], [(999_999, 1)]],
                         ids=["no lines", "not on sale", "unknown product"])
def test_failing_purchase_batch_leaves_nothing(ctx, users, people, catalogue, bad_lines):
    tea, _cup, old = catalogue
    bad_lines = [(old.id if pid == "OLD" else pid, qty) for pid, qty in bad_lines]
    rows = [dict(customer=people[0].id, lines=[(tea.id, 1)], purchased_at=T),
            dict(customer=people[1].id, lines=[(tea.id, 1)], purchased_at=T),
            dict(customer=people[2].id, lines=bad_lines, purchased_at=T)]
    before = counts()
    with pytest.raises(bulk.BulkError) as info:
        bulk.bulk_record_purchases(rows, batch_size=2)
    assert isinstance(info.value.cause, purchases.PurchaseError)
    assert info.value.batch == 1 and len(info.value.created) == 2
    after = counts()
    assert after["purchase"] - before["purchase"] == 2
    assert after["purchase_line"] - before["purchase_line"] == 2
    assert after["activity"] - before["activity"] == 2
    assert after["outbox_event"] - before["outbox_event"] == 4
    assert last_contacted(people[2]) is None


def test_failing_purchase_insert_rolls_back_lines_and_activities(ctx, users, people, catalogue):
    tea = catalogue[0]
    rows = [dict(customer=people[0].id, lines=[(tea.id, 1)], purchased_at=T),
            dict(customer=999_999, lines=[(tea.id, 1)], purchased_at=T)]
    before = counts()
    with pytest.raises(bulk.BulkError) as info:
        bulk.bulk_record_purchases(rows, batch_size=5)
    assert info.value.batch == 0 and info.value.created == []
    assert counts() == before
    assert last_contacted(people[0]) is None
