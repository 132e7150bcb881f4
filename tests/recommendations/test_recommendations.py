"""Recommendations: the co-occurrence math on a hand-made shop, the segment fallback, the
reasons, the next best actions and their dismissal, the panel (full page, htmx, scope), the
dashboard card and the acceptance rate, the command and the job."""
from __future__ import annotations

import datetime as dt
import math

import pytest

from plugins.recommendations import hooks, services
from plugins.recommendations.models import Dismissed, Score, Shown, Similarity
from tests.conftest import htmx
from tests.core.conftest import QueryCounter

from .conftest import AS_OF

MATH = services.Settings(half_life_days=30, exclude_days=5, min_support=1)
PANEL_URL = "/customers/{}/panels/" + hooks.PANEL
CARD_URL = "/dashboard/cards/" + hooks.CARD


@pytest.fixture
def world(seed, shop):
    """Five buyers and the customer F whose scores are worked out by hand below.

    A: tea + cup (2 days ago)   B: tea, cup, gift   D: tea, gift   E: cup   H: tea, cup
    F: tea 30 days ago, gift 60 days ago.  E buys a snack *after* AS_OF: never counted."""
    people = {k: seed.customer(f"Customer {k}", owner="sales") for k in "ABDEFH"}
    tea, cup, gift, snack = shop.tea, shop.cup, shop.gift, shop.snack
    shop.buy(people["A"], tea, cup, days=2)
    shop.buy(people["B"], tea, days=100)
    shop.buy(people["B"], cup, gift, days=80)
    shop.buy(people["D"], tea, gift, days=50)
    shop.buy(people["E"], cup, days=40)
    shop.buy(people["E"], snack, tea, days=-3)           # after the cut-off
    shop.buy(people["H"], tea, days=20)
    shop.buy(people["H"], cup, days=10)
    shop.buy(people["F"], tea, days=30)
    shop.buy(people["F"], gift, days=60)
    return people


def scores_of(seed, customer):
    return seed.run(lambda: [(r.product_id, r.score, r.reason_product_id) for r in
                             Score.select().where(Score.customer == customer.id)
                             .order_by(Score.score.desc())])


def test_co_occurrence_and_recency_math(seed, shop, world):
    tea, cup, gift = shop.tea.id, shop.cup.id, shop.gift.id
    result = seed.run(services.refresh, AS_OF, MATH)
    # buyers: tea A B D F H = 5, cup A B E H = 4, gift B D F = 3 (E's tea is after the cut-off)
    # together: tea-cup A B H = 3, tea-gift B D F = 3, cup-gift B = 1
    sims = seed.run(lambda: {(s.product_a_id, s.product_b_id): (s.together, s.score)
                             for s in Similarity.select()})
    assert sims == {(tea, cup): (3, pytest.approx(3 / 5)), (tea, gift): (3, pytest.approx(3 / 5)),
                    (cup, tea): (3, pytest.approx(3 / 4)), (cup, gift): (1, pytest.approx(1 / 4)),
                    (gift, tea): (3, pytest.approx(3 / 3)), (gift, cup): (1, pytest.approx(1 / 3))}
    assert result["similarities"] == 6
    # F: tea 30 days ago weighs 0.5 (half-life 30), gift 60 days ago 0.25
    w_tea, w_gift = 0.5, 0.25
    expected = sorted([
        (cup, w_tea * 3 / 5 + w_gift * 1 / 3, tea),     # 0.3833: mostly because of the tea
        (gift, w_tea * 3 / 5, tea),                     # 0.30 (bought 60 days ago: may return)
        (tea, w_gift * 3 / 3, gift),                    # 0.25
    ], key=lambda r: -r[1])
    got = scores_of(seed, world["F"])
    assert [(p, r) for p, _s, r in got] == [(p, r) for p, _s, r in expected]
    for (_p, score, _r), (_q, want, _w) in zip(got, expected):
        assert score == pytest.approx(want, abs=1e-6)
    # A bought tea and cup 2 days ago (within exclude_days = 5): only the gift is left
    w = math.exp(-math.log(2) * 2 / 30)
    got = scores_of(seed, world["A"])
    assert [(p, r) for p, _s, r in got] == [(gift, tea)]
    assert got[0][1] == pytest.approx(w * 3 / 5 + w * 1 / 4, abs=1e-6)


