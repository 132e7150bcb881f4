"""The first-party plugins' main flows in a real browser, with JavaScript on (htmx) and off.

- Sales: a new deal from the customer page (a blank title first: 422), then the pipeline board:
  the deal moves to the next stage with the card's plain form; the stage that needs an amount
  refuses the next move with its rule's message until the amount is given.
- Service: a complaint opened on a customer gets its FK + year + month + sequence number, is
  assigned, started, noted, resolved (a complaint needs its cause) and closed with the
  resolution, the follow-up (回访) and the satisfaction; closing without the follow-up is refused.
- Needs: needs registered on a customer show the priority their score gives (>= 12 high,
  8-11 medium, < 8 low) on their page and in the customer's panel; an edit moves the label.

Every result is checked in the SQLite database too.  With JavaScript on, a marker set on
``window`` survives each interaction (htmx swapped the page: hx-boost for forms and links, a
targeted partial for the board filter, the ticket note and the customer panel), and the
requests carried ``HX-Request``.  The js and nojs runs share one server: titles are unique.

The browser's own validation (the ``required`` attribute WTForms renders) stops an empty
required field before it is sent; a blank of spaces passes it, and only the server refuses it.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

PRIORITY_LABELS = {"high": "高", "medium": "中", "low": "低"}     # zh_CN, as the page shows them
VALUE_FROM_CLASS = {"A": 5, "B": 4, "C": 3, "D": 2}                 # plugins/needs/services.py


def _set_marker(page):
    page.evaluate("window.__marker = 1")


def _assert_no_full_load(page):
    assert page.evaluate("window.__marker") == 1, "the page was fully reloaded: htmx did not swap"


def _is_htmx(request) -> bool:
    return request.headers.get("hx-request") == "true"


def _post_to(path: str):
    """A predicate for page.expect_response: the POST to ``path``."""
    return lambda r: r.request.method == "POST" and urlsplit(r.url).path == path


def _refused(page, js: bool, path: str, click: str):
    """Click ``click``; the POST to ``path`` must answer 422 (the form with its errors), and with
    JavaScript through htmx, swapped in place."""
    with page.expect_response(_post_to(path)) as info:
        page.click(click)
    assert info.value.status == 422, f"{path}: {info.value.status}"
    if js:
        assert _is_htmx(info.value.request), f"{path} was not posted by htmx"
        _assert_no_full_load(page)
    return info.value


def _user_id(instance, username: str) -> int:
    return instance.query("SELECT id FROM user_account WHERE username = ?", (username,))[0][0]


def _unique(prefix: str, js: bool) -> str:
    return f"{prefix} {'js' if js else 'nojs'} {secrets.token_hex(3)}"


# -- sales --------------------------------------------------------------------------------------

def _board_card(page, stage_id: int, title: str):
    return page.locator(f"#board section[aria-labelledby='h-stage-{stage_id}'] li.sales-deal",
                        has_text=title)


def test_sales_new_deal_then_moved_on_the_board(page, js, instance, demo):
    title = _unique("端到端商机", js)
    stages = instance.query("SELECT id, name, kind, rules FROM sales_stage WHERE active = 1 "
                            "ORDER BY position, id")
    (first, _n1, _k1, rules1), (second, _n2, _k2, rules2), (quote, quote_name, _k3, rules3) = \
        stages[:3]
    # the default pipeline: two stages without rules, then one that needs an amount
    assert not rules1 and not rules2 and "amount" in rules3.split(","), stages
    admin = _user_id(instance, "admin")
    count = "SELECT COUNT(*) FROM sales_deal WHERE customer_id = ?"
    deals_before = instance.query(count, (demo.customer_id,))[0][0]

    sign_in(page, "admin")
    page.goto(f"/customers/{demo.customer_id}")
    new_url = f"/sales/customers/{demo.customer_id}/deals/new"
    if js:
        _set_marker(page)
    page.click(f"main .actions a[href='{new_url}']")
    page.wait_for_url(re.compile(re.escape(new_url) + r"$"))
    expect(page.locator("#deal-form #stage")).to_have_value(str(first))

    # A title of spaces: refused by the server (422), nothing stored.
    page.fill("#deal-form #title", "   ")
    _refused(page, js, new_url, "#deal-form button[type=submit]")
    expect(page.locator("#deal-form #title-err")).to_be_visible()
    expect(page.locator("#deal-form #title")).to_have_attribute("aria-invalid", "true")
    assert instance.query(count, (demo.customer_id,))[0][0] == deals_before

    # Valid, without an amount: created in the first stage, owned by its creator.
    page.fill("#deal-form #title", title)
    page.click("#deal-form button[type=submit]")
    page.wait_for_url(re.compile(r"/sales/deals/\d+$"))
    expect(page.locator("main h1")).to_have_text(title)
    expect(page.locator(".flash.success")).to_be_visible()
    rows = instance.query("SELECT id, customer_id, stage_id, amount_fen, owner_id FROM sales_deal "
                          "WHERE title = ?", (title,))
    assert len(rows) == 1, rows
    deal_id = rows[0][0]
    assert rows[0][1:] == (demo.customer_id, first, 0, admin), rows
    assert urlsplit(page.url).path == f"/sales/deals/{deal_id}"
    if js:
        _assert_no_full_load(page)

    # The board, filtered to my deals (with htmx: the #board partial, swapped in place).
    page.click("header.top nav a[href='/sales/board']")
    page.wait_for_url(re.compile(r"/sales/board$"))
    if js:
        _assert_no_full_load(page)
        with page.expect_response(lambda r: urlsplit(r.url).path == "/sales/board"
                                  and "owner=me" in r.url) as info:
            page.select_option("#board-owner", "me")
        assert _is_htmx(info.value.request) and info.value.status == 200
        assert info.value.text().lstrip().startswith('<div id="board"'), "expected the partial"
        _assert_no_full_load(page)
    else:
        page.select_option("#board-owner", "me")
        page.click("main form[action='/sales/board'] button[type=submit]")
    page.wait_for_url(re.compile(r"/sales/board\?owner=me$"))
    card = _board_card(page, first, title)
    expect(card).to_have_count(1)

    # The card's form preselects the next stage: one click on "Move".
    expect(card.locator("select[name=stage]")).to_have_value(str(second))
    card.locator("button[type=submit]").click()
    expect(_board_card(page, second, title)).to_have_count(1)
    expect(_board_card(page, first, title)).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/sales/board\?owner=me$"))
    assert instance.query("SELECT stage_id FROM sales_deal WHERE id = ?", (deal_id,)) == \
        [(second,)]
    if js:
        _assert_no_full_load(page)

    # The next stage needs an amount, which the deal lacks: the move is refused with the rule.
    card = _board_card(page, second, title)
    expect(card.locator("select[name=stage]")).to_have_value(str(quote))
    with page.expect_response(_post_to(f"/sales/deals/{deal_id}/move")) as info:
        card.locator("button[type=submit]").click()
    assert info.value.status == 422
    error = page.locator("#move #move-stage-err")
    expect(error).to_be_visible()
    expect(error).to_contain_text(quote_name)
    expect(error).to_contain_text("金额")
    assert instance.query("SELECT stage_id FROM sales_deal WHERE id = ?", (deal_id,)) == \
        [(second,)]
    if js:
        assert _is_htmx(info.value.request)
        _assert_no_full_load(page)

    # Given the amount in the same step, it moves.
    expect(page.locator("#move select[name=stage]")).to_have_value(str(quote))
    page.fill("#move input[name=amount]", "12800")
    page.click("#move button[type=submit]")
    page.wait_for_url(re.compile(rf"/sales/deals/{deal_id}$"))
    expect(page.locator("main .head .tag")).to_have_text(quote_name)
    expect(page.locator(".flash.success")).to_contain_text(title)
    assert instance.query("SELECT stage_id, amount_fen FROM sales_deal WHERE id = ?",
                          (deal_id,)) == [(quote, 1_280_000)]
    history = instance.query("SELECT stage_id, left_at IS NULL FROM sales_stage_history "
                             "WHERE deal_id = ? ORDER BY id", (deal_id,))
    assert history == [(first, 0), (second, 0), (quote, 1)], history
    if js:
        _assert_no_full_load(page)


# -- service ------------------------------------------------------------------------------------

def _wait_version(page, version: int):
    """Each workflow step bumps the ticket's version: the new page carries it."""
    expect(page.locator("#workflow input[name=version]").first).to_have_value(str(version))


