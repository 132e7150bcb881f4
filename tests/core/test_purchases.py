"""Purchases priced from the catalogue, in fen; products with unique SKUs and exact prices."""
from __future__ import annotations

import re

import pytest

from crm.activities.models import Activity
from crm.events.models import OutboxEvent
from crm.purchases.models import Product, Purchase, PurchaseLine
from tests.conftest import htmx


@pytest.fixture
def catalogue(seed):
    return {"tea": seed.product("TEA-1", "Green tea", 1999),
            "cup": seed.product("CUP-1", "Tea cup", 500),
            "old": seed.product("OLD-1", "Old kettle", 9900, active=False)}


@pytest.fixture
def customer(seed):
    return seed.customer("张伟", owner="sales", phone="13812345678")


def lines(*pairs, **extra):
    data = {}
    for i in range(4):
        product, quantity = pairs[i] if i < len(pairs) else ("", "1")
        data[f"lines-{i}-product"] = str(product)
        data[f"lines-{i}-quantity"] = str(quantity)
    data["note"] = ""
    data.update(extra)
    return data


def test_record_purchase(client, login, seed, catalogue, customer):
    login("sales")
    tea, cup = catalogue["tea"], catalogue["cup"]
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "Green tea" in page and "Old kettle" not in page      # only products on sale
    response = client.post(f"/customers/{customer.id}/purchases", data=lines(
        (tea.id, 2), (cup.id, 3),
        # a tampered form cannot set prices or totals
        **{"lines-0-unit_price_fen": "1", "lines-0-price": "0.01", "total_fen": "1",
           "note": "开业礼品"}))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customers/{customer.id}#purchases")
    purchase = seed.run(lambda: Purchase.get(Purchase.customer == customer.id))
    assert purchase.total_fen == 2 * 1999 + 3 * 500 == 5498
    assert purchase.note == "开业礼品" and purchase.user_id == seed.user("sales").id
    rows = seed.run(lambda: sorted((line.product_id, line.quantity, line.unit_price_fen,
                                    line.amount_fen) for line in PurchaseLine.select()))
    assert rows == sorted([(tea.id, 2, 1999, 3998), (cup.id, 3, 500, 1500)])
    # an activity of kind purchase, linked, and the customer counts as contacted
    activity = seed.run(lambda: Activity.get(Activity.customer == customer.id))
    assert (activity.kind, activity.purchase_id) == ("purchase", purchase.id)
    assert "Green tea × 2" in activity.summary and "Tea cup × 3" in activity.summary
    assert seed.get_customer(customer.id).last_contacted_at is not None
    event = seed.run(lambda: OutboxEvent.get(OutboxEvent.name == "purchase.recorded"))
    assert '"total_fen": 5498' in event.payload
    # the customer page: totals, the purchase, the timeline item
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "Purchase of CN¥54.98 recorded." in page
    assert re.search(r"1 purchase · total <strong>CN¥54.98</strong>", page)
    assert 'class="act purchase"' in page


def test_totals_count_completed_purchases(client, login, seed, catalogue, customer):
    tea = catalogue["tea"]
    seed.purchase(customer.id, [(tea.id, 1)])
    refunded = seed.purchase(customer.id, [(tea.id, 5)])
    seed.purchase(customer.id, [(tea.id, 2)])
    seed.run(lambda: Purchase.update(status="refunded").where(Purchase.id == refunded.id)
             .execute())
    login("sales")
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert re.search(r"2 purchases · total <strong>CN¥59.97</strong>", page)
    assert "(refunded)" in page
    listing = client.get(f"/customers/{customer.id}/purchases").get_data(as_text=True)
    assert listing.count("Green tea ×") == 3


def test_purchase_validation(client, login, seed, catalogue, customer):
    login("sales")
    url = f"/customers/{customer.id}/purchases"
    empty = client.post(url, data=lines())
    assert empty.status_code == 422
    assert "Choose at least one product." in empty.get_data(as_text=True)
    unknown = client.post(url, data=lines((999999, 1)))
    assert unknown.status_code == 422
    assert "not in the catalogue" in unknown.get_data(as_text=True)
    off_sale = client.post(url, data=lines((catalogue["old"].id, 1)))
    assert off_sale.status_code == 422
    assert "not in the catalogue" in off_sale.get_data(as_text=True)
    for quantity in ("0", "-2", "abc"):
        response = client.post(url, data=lines((catalogue["tea"].id, quantity)))
        assert response.status_code == 422, quantity
    partial = client.post(url, data=lines(), headers=htmx("purchase-form"))
    assert partial.status_code == 422
    assert b"<html" not in partial.data and b'id="purchase-form"' in partial.data
    assert seed.run(Purchase.select().count) == 0
    assert seed.run(Activity.select().count) == 0