def test_buy_again(seed, shop, client, login):
    """Two of the three tea buyers bought it twice: sim(tea, tea) = 2 / 3, and a customer who
    bought tea 60 days ago (weight 0.25 at a 30-day half-life) gets it back with that reason."""
    regulars = [seed.customer(f"Regular {n}", owner="sales") for n in range(2)]
    for c in regulars:
        shop.buy(c, shop.tea, days=200)
        shop.buy(c, shop.tea, days=100)
    once = seed.customer("Once", owner="sales")
    shop.buy(once, shop.tea, days=60)
    seed.run(services.refresh, AS_OF, MATH)
    sims = seed.run(lambda: {(s.product_a_id, s.product_b_id): (s.together, s.score)
                             for s in Similarity.select()})
    assert sims == {(shop.tea.id, shop.tea.id): (2, pytest.approx(2 / 3))}
    got = scores_of(seed, once)
    assert [(p, r) for p, _s, r in got] == [(shop.tea.id, shop.tea.id)]
    assert got[0][1] == pytest.approx(0.25 * 2 / 3, abs=1e-6)
    login("sales")
    text = client.get(PANEL_URL.format(once.id)).get_data(as_text=True)
    assert "You bought Tea before; 67% of its buyers buy it again." in text


def test_a_line_returned_in_full_is_not_bought(seed, shop):
    """Refunds (crm/purchases): a product whose whole line was returned does not count as
    bought, though the rest of its basket does; one returned in part still counts."""
    from crm.purchases import services as purchases
    from crm.purchases.models import PurchaseLine
    kept = seed.customer("Kept one", owner="sales")
    returned = seed.customer("Returned all", owner="sales")
    kept_purchase = shop.buy(kept, shop.cup, days=10, quantity=2)
    purchase = shop.buy(returned, shop.cup, shop.snack, days=10, quantity=2)   # one basket
    shop.buy(kept, shop.tea, days=5)

    def refund(quantity, customer_purchase):
        line = PurchaseLine.get((PurchaseLine.purchase == customer_purchase.id)
                                & (PurchaseLine.product == shop.cup.id))
        purchases.refund_purchase(customer_purchase, seed.user("admin"), "退货",
                                  {line.id: quantity})
    seed.run(refund, 2, purchase)
    seed.run(refund, 1, kept_purchase)
    bought = {(c, p) for c, p, _last, _n in seed.run(services.customer_products, AS_OF)}
    assert (kept.id, shop.cup.id) in bought and (kept.id, shop.tea.id) in bought
    assert (returned.id, shop.cup.id) not in bought        # its purchase is still completed
    assert (returned.id, shop.snack.id) in bought
    assert seed.run(lambda: PurchaseLine.get(PurchaseLine.purchase == purchase.id).purchase
                    .status) == "completed"


def test_min_support_drops_rare_pairs(seed, shop, world):
    seed.run(services.refresh, AS_OF, services.Settings(half_life_days=30, exclude_days=5,
                                                        min_support=2))
    pairs = seed.run(lambda: {(s.product_a_id, s.product_b_id) for s in Similarity.select()})
    assert (shop.cup.id, shop.gift.id) not in pairs and (shop.tea.id, shop.cup.id) in pairs


def test_refresh_replaces_the_previous_scores(seed, shop, world):
    seed.run(services.refresh, AS_OF, MATH)
    first = seed.run(lambda: Score.select().count())
    seed.run(services.refresh, AS_OF, MATH)
    assert seed.run(lambda: Score.select().count()) == first > 0


