"""The pipeline's pages as full pages and htmx partials, scope (404 outside it), roles,
validation messages, and moving a deal on the board with plain forms (JavaScript off)."""
from __future__ import annotations

import re

import pytest

from plugins.sales.models import Deal, Stage
from tests.conftest import htmx


def switch(client, login, username):
    client.post("/logout")
    return login(username)


@pytest.fixture
def world(seed, deals):
    own = seed.customer("杭州华信科技有限公司", owner="sales")
    other = seed.customer("宁波海天贸易有限公司", owner="sales2")
    return {"own": own, "other": other,
            "own_deal": deals.open(own.id, title="华信年度采购"),
            "other_deal": deals.open(other.id, "sales2", title="海天门店设备")}


def test_board_full_page_and_partial(client, login, world):
    login("sales")
    page = client.get("/sales/board")
    assert page.status_code == 200 and b"<html" in page.data
    assert "初步接触".encode() in page.data and "华信年度采购".encode() in page.data
    assert "海天门店设备".encode() not in page.data                       # scope
    assert b'action="/sales/deals/%d/move"' % world["own_deal"].id in page.data
    partial = client.get("/sales/board?owner=me", headers=htmx("board"))
    assert partial.status_code == 200 and b"<html" not in partial.data
    assert partial.data.lstrip().startswith(b'<div id="board"')


