"""The counter and the loyalty pages over HTTP: each as a full page (JavaScript off) and as
its htmx partial, every POST answering 303, errors 422 with a message, a double tap changing
nothing, 404 outside the user's scope (never 403), permissions per role, page weights."""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from crm.customers.models import Customer
from crm.purchases.models import Product, Purchase
from plugins.loyalty import services
from plugins.loyalty.models import LoyaltyEntry, LoyaltyGift, LoyaltyMember, LoyaltyRedemption
from tests.conftest import htmx

PAGE_BUDGET = 20 * 1024          # HTML on the wire (gzip), design.md section 4
HTMX_BUDGET = 5 * 1024


@pytest.fixture
def member(shop):
    """张伟, owned by "sales", a member with 500 spendable points."""
    created = shop.member("张伟", owner="sales", phone="13812345678")
    shop.credit(created.id, 500)
    return created


def text(response) -> str:
    return response.get_data(as_text=True)


def key_of(page: str) -> str:
    return re.search(r'name="key"[^>]*value="([0-9a-f]{32})"', page).group(1)


def is_partial(response) -> bool:
    return "<html" not in text(response) and "<!doctype" not in text(response)


# -- look-up ----------------------------------------------------------------------------------

def test_lookup_by_last_4_digits_name_initials_and_card(member, client_for):
    client = client_for("clerk")
    for q in ("5678", "张伟", "zw", "zhangwei"):
        page = client.get(f"/loyalty/counter?q={q}")
        assert page.status_code == 200 and "张伟" in text(page), q
        assert "138****5678" in text(page)              # a clerk sees phones masked
    partial = client.get("/loyalty/counter?q=5678", headers=htmx("results"))
    assert partial.status_code == 200 and is_partial(partial)
    assert 'id="results"' in text(partial) and "张伟" in text(partial)
    assert "HX-Request" in partial.headers.get("Vary", "")
    card = member.card_no
    scan = client.get(f"/loyalty/counter?q={card}")          # a scan opens the member
    assert scan.status_code == 303
    assert scan.headers["Location"].endswith(f"/loyalty/counter/{member.customer_id}")
    scanned = client.get(f"/loyalty/counter?q={card}",       # with JavaScript: Enter
                         headers=htmx("results", **{"HX-Trigger": "lookup"}))
    assert scanned.status_code == 204
    assert f"/loyalty/counter/{member.customer_id}" in scanned.headers["HX-Location"]
    typing = client.get(f"/loyalty/counter?q={card}", headers=htmx("results",
                                                                   **{"HX-Trigger": "q"}))
    assert typing.status_code == 200 and "张伟" in text(typing)
    typed = client.get(f"/loyalty/counter?q={card[:8]}", headers=htmx("results"))
    assert "张伟" in text(typed)                                # a card number's start
    assert "Nobody matches" in text(client.get("/loyalty/counter?q=0000"))


def test_lookup_stays_inside_the_scope(member, shop, client_for):
    shop.member("李娜", owner="sales2", phone="13900005678")
    client = client_for("sales")
    page = text(client.get("/loyalty/counter?q=5678"))
    assert "张伟" in page and "李娜" not in page
    other = text(client_for("sales2").get(f"/loyalty/counter?q={member.card_no}",
                                     headers=htmx("results")))
    assert "张伟" not in other


# -- the member screen and its steps --------------------------------------------------------------

def test_member_screen_and_each_step_as_page_and_partial(member, client_for):
    client = client_for("clerk")
    base = f"/loyalty/counter/{member.customer_id}"
    page = client.get(base)
    assert page.status_code == 200
    body = text(page)
    assert "Standard" in body and "500" in body and member.card_no in body
    assert 'id="step"' in body
    for step in ("purchase", "gift", "cash", "review"):
        full = client.get(f"{base}/{step}")
        assert full.status_code == 200 and not is_partial(full), step
        assert 'id="step"' in text(full) and "张伟" in text(full)      # header and form
        part = client.get(f"{base}/{step}", headers=htmx("step"))
        assert part.status_code == 200 and is_partial(part), step
        assert "<form" in text(part) and 'class="facts"' not in text(part)
        assert f'action="{base}/{step}"' in text(part) and 'method="post"' in text(part)
    for step in ("adjust", "return"):                       # a clerk may not
        assert client.get(f"{base}/{step}").status_code == 403