def test_fallback_popular_in_segment_for_a_new_customer(seed, shop):
    companies = [seed.customer(f"{n}贸易有限公司", owner="sales") for n in "甲乙丙"]
    persons = [seed.customer(f"王{n}", owner="sales") for n in "一二"]
    for c in companies:
        shop.buy(c, shop.gift, days=10)
    shop.buy(companies[0], shop.cup, days=12)
    for p in persons:
        shop.buy(p, shop.snack, days=5)
    seed.run(services.refresh, AS_OF, MATH)
    newcomer = seed.customer("丁贸易有限公司", owner="sales")          # company, class C
    recs = seed.run(services.recommendations_for, newcomer, AS_OF, MATH)
    assert [(r.product_id, r.source, r.buyers) for r in recs] == \
        [(shop.gift.id, "popular", 3), (shop.cup.id, "popular", 1)]
    assert recs[0].segment == "company:C"
    # a segment nobody bought in yet falls back to everybody's favourites
    key = seed.customer("戊贸易有限公司", owner="sales", value_class="A")
    recs = seed.run(services.recommendations_for, key, AS_OF, MATH)
    assert recs[0].segment == "*" and recs[0].product_id == shop.gift.id
    assert {r.product_id for r in recs} == {shop.gift.id, shop.cup.id, shop.snack.id}


def test_the_panel_reads_in_one_query_and_leaves_out_fresh_purchases(seed, shop, world):
    from crm.db import database
    seed.run(services.refresh, AS_OF, MATH)
    counter = QueryCounter()

    def read():
        database.obj.query_hooks.append(counter)
        try:
            return services.recommendations_for(world["F"], AS_OF, MATH)
        finally:
            database.obj.query_hooks.remove(counter)
    recs = seed.run(read)
    assert len(counter) == 1
    assert [r.product_id for r in recs] == [shop.cup.id, shop.gift.id, shop.tea.id]
    # F buys a cup today, before the next refresh: it leaves the panel at once
    shop.buy(world["F"], shop.cup, days=0.5)
    recs = seed.run(services.recommendations_for, world["F"], AS_OF, MATH)
    assert [r.product_id for r in recs] == [shop.gift.id, shop.tea.id]


# -- the panel and its reasons -----------------------------------------------------------------

def test_panel_full_page_and_htmx_with_reasons(seed, shop, world, client, login):
    seed.run(services.refresh, AS_OF, MATH)
    login("sales")
    detail = client.get(f"/customers/{world['F'].id}")
    assert PANEL_URL.format(world["F"].id).encode() in detail.data
    page = client.get(PANEL_URL.format(world["F"].id))
    assert page.status_code == 200 and b"<html" in page.data
    text = page.get_data(as_text=True)
    assert "Bought Tea; customers who bought Tea often buy Cup (60% of them)." in text
    assert "Bought Gift box; customers who bought Gift box often buy Tea (100% of them)." in text
    assert "Birthday greetings are skipped" in text
    partial = client.get(PANEL_URL.format(world["F"].id), headers=htmx(f"panel-{hooks.PANEL}"))
    assert partial.status_code == 200 and b"<html" not in partial.data
    assert f'id="panel-{hooks.PANEL}"'.encode() in partial.data
    assert "HX-Request" in partial.headers.get("Vary", "")
    # what was shown is logged once, for the acceptance rate
    shown = seed.run(lambda: sorted(s.product_id for s in Shown.select()
                                    .where(Shown.customer == world["F"].id)))
    assert shown == sorted([shop.cup.id, shop.gift.id, shop.tea.id])


def test_panel_fallback_reason_for_a_customer_without_purchases(seed, shop, world, client,
                                                                login):
    seed.run(services.refresh, AS_OF, MATH)
    newcomer = seed.customer("Newcomer", owner="sales")
    login("sales")
    text = client.get(PANEL_URL.format(newcomer.id)).get_data(as_text=True)
    assert "Popular with similar customers: bought by" in text