def test_move_on_the_board_without_javascript(client, login, world, deals, seed):
    login("sales")
    deal = world["own_deal"].id
    quote, analysis = deals.stage("方案报价"), deals.stage("需求分析")
    ok = client.post(f"/sales/deals/{deal}/move",
                     data={"stage": analysis.id, "version": "1", "back": "/sales/board"})
    assert ok.status_code == 303 and ok.headers["Location"].endswith("/sales/board")
    # the quote stage needs an amount: the deal page says so, with the form to give it
    refused = client.post(f"/sales/deals/{deal}/move",
                          data={"stage": quote.id, "version": "2", "back": "/sales/board"})
    assert refused.status_code == 422
    assert "To enter “方案报价”, a deal needs an amount.".encode() in refused.data
    bad_amount = client.post(f"/sales/deals/{deal}/move",
                             data={"stage": quote.id, "version": "2", "amount": "12,8x"})
    assert bad_amount.status_code == 422 and b"Enter an amount in yuan" in bad_amount.data
    done = client.post(f"/sales/deals/{deal}/move",
                       data={"stage": quote.id, "version": "2", "amount": "12,800.50",
                             "back": "//evil.example/"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/sales/deals/{deal}")
    stored = deals.get(deal)
    assert (stored.stage_id, stored.amount_fen) == (quote.id, 1280050)
    stale = client.post(f"/sales/deals/{deal}/move", data={"stage": analysis.id, "version": "1"})
    assert stale.status_code == 409 and b"Somebody changed this deal" in stale.data
    page = client.get(f"/sales/deals/{deal}").data
    assert page.count("<td>初步接触</td>".encode()) == 1 and "方案报价".encode() in page
    ids = re.findall(r'\bid="([^"]+)"', page.decode())    # the move and edit forms side by side
    assert "move-amount" in ids and "amount" in ids
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []
    refused_page = bad_amount.data.decode()                 # the 422 keeps the move form's ids
    assert 'id="move-amount-err"' in refused_page or 'aria-describedby="move-amount-err"' in \
        refused_page


def test_list_full_page_partial_and_filters(client, login, world, deals, seed):
    login("admin")
    page = client.get("/sales/deals")
    assert page.status_code == 200 and "华信年度采购".encode() in page.data
    stage = deals.stage("初步接触").id
    expected = {"": 2, f"stage={stage}": 2, "status=open": 2, "status=won": 0, "owner=me": 0,
                f"owner={seed.user('sales2').id}": 1, "stuck=1": 0, "q=华信": 1,
                f"customer={world['own'].id}": 1, "page=9": 2}
    for query, count in expected.items():
        response = client.get(f"/sales/deals?{query}", headers=htmx("results"))
        assert response.status_code == 200 and b"<html" not in response.data, query
        assert len(re.findall(rb"<tr>\s*<td data-label", response.data)) == count, query


def test_out_of_scope_is_404(client, login, world):
    login("sales")
    other = world["other_deal"].id
    assert client.get(f"/sales/deals/{other}").status_code == 404
    assert client.post(f"/sales/deals/{other}/move", data={"version": "1"}).status_code == 404
    assert client.post(f"/sales/deals/{other}/edit", data={"version": "1"}).status_code == 404
    assert client.get(f"/sales/customers/{world['other'].id}/deals/new").status_code == 404
    assert client.get(f"/sales/deals?customer={world['other'].id}").status_code == 404
    assert client.get(f"/customers/{world['other'].id}/panels/sales_deals").status_code == 404
    assert client.get("/sales/deals/999999").status_code == 404


def test_roles(client, login, world):
    login("service")
    assert client.get("/sales/board").status_code == 403
    assert client.get(f"/sales/deals/{world['own_deal'].id}").status_code == 403
    assert b'href="/sales/board"' not in client.get("/").data
    switch(client, login, "sales")
    assert client.get("/sales/settings/stages").status_code == 403
    assert b'href="/sales/board"' in client.get("/").data


def test_new_deal(client, login, world, seed):
    login("sales")
    customer = world["own"].id
    form = client.get(f"/sales/customers/{customer}/deals/new")
    assert form.status_code == 200 and b'name="title"' in form.data
    stage_ids = dict((name.decode(), int(i)) for i, name in
                     re.findall(rb'<option value="(\d+)"[^>]*>([^<]+)</option>', form.data))
    data = {"title": "", "amount": "", "stage": stage_ids["方案报价"],
            "owner": seed.user("sales").id, "source": "website"}
    empty = client.post(f"/sales/customers/{customer}/deals/new", data=data)
    assert empty.status_code == 422 and b"Required." in empty.data
    rule = client.post(f"/sales/customers/{customer}/deals/new", data=dict(data, title="报价单"))
    assert rule.status_code == 422 and "a deal needs an amount".encode() in rule.data
    partial = client.post(f"/sales/customers/{customer}/deals/new", data=dict(data, title="x"),
                          headers=htmx("deal-form"))
    assert partial.status_code == 422 and b"<html" not in partial.data
    ok = client.post(f"/sales/customers/{customer}/deals/new",
                     data=dict(data, title="报价单", amount="50000"))
    assert ok.status_code == 303
    deal_id = int(ok.headers["Location"].rstrip("/").split("/")[-1])
    stored = seed.run(Deal.get_by_id, deal_id)
    assert (stored.amount_fen, stored.source, stored.customer_id) == (5000000, "website",
                                                                      customer)


def test_edit_deal(client, login, world, seed):
    login("sales")
    deal = world["own_deal"].id
    base = {"version": "1", "title": "华信年度采购（二期）", "amount": "800",
            "owner": seed.user("sales").id, "probability": "", "source": ""}
    assert client.post(f"/sales/deals/{deal}/edit",
                       data=dict(base, probability="120")).status_code == 422
    assert client.post(f"/sales/deals/{deal}/edit", data=base).status_code == 303
    stored = seed.run(Deal.get_by_id, deal)
    assert (stored.title, stored.amount_fen, stored.version) == ("华信年度采购（二期）", 80000, 2)
    assert client.post(f"/sales/deals/{deal}/edit", data=base).status_code == 409


def test_panel_action_and_cards(client, login, world):
    login("sales")
    customer = world["own"].id
    page = client.get(f"/customers/{customer}").data
    assert b"/customers/%d/panels/sales_deals" % customer in page
    assert b"/sales/customers/%d/deals/new" % customer in page
    panel = client.get(f"/customers/{customer}/panels/sales_deals",
                       headers=htmx("panel-sales_deals"))
    assert panel.status_code == 200 and b"<html" not in panel.data
    assert "华信年度采购".encode() in panel.data and b"could not be loaded" not in panel.data
    for card in ("sales_forecast", "sales_pipeline"):
        response = client.get(f"/dashboard/cards/{card}", headers=htmx(f"card-{card}"))
        assert response.status_code == 200 and b"could not be loaded" not in response.data
        assert client.get(f"/dashboard/cards/{card}").status_code == 200


def test_stage_settings(client, login, world, seed):
    login("admin")
    page = client.get("/sales/settings/stages")
    assert page.status_code == 200 and "回款完成".encode() in page.data
    bad = client.post("/sales/settings/stages", data={"name": "", "position": "x",
                                                     "probability": "150", "kind": "open",
                                                     "stuck_days": "7"})
    assert bad.status_code == 422 and b"Required." in bad.data and b"From 0 to 100." in bad.data
    added = client.post("/sales/settings/stages",
                        data={"name": "商务谈判", "position": "35", "probability": "60",
                              "kind": "open", "rules": ["amount", "products"],
                              "stuck_days": "10", "active": "y"})
    assert added.status_code == 303
    stage = seed.run(Stage.get, Stage.name == "商务谈判")
    assert stage.rule_list == ["amount", "products"] and stage.active
    lost = seed.run(Stage.get, Stage.name == "输单")
    prefix = f"s{lost.id}-"
    edited = client.post(f"/sales/settings/stages/{lost.id}",
                         data={prefix + "name": "丢单", prefix + "position": "70",
                               prefix + "probability": "0", prefix + "kind": "lost",
                               prefix + "stuck_days": "0"})
    assert edited.status_code == 303
    lost = seed.run(Stage.get_by_id, lost.id)
    assert (lost.name, lost.rule_list, lost.active) == ("丢单", ["reason"], False)
    assert client.post(f"/sales/settings/stages/{lost.id}", data={}).status_code == 422
    assert client.post("/sales/settings/stages/99999", data={}).status_code == 404
    board = client.get("/sales/board").data
    assert "商务谈判".encode() in board and "丢单".encode() not in board