def test_cash_offset_and_a_double_tap(member, client_for, seed):
    client = client_for("clerk")
    base = f"/loyalty/counter/{member.customer_id}"
    key = key_of(text(client.get(f"{base}/cash")))
    first = client.post(f"{base}/cash", data={"points": "200", "key": key})
    second = client.post(f"{base}/cash", data={"points": "200", "key": key})
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    receipt = client.get(first.headers["Location"])
    assert receipt.status_code == 200
    assert "Take CN¥2.00 off the bill." in text(receipt)
    assert "recorded already" in text(receipt)                  # the second tap's notice
    assert seed.run(lambda: LoyaltyMember.get_by_id(member.id).balance) == 300
    assert seed.run(lambda: LoyaltyRedemption.select()
                    .where(LoyaltyRedemption.member == member.id).count()) == 1


def test_bad_input_answers_422_with_a_message_and_writes_nothing(member, client_for, seed):
    client = client_for("clerk")
    base = f"/loyalty/counter/{member.customer_id}"
    key = key_of(text(client.get(f"{base}/cash")))
    for data, message in (({"points": "0", "key": key}, "Number must be between"),
                          ({"points": "abc", "key": key}, "Not a valid integer"),
                          ({"points": "900", "key": key}, "Not enough points"),
                          ({"points": "10", "key": "x"}, "The form is out of date")):
        response = client.post(f"{base}/cash", data=data)
        assert response.status_code == 422, data
        assert message in text(response), (data, text(response)[-800:])
        partial = client.post(f"{base}/cash", data=data, headers=htmx("step"))
        assert partial.status_code == 422 and is_partial(partial)
    assert seed.run(lambda: LoyaltyMember.get_by_id(member.id).balance) == 500


def test_recording_a_purchase_at_the_counter_earns_once(member, client_for, seed):
    product = seed.run(lambda: Product.create(sku="TEA-1", name="龙井", price_fen=12_800))
    client = client_for("clerk")
    base = f"/loyalty/counter/{member.customer_id}"
    key = key_of(text(client.get(f"{base}/purchase")))
    data = {"lines-0-product": str(product.id), "lines-0-quantity": "2", "note": "",
            "key": key}
    first = client.post(f"{base}/purchase", data=data)
    again = client.post(f"{base}/purchase", data=data)              # a double tap
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    receipt = text(client.get(first.headers["Location"]))
    assert "龙井 × 2" in receipt and "Points earned: 256" in receipt
    assert seed.run(lambda: Purchase.select()
                    .where(Purchase.customer == member.customer_id).count()) == 1
    m = seed.run(lambda: LoyaltyMember.get_by_id(member.id))
    assert (m.balance, m.pending) == (500, 256)             # pending: the return window
    empty = client.post(f"{base}/purchase", data={"key": services.new_key()})
    assert empty.status_code == 422 and "Choose at least one product" in text(empty)


def test_gift_redemption(member, client_for, seed):
    gift = seed.run(lambda: LoyaltyGift.create(name="帆布袋", name_en="Tote bag", points=150,
                                               stock=1))
    client = client_for("clerk")
    base = f"/loyalty/counter/{member.customer_id}"
    page = text(client.get(f"{base}/gift"))
    assert "Tote bag · 150 points (1 left)" in page
    done = client.post(f"{base}/gift", data={"gift": str(gift.id), "quantity": "1",
                                             "key": key_of(page)})
    assert done.status_code == 303
    assert "Tote bag × 1" in text(client.get(done.headers["Location"]))
    gone = client.post(f"{base}/gift", data={"gift": str(gift.id), "quantity": "1",
                                             "key": services.new_key()})
    assert gone.status_code == 422                          # out of stock: not offered
    assert seed.run(lambda: LoyaltyMember.get_by_id(member.id).balance) == 350