def test_panel_outside_the_scope_is_404(seed, shop, world, client, login):
    seed.run(services.refresh, AS_OF, MATH)
    login("sales2")
    assert client.get(PANEL_URL.format(world["F"].id)).status_code == 404
    assert client.get(PANEL_URL.format(world["F"].id),
                      headers=htmx(f"panel-{hooks.PANEL}")).status_code == 404


def test_panel_before_any_refresh(seed, client, login):
    customer = seed.customer("Nobody yet", owner="sales")
    login("sales")
    text = client.get(PANEL_URL.format(customer.id)).get_data(as_text=True)
    assert "No recommendation yet" in text and "No action suggested right now." in text


# -- next best actions -------------------------------------------------------------------------

def test_winback_for_a_dormant_high_value_customer(seed, shop):
    key = seed.customer("Key account", owner="sales", value_class="A")
    small = seed.customer("Small buyer", owner="sales", value_class="C")
    big_spender = seed.customer("Big spender", owner="sales", value_class="C")
    recent = seed.customer("Recent buyer", owner="sales", value_class="A")
    shop.buy(key, shop.tea, days=120)
    shop.buy(small, shop.snack, days=120)
    shop.buy(big_spender, shop.gift, days=95, quantity=50)      # 50 x 200 yuan = 10,000 yuan
    shop.buy(recent, shop.tea, days=10)
    today = AS_OF.date()

    def actions(customer):
        return seed.run(services.next_actions, seed.get_customer(customer.id), today, AS_OF)
    got = actions(key)
    assert [(a.kind, a.key) for a in got] == \
        [("winback", f"winback:{(AS_OF - dt.timedelta(days=120)).date().isoformat()}")]
    assert got[0].facts["days"] == 120 and got[0].facts["spend_fen"] == 10000
    assert actions(small) == []
    assert [a.kind for a in actions(big_spender)] == ["winback"]
    assert actions(recent) == []


def test_anniversary_greeting_and_no_birthday_rule(seed):
    today = AS_OF.date()
    soon = seed.customer("周年有限公司", owner="sales",
                         founded_on=dt.date(2016, 6, 4))          # in 3 days: 10 years
    later = seed.customer("以后有限公司", owner="sales", founded_on=dt.date(2016, 7, 20))
    got = seed.run(services.next_actions, seed.get_customer(soon.id), today, AS_OF)
    assert [(a.kind, a.key, a.facts["years"]) for a in got] == \
        [("anniversary", "anniversary:2026-06-04", 10)]
    assert seed.run(services.next_actions, seed.get_customer(later.id), today, AS_OF) == []
    assert services.next_anniversary(dt.date(2012, 2, 29), dt.date(2026, 2, 20)) == \
        dt.date(2026, 2, 28)
    assert services.BIRTHDAYS_AVAILABLE is False      # the core's customer has no birthday


def test_no_complaint_rule_without_the_service_plugin(seed):
    customer = seed.customer("No desk", owner="sales")
    assert seed.run(services.open_complaint, customer.id) is None


def test_dismiss_without_javascript_and_with_htmx(seed, shop, client, login):
    key = seed.customer("Key account", owner="sales", value_class="A")
    shop.buy(key, shop.tea, days=120)                 # AS_OF is months before today: dormant
    login("sales")
    url = PANEL_URL.format(key.id)
    page = client.get(url).get_data(as_text=True)
    assert "Win-back call" in page and 'name="action" value="winback:' in page
    action = page.split('name="action" value="', 1)[1].split('"', 1)[0]
    response = client.post(f"/recommendations/customers/{key.id}/dismiss",
                           data={"action": action, "next": url})
    assert response.status_code == 303 and response.headers["Location"].endswith(url)
    assert "Win-back call" not in client.get(url).get_data(as_text=True)
    stored = seed.run(lambda: [(d.action, d.user_id) for d in Dismissed.select()])
    assert stored == [(action, seed.user("sales").id)]
    # with htmx: the panel's body comes back, already without the action; twice is harmless
    partial = client.post(f"/recommendations/customers/{key.id}/dismiss",
                          data={"action": action}, headers=htmx(f"reco-{key.id}"))
    assert partial.status_code == 200
    assert partial.data.startswith(f'<div id="reco-{key.id}"'.encode())
    assert b"Win-back call" not in partial.data
    assert seed.run(lambda: Dismissed.select().count()) == 1
    # a bad key, an open redirect
    assert client.post(f"/recommendations/customers/{key.id}/dismiss",
                       data={"action": "<script>"}).status_code == 400
    response = client.post(f"/recommendations/customers/{key.id}/dismiss",
                           data={"action": action, "next": "//evil.example"})
    assert response.headers["Location"].endswith(url)