def test_clerk_records_but_service_does_not(client, login, catalogue, customer):
    login("service")
    response = client.post(f"/customers/{customer.id}/purchases",
                           data=lines((catalogue["tea"].id, 1)))
    assert response.status_code == 403
    client.post("/logout")
    login("clerk")
    response = client.post(f"/customers/{customer.id}/purchases",
                           data=lines((catalogue["tea"].id, 1)))
    assert response.status_code == 303


# -- products -----------------------------------------------------------------------------------

def product_form(**values):
    data = {"sku": "", "name": "", "category": "", "price": "", "active": "y"}
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


PRICES = [("19.99", 1999), ("0.1", 10), ("0.07", 7), ("1234.5", 123450), ("0", 0), ("29", 2900),
          ("4.35", 435), ("1.15", 115), ("10000000", 1_000_000_000)]
BAD_PRICES = ["19.999", "-1", "abc", "", "1,99", "NaN", "Infinity", "sNaN",
              "99999999999999999999", "10000000.01"]


def test_price_in_yuan_to_fen_exactly(client, login, seed):
    login("admin")
    for i, (price, fen) in enumerate(PRICES):
        response = client.post("/products/new", data=product_form(sku=f"P{i}", name="P",
                                                                   price=price))
        assert response.status_code == 303, (price, response.get_data(as_text=True)[:1000])
        assert seed.run(lambda: Product.get(Product.sku == f"P{i}").price_fen) == fen, price


def test_bad_prices(client, login, seed):
    login("admin")
    for price in BAD_PRICES:
        response = client.post("/products/new", data=product_form(sku="P", name="P",
                                                                   price=price))
        assert response.status_code == 422, price
        assert 'id="price-err"' in response.get_data(as_text=True), price
    assert seed.run(Product.select().count) == 0


def test_product_create_and_edit(client, login, seed):
    login("admin")
    response = client.post("/products/new", data=product_form(
        sku=" TEA-1 ", name="Green tea", category="Tea", price="19.99"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/products")
    product = seed.run(lambda: Product.get(Product.sku == "TEA-1"))
    listing = client.get("/products").get_data(as_text=True)
    assert "Product saved." in listing and "CN¥19.99" in listing
    form = client.get(f"/products/{product.id}/edit").get_data(as_text=True)
    assert 'value="19.99"' in form and 'value="TEA-1"' in form
    response = client.post(f"/products/{product.id}/edit", data=product_form(
        sku="TEA-1", name="Green tea 250g", category="Tea", price="21.50", active=None))
    assert response.status_code == 303
    product = seed.run(lambda: Product.get_by_id(product.id))
    assert (product.name, product.price_fen, product.active, product.version) == (
        "Green tea 250g", 2150, False, 2)
    assert client.get("/products/999999/edit").status_code == 404


def test_duplicate_sku(client, login, seed):
    seed.product("TEA-1", "Green tea", 1999)
    cup = seed.product("CUP-1", "Cup", 500)
    login("admin")
    response = client.post("/products/new", data=product_form(sku="TEA-1", name="x",
                                                               price="1"))
    assert response.status_code == 422
    assert "Another product has this SKU." in response.get_data(as_text=True)
    response = client.post(f"/products/{cup.id}/edit", data=product_form(
        sku="TEA-1", name="Cup", price="5"))
    assert response.status_code == 422
    assert "Another product has this SKU." in response.get_data(as_text=True)
    assert seed.run(lambda: Product.get_by_id(cup.id).sku) == "CUP-1"
    assert seed.run(Product.select().count) == 2


def test_old_purchases_keep_their_price(client, login, seed, catalogue, customer):
    tea = catalogue["tea"]
    seed.purchase(customer.id, [(tea.id, 1)])
    login("admin")
    client.post(f"/products/{tea.id}/edit", data=product_form(sku="TEA-1", name="Green tea",
                                                              price="25"))
    line = seed.run(lambda: PurchaseLine.get())
    assert (line.unit_price_fen, line.amount_fen) == (1999, 1999)


def test_products_managed_by_admin_and_manager_only(client, login, catalogue):
    login("sales")
    assert client.get("/products").status_code == 200
    assert "New product" not in client.get("/products").get_data(as_text=True)
    assert client.get("/products/new").status_code == 403
    assert client.post("/products/new", data=product_form(sku="X", name="X",
                                                           price="1")).status_code == 403
    assert client.get(f"/products/{catalogue['tea'].id}/edit").status_code == 403
    client.post("/logout")
    login("manager")
    assert client.get("/products/new").status_code == 200


def test_totals_above_32_bits_are_stored(seed, customer):
    """Money columns are 64-bit (migration 0008): three units at the highest price a product
    may have (10 million yuan) make 3 x 10^9 fen, past a 32-bit integer (2,147,483,647)."""
    product = seed.product("SKU-BIG", "整线设备", 1_000_000_000)
    purchase = seed.purchase(customer.id, [(product.id, 3)])
    with seed.ctx():
        assert Purchase.get_by_id(purchase.id).total_fen == 3_000_000_000
        assert PurchaseLine.get(PurchaseLine.purchase == purchase.id).amount_fen == 3_000_000_000