def test_checkin_and_review(member, client_for):
    client = client_for("clerk")
    base = f"/loyalty/counter/{member.customer_id}"
    first = client.post(f"{base}/checkin")
    assert first.status_code == 303 and "receipt" in first.headers["Location"]
    second = client.post(f"{base}/checkin")
    assert second.headers["Location"].endswith(base)
    assert "Checked in today already." in text(client.get(base))
    page = text(client.get(f"{base}/review"))
    done = client.post(f"{base}/review", data={"ref": "JD-1001", "key": key_of(page)})
    assert done.status_code == 303
    twice = client.post(f"{base}/review", data={"ref": "JD-1001", "key": services.new_key()})
    assert twice.status_code == 422 and "earned its points already" in text(twice)


def test_adjust_and_return_need_the_adjust_permission(member, client_for, seed):
    client = client_for("manager")          # the sales department's manager sees 张伟 (owner: sales)
    base = f"/loyalty/counter/{member.customer_id}"
    page = text(client.get(f"{base}/adjust"))
    missing = client.post(f"{base}/adjust", data={"points": "-50", "reason": "",
                                                  "key": key_of(page)})
    assert missing.status_code == 422 and "Required." in text(missing)
    done = client.post(f"{base}/adjust", data={"points": "-50", "reason": "wrong entry",
                                               "key": key_of(page)})
    assert done.status_code == 303
    assert seed.run(lambda: LoyaltyMember.get_by_id(member.id).balance) == 450
    product = seed.run(lambda: Product.create(sku="RET-1", name="Shoes", price_fen=40_000))
    seed.purchase(member.customer_id, [(product.id, 1)])    # outside a request: no dispatch
    seed.run(lambda: services.earn_for_purchase(
        Purchase.select().where(Purchase.customer == member.customer_id).first().id))
    page = text(client.get(f"{base}/return"))
    purchase_id = re.search(r'<option[^>]*value="(\d+)"', page).group(1)
    back = client.post(f"{base}/return", data={"purchase": purchase_id, "amount": "100.00",
                                               "key": key_of(page)})
    assert back.status_code == 303
    assert seed.run(lambda: LoyaltyMember.get_by_id(member.id).pending) == 400 - 100


# -- enrolment ----------------------------------------------------------------------------------

def test_enrol_a_new_member_in_one_form(client_for, seed):
    client = client_for("clerk")
    page = text(client.get("/loyalty/counter/enrol"))
    data = {"name": "陈静", "phone": "139 1111 2222", "birthday": "1990-05-04",
            "consent": "y", "card_no": "", "key": key_of(page)}
    first = client.post("/loyalty/counter/enrol", data=data)
    again = client.post("/loyalty/counter/enrol", data=data)          # a double tap
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    member_page = text(client.get(first.headers["Location"]))
    assert "陈静" in member_page and "Member enrolled: card 88" in member_page
    assert seed.run(lambda: Customer.select().where(Customer.name == "陈静").count()) == 1
    dup = client.post("/loyalty/counter/enrol", data={**data, "key": services.new_key()})
    assert dup.status_code == 422 and "exists already" in text(dup)
    assert 'name="confirm_duplicate"' in text(dup)
    twin = client.post("/loyalty/counter/enrol", data={**data, "name": "陈静 (妹妹)",
                                                       "key": services.new_key(),
                                                       "confirm_duplicate": "y"})
    assert twin.status_code == 303                       # a sister sharing the phone
    assert seed.run(lambda: Customer.select().where(Customer.name.startswith("陈静"))
                    .count()) == 2
    bad = client.post("/loyalty/counter/enrol", data={"name": "", "phone": "123",
                                                      "key": services.new_key()})
    assert bad.status_code == 422 and "Required." in text(bad)
    part = client.post("/loyalty/counter/enrol", data={"name": "x", "phone": "1",
                                                       "key": services.new_key()},
                       headers=htmx("main"))
    assert part.status_code == 422