def test_dismiss_outside_the_scope_is_404(seed, shop, client, login):
    key = seed.customer("Key account", owner="sales", value_class="A")
    shop.buy(key, shop.tea, days=120)
    login("sales2")
    response = client.post(f"/recommendations/customers/{key.id}/dismiss",
                           data={"action": "winback:2026-02-01"})
    assert response.status_code == 404
    assert seed.run(lambda: Dismissed.select().count()) == 0


# -- the dashboard card and the acceptance rate ------------------------------------------------

def test_acceptance_rate_on_hand_made_data(seed, shop, client, login):
    c1 = seed.customer("One", owner="sales")
    c2 = seed.customer("Two", owner="sales2")
    shown_at = AS_OF - dt.timedelta(days=60)
    window = shown_at + dt.timedelta(days=30)

    def log():
        Shown.insert_many([
            {"customer": c1.id, "product": shop.cup.id, "shown_at": shown_at,
             "window_ends_at": window},     # bought 10 days later: accepted
            {"customer": c1.id, "product": shop.gift.id, "shown_at": shown_at,
             "window_ends_at": window},     # bought 40 days later: too late
            {"customer": c2.id, "product": shop.cup.id, "shown_at": shown_at,
             "window_ends_at": window},     # bought before it was shown: no
            {"customer": c2.id, "product": shop.tea.id, "shown_at": shown_at,
             "window_ends_at": window},     # never bought
        ]).execute()
    seed.run(log)
    shop.buy(c1, shop.cup, days=50)
    shop.buy(c1, shop.gift, days=20)
    shop.buy(c2, shop.cup, days=70)
    rows, shown, accepted = seed.run(services.acceptance)
    assert (shown, accepted) == (4, 1)
    assert rows[0] == (shop.cup.id, "Cup", 2, 1)
    assert sorted(rows[1:]) == sorted([(shop.gift.id, "Gift box", 1, 0),
                                       (shop.tea.id, "Tea", 1, 0)])
    login("admin")
    page = client.get(CARD_URL)
    assert page.status_code == 200 and b"<html" in page.data
    assert "Acceptance rate: 25.0% (1 of 4" in page.get_data(as_text=True)
    partial = client.get(CARD_URL, headers=htmx(f"card-{hooks.CARD}"))
    assert partial.status_code == 200 and b"<html" not in partial.data
    assert b"Acceptance rate: 25.0%" in partial.data
    # a rep counts only the customers they see
    client.post("/logout")
    login("sales")
    assert "Acceptance rate: 50.0% (1 of 2" in client.get(CARD_URL).get_data(as_text=True)
    assert hooks.CARD.encode() in client.get("/").data


def test_card_before_anything_was_shown(client, login):
    login("manager")
    page = client.get(CARD_URL)
    assert page.status_code == 200 and b"No recommendation has been shown yet." in page.data


# -- the command and the job -------------------------------------------------------------------

def test_refresh_command_and_nightly_job(app, seed, shop, world, runner):
    result = runner.invoke(args=["recommendations-refresh"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("recommendations: ")
    assert seed.run(lambda: Score.select().count()) > 0
    task = app.extensions["recommendations.tasks"]["refresh"]
    assert task.name == "recommendations.refresh"
    run = seed.run(services.last_run)
    assert run is not None and run.customers > 0