def test_service_complaint_from_opening_to_closing(page, js, instance, demo):
    subject = _unique("端到端投诉", js)
    handler = _user_id(instance, "service")
    before = dt.datetime.now(ZoneInfo("Asia/Shanghai"))

    sign_in(page, "service")
    page.goto(f"/customers/{demo.customer_id}")
    new_url = f"/service/customers/{demo.customer_id}/tickets/new"
    if js:
        _set_marker(page)
    page.click(f"main .actions a[href='{new_url}']")
    page.wait_for_url(re.compile(re.escape(new_url) + r"$"))
    expect(page.locator("#new-ticket #type")).to_have_value("complaint")
    page.select_option("#new-ticket #priority", "high")
    page.select_option("#new-ticket #channel", "wechat")
    page.fill("#new-ticket #subject", subject)
    page.fill("#new-ticket #content", "收到的货物外包装破损，要求换货。")
    page.click("#new-ticket button[type=submit]")
    page.wait_for_url(re.compile(r"/service/tickets/\d+$"))
    expect(page.locator("main h1")).to_have_text(subject)
    after = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    if js:
        _assert_no_full_load(page)

    rows = instance.query("SELECT id, number, customer_id, type, priority, channel, status, "
                          "assignee_id FROM service_ticket WHERE subject = ?", (subject,))
    assert len(rows) == 1, rows
    ticket_id, number = rows[0][:2]
    assert rows[0][2:] == (demo.customer_id, "complaint", "high", "wechat", "new", None), rows
    assert urlsplit(page.url).path == f"/service/tickets/{ticket_id}"
    # FK + year + month (the business time zone's) + the month's sequence
    match = re.fullmatch(r"FK(\d{4})(\d{2})(\d{4})", number)
    assert match, number
    year, month, seq = (int(g) for g in match.groups())
    assert (year, month) in {(before.year, before.month), (after.year, after.month)}, number
    assert instance.query("SELECT value FROM service_ticket_sequence WHERE period = ?",
                          (f"{year:04d}{month:02d}",)) == [(seq,)]
    expect(page.locator("main .head")).to_contain_text(number)
    expect(page.locator(".flash.success")).to_contain_text(number)
    _wait_version(page, 1)

    workflow = page.locator("#workflow")
    # assign it to the service desk's handler
    workflow.locator("details:has(form[action$='/assign']) > summary").click()
    page.select_option("#workflow form[action$='/assign'] select[name=assignee]", str(handler))
    page.click("#workflow form[action$='/assign'] button[type=submit]")
    _wait_version(page, 2)
    # start work
    page.click("#workflow form[action$='/start'] button[type=submit]")
    _wait_version(page, 3)
    assert instance.query("SELECT status, assignee_id, responded_at IS NOT NULL "
                          "FROM service_ticket WHERE id = ?", (ticket_id,)) == \
        [("in_progress", handler, 1)]
    if js:
        _assert_no_full_load(page)

    # a note: with htmx, only the history (#ticket-events) is swapped
    note = "已联系客户，安排上门取件。"
    page.fill("#ticket-events textarea[name=note]", note)
    comment_url = f"/service/tickets/{ticket_id}/comments"
    with page.expect_response(_post_to(comment_url)) as info:
        page.click("#ticket-events button[type=submit]")
    if js:
        assert _is_htmx(info.value.request) and info.value.status == 200
        body = info.value.text()
        assert "<html" not in body and body.lstrip().startswith('<div id="ticket-events"')
        _assert_no_full_load(page)
    else:
        assert info.value.status == 303
    expect(page.locator("#ticket-events .timeline li", has_text=note)).to_have_count(1)
    expect(page.locator("#ticket-events textarea[name=note]")).to_have_value("")

    # resolve: a complaint without its cause is refused
    resolve_url = f"/service/tickets/{ticket_id}/resolve"
    workflow.locator("details:has(form[action$='/resolve']) > summary").click()
    page.fill("#workflow form[action$='/resolve'] textarea[name=resolution]", "已换货。")
    _refused(page, js, resolve_url, "#workflow form[action$='/resolve'] button[type=submit]")
    expect(page.locator("#workflow #cause-err")).to_be_visible()
    expect(page.locator("#workflow #cause-err")).to_contain_text("原因")
    page.select_option("#workflow form[action$='/resolve'] select[name=cause]", "delivery")
    page.click("#workflow form[action$='/resolve'] button[type=submit]")
    _wait_version(page, 4)
    assert instance.query("SELECT status, cause, resolution FROM service_ticket WHERE id = ?",
                          (ticket_id,)) == [("resolved", "delivery", "已换货。")]

    # close: without the follow-up it is refused, with a clear message
    close_url = f"/service/tickets/{ticket_id}/close"
    close = "#workflow form[action$='/close']"
    expect(page.locator(f"{close} textarea[name=resolution]")).to_have_value("已换货。")
    page.select_option(f"{close} select[name=followup_channel]", "phone")
    page.fill(f"{close} textarea[name=followup_note]", "  ")
    page.check(f"{close} input[name=satisfaction][value='4']")
    _refused(page, js, close_url, f"{close} button[type=submit]")
    expect(page.locator("#workflow #followup_note-err")).to_contain_text("回访")
    assert instance.query("SELECT status FROM service_ticket WHERE id = ?", (ticket_id,)) == \
        [("resolved",)]
    followup = "客户确认已收到新货，表示满意。"
    page.fill(f"{close} textarea[name=followup_note]", followup)
    page.check(f"{close} input[name=satisfaction][value='4']")
    page.click(f"{close} button[type=submit]")
    _wait_version(page, 5)
    expect(page.locator("main")).to_contain_text(followup)
    expect(page.locator(f"{close}")).to_have_count(0)
    if js:
        _assert_no_full_load(page)

    stored = instance.query(
        "SELECT status, resolution, followup_channel, followup_note, followup_by_id, "
        "satisfaction, closed_at IS NOT NULL FROM service_ticket WHERE id = ?", (ticket_id,))
    assert stored == [("closed", "已换货。", "phone", followup, handler, 4, 1)], stored
    events = instance.query("SELECT kind, to_status FROM service_ticket_event WHERE ticket_id = ? "
                            "ORDER BY id", (ticket_id,))
    assert events == [("created", "new"), ("assigned", "assigned"), ("status", "in_progress"),
                      ("comment", ""), ("status", "resolved"), ("status", "closed")], events