def test_enrol_an_existing_customer(seed, client_for):
    customer = seed.customer("周杰", owner="sales", kind="person")
    client = client_for("sales")
    page = client.get(f"/loyalty/counter/{customer.id}")
    assert "Enrol as a member" in text(page)
    done = client.post(f"/loyalty/counter/{customer.id}/enrol",
                       data={"card_no": "6200001111", "key": key_of(text(page))})
    assert done.status_code == 303
    assert "6200001111" in text(client.get(f"/loyalty/counter/{customer.id}"))


# -- scope and permissions --------------------------------------------------------------------

def test_outside_the_scope_is_404_never_403(member, client_for, seed):
    base = f"/loyalty/counter/{member.customer_id}"
    entry = seed.run(lambda: LoyaltyEntry.select().where(LoyaltyEntry.member == member.id)
                     .first().id)
    client = client_for("sales2")                              # not theirs, not shared
    for url in (base, f"{base}/cash", f"{base}/gift", f"{base}/purchase", f"{base}/review",
                f"{base}/history", f"{base}/receipt?entry={entry}", f"{base}/adjust",
                f"{base}/enrol", f"/customers/{member.customer_id}/panels/loyalty_member"):
        assert client.get(url).status_code == 404, url
    for url in (f"{base}/cash", f"{base}/checkin", f"{base}/gift", f"{base}/enrol"):
        assert client.post(url, data={"points": "10", "key": services.new_key()}) \
            .status_code == 404, url
    assert seed.run(lambda: LoyaltyMember.get_by_id(member.id).balance) == 500
    # a receipt of somebody else's movement through one's own customer is a 404 too
    own = seed.customer("自己的客户", owner="sales2", kind="person")
    seed.run(lambda: services.enrol(own))
    assert client.get(f"/loyalty/counter/{own.id}/receipt?entry={entry}").status_code == 404


def test_roles(member, client_for):
    assert client_for("service").get("/loyalty/counter").status_code == 403
    for role in ("clerk", "sales", "manager", "admin"):
        assert client_for(role).get("/loyalty/counter").status_code == 200, role
    assert client_for("manager").get("/loyalty/admin").status_code == 403
    assert client_for("clerk").get("/loyalty/admin/gifts").status_code == 403


# -- around the counter ---------------------------------------------------------------------------

def test_member_panel_on_the_customer_page(member, seed, client_for):
    client = client_for("sales")
    detail = text(client.get(f"/customers/{member.customer_id}"))
    assert "/panels/loyalty_member" in detail
    panel = client.get(f"/customers/{member.customer_id}/panels/loyalty_member",
                       headers=htmx("panel-loyalty_member"))
    assert panel.status_code == 200 and is_partial(panel)
    assert member.card_no in text(panel) and "Open at the counter" in text(panel)
    full = client.get(f"/customers/{member.customer_id}/panels/loyalty_member")
    assert "<html" in text(full)
    other = seed.customer("非会员", owner="sales", kind="person")
    body = text(client.get(f"/customers/{other.id}/panels/loyalty_member"))
    assert "Not a member." in body and "Enrol as a member" in body


def test_dashboard_cards(member, shop, client_for):
    shop.purchase(shop.member("卡片", owner="sales"), 30_000)
    client = client_for("manager")
    home = text(client.get("/"))
    for name in ("loyalty_tiers", "loyalty_liability", "loyalty_flow", "loyalty_active"):
        assert f"/dashboard/cards/{name}" in home
        card = client.get(f"/dashboard/cards/{name}", headers=htmx(f"card-{name}"))
        assert card.status_code == 200 and is_partial(card), name
        assert "could not be loaded" not in text(card), name
    liability = text(client.get("/dashboard/cards/loyalty_liability"))
    assert "points" in liability and "CN¥" in liability
    assert "/dashboard/cards/loyalty_tiers" not in text(client_for("clerk").get("/"))


def test_tier_column_in_the_customer_list(member, client_for):
    page = text(client_for("sales").get("/customers?q=5678"))
    assert "<th scope=\"col\">Member</th>" in page and "Standard" in page


def test_history_loads_older_movements(member, seed, client_for):
    def many():
        for i in range(51):
            services.adjust(member.id, 1, f"bonus {i}", services.new_key())
    seed.run(many)                                     # 52 movements with the first credit
    client = client_for("clerk")
    base = f"/loyalty/counter/{member.customer_id}/history"
    page = text(client.get(base))
    assert page.count("<tr><td>") == 50 and "bonus 50" in page and "test credit" not in page
    older = re.search(r'hx-get="([^"]+before=\d+)"', page).group(1).replace("&amp;", "&")
    part = client.get(older, headers=htmx("history-more"))
    assert part.status_code == 200 and is_partial(part)
    assert "test credit" in text(part) and "bonus 0<" in text(part) and "bonus 1<" not in text(part)
    assert "bonus 0" in text(client.get(older))                  # the same link, no JS


def test_tier_names_follow_the_language(member, client_for):
    client = client_for("clerk")
    base = f"/loyalty/counter/{member.customer_id}"
    assert "普通" in text(client.get(base, headers={"Accept-Language": "zh-CN"}))
    assert "Standard" in text(client.get(base, headers={"Accept-Language": "en"}))


# -- weights --------------------------------------------------------------------------------------

def test_counter_pages_fit_the_budget(member, seed, client_for):
    """The HTML of each counter page, gzipped, with a realistic catalogue (40 products, 12
    gifts) and history: figures in test-artifacts/loyalty-page-weight.json."""
    seed.run(lambda: [Product.create(sku=f"W-{i}", name=f"商品名称{i}号 标准装", price_fen=990 + i)
                      for i in range(40)])
    seed.run(lambda: [LoyaltyGift.create(name=f"礼品{i}", name_en=f"Gift {i}", points=100 + i,
                                         stock=9) for i in range(12)])
    client = client_for("clerk")
    base = f"/loyalty/counter/{member.customer_id}"
    for _ in range(3):
        client.post(f"{base}/cash", data={"points": "1", "key": services.new_key()})
    receipt = client.post(f"{base}/cash", data={"points": "1",
                                                "key": services.new_key()}).headers["Location"]
    pages = {"counter": "/loyalty/counter", "lookup": "/loyalty/counter?q=5678",
             "member": base, "purchase": f"{base}/purchase", "gift": f"{base}/gift",
             "cash": f"{base}/cash", "enrol": "/loyalty/counter/enrol", "receipt": receipt,
             "history": f"{base}/history"}
    partials = {"lookup": ("/loyalty/counter?q=5678", "results"),
                "purchase": (f"{base}/purchase", "step"), "gift": (f"{base}/gift", "step"),
                "cash": (f"{base}/cash", "step")}
    figures = {"pages": {}, "partials": {}}
    for name, url in pages.items():
        body = client.get(url).data
        figures["pages"][name] = {"html": len(body), "gzip": len(gzip.compress(body, 6))}
        assert figures["pages"][name]["gzip"] <= PAGE_BUDGET, (name, figures)
    for name, (url, target) in partials.items():
        body = client.get(url, headers=htmx(target)).data
        figures["partials"][name] = {"html": len(body), "gzip": len(gzip.compress(body, 6))}
        assert figures["partials"][name]["gzip"] <= HTMX_BUDGET, (name, figures)
    folder = Path(__file__).resolve().parents[2] / "test-artifacts"
    folder.mkdir(exist_ok=True)
    (folder / "loyalty-page-weight.json").write_text(json.dumps(figures, indent=2))
    print("\nloyalty page weights (bytes):", json.dumps(figures))