# -- needs --------------------------------------------------------------------------------------

def _priority(score: int) -> str:
    return "high" if score >= 12 else "medium" if score >= 8 else "low"


def _assert_need_page(page, title: str, score: int):
    expect(page.locator("main h1")).to_have_text(title)
    facts = page.locator("main .head p", has_text="得分")
    expect(facts).to_contain_text(f"得分 {score} ")
    expect(facts.locator("strong").first).to_have_text(PRIORITY_LABELS[_priority(score)])


def _fill_scores(page, urgency: int, importance: int, value: int):
    page.fill("#need-form #urgency", str(urgency))
    page.fill("#need-form #importance", str(importance))
    page.fill("#need-form #customer_value", str(value))


def test_needs_priority_label_follows_the_score(page, js, instance):
    # a customer of sales1 (the one with the fewest needs), registered by sales1
    customer_id, value_class = instance.query(
        "SELECT c.id, c.value_class FROM customer c JOIN user_account u ON u.id = c.owner_id "
        "LEFT JOIN needs_need n ON n.customer_id = c.id WHERE u.username = 'sales1' "
        "AND c.deleted_at IS NULL GROUP BY c.id ORDER BY COUNT(n.id), c.id LIMIT 1")[0]
    tag = f"{'js' if js else 'nojs'}-{secrets.token_hex(3)}"
    sign_in(page, "sales1")
    page.goto(f"/customers/{customer_id}")
    new_url = f"/needs/customers/{customer_id}/new"
    if js:
        _set_marker(page)
    page.click(f"main .actions a[href='{new_url}']")
    page.wait_for_url(re.compile(re.escape(new_url) + r"$"))
    expect(page.locator("#need-form #urgency")).to_have_value("3")
    expect(page.locator("#need-form #customer_value")).to_have_value(
        str(VALUE_FROM_CLASS.get(value_class, 3)))              # from the customer's value class

    # An implicit need without its evidence: refused, nothing stored.
    high = f"缺少上门安装服务 {tag}"
    page.check("#need-form input[name=kind][value=implicit]")
    page.select_option("#need-form #type", "service")
    page.fill("#need-form #title", high)
    page.fill("#need-form #statement", "多次询问能否上门安装。")
    _fill_scores(page, 5, 4, 3)
    _refused(page, js, new_url, "#need-form button[type=submit]")
    expect(page.locator("#need-form #evidence-err")).to_be_visible()
    assert not instance.query("SELECT id FROM needs_need WHERE title = ?", (high,))
    page.fill("#need-form #evidence", "最近三次购买后都致电询问安装。")
    page.click("#need-form button[type=submit]")
    page.wait_for_url(re.compile(r"/needs/\d+$"))
    _assert_need_page(page, high, 12)
    if js:
        _assert_no_full_load(page)

    # Two more, on the bands' edges: 11 is medium, 7 is low.
    medium, low = f"希望账期延长 {tag}", f"包装更环保 {tag}"
    for title, scores in ((medium, (4, 4, 3)), (low, (3, 2, 2))):
        page.goto(new_url)
        page.fill("#need-form #title", title)
        page.fill("#need-form #statement", "客户原话。")
        _fill_scores(page, *scores)
        page.click("#need-form button[type=submit]")
        page.wait_for_url(re.compile(r"/needs/\d+$"))
        _assert_need_page(page, title, sum(scores))

    stored = {title: rest for title, *rest in instance.query(
        "SELECT title, urgency, importance, customer_value, score, kind, status, type "
        "FROM needs_need WHERE customer_id = ? AND title LIKE ?", (customer_id, f"% {tag}"))}
    assert stored == {high: [5, 4, 3, 12, "implicit", "to_confirm", "service"],
                      medium: [4, 4, 3, 11, "explicit", "analysing", "function"],
                      low: [3, 2, 2, 7, "explicit", "analysing", "function"]}, stored

    # The customer's panel lists them with the same labels (htmx loads it; without
    # JavaScript its "Show" link opens it).
    page.goto(f"/customers/{customer_id}")
    panel = page.locator("main #panel-needs_register")
    if js:
        expect(page.locator("main section.panel#panel-needs_register[hx-get]")).to_have_count(0)
    else:
        panel.locator(f"a[href='/customers/{customer_id}/panels/needs_register']").click()
        page.wait_for_url(re.compile(r"/panels/needs_register$"))
    for title, score in ((high, 12), (medium, 11), (low, 7)):
        expect(panel.locator("li", has_text=title).locator(".tag")).to_have_text(
            f"{PRIORITY_LABELS[_priority(score)]} {score}")

    # An edit moves the label: the low one raised to 8 is medium.
    need_id = instance.query("SELECT id FROM needs_need WHERE title = ?", (low,))[0][0]
    page.goto(f"/needs/{need_id}")
    if js:
        _set_marker(page)
    page.click("#h-need-edit")
    page.fill("#need-form #urgency", "4")
    page.click("#need-form button[type=submit]")
    expect(page.locator("main .head p", has_text="得分")).to_contain_text("得分 8 ")
    _assert_need_page(page, low, 8)
    assert instance.query("SELECT score, version FROM needs_need WHERE id = ?", (need_id,)) == \
        [(8, 2)]
    if js:
        _assert_no_full_load(page)
