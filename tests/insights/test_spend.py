"""The marketing spend page (/insights/spend): who may use it, adding, changing and deleting an
entry with and without htmx, the 422s of bad input, duplicates and stale edits; and the KPI
page's acquisition cost, funnel and breakdown selector, and the segments' line chart."""
from __future__ import annotations

import datetime as dt
import re

from crm.audit.models import AuditLog
from crm.db import utcnow
from plugins.insights import segments
from plugins.insights.forms import AMOUNT_ERROR
from plugins.insights.models import MarketingSpend
from tests.conftest import htmx
from tests.insights.conftest import NOW

GOOD = {"channel": "website", "month": "2026-05", "amount": "12345.50", "note": "百度推广"}


def entries(facts):
    return facts.run(lambda: [(e.channel, e.month, e.amount_fen, e.note, e.version)
                              for e in MarketingSpend.select().order_by(MarketingSpend.id)])


def test_who_may_enter_spend(facts, client, login):
    for n, (username, status) in enumerate((('admin', 200), ('manager', 200), ('sales', 403),
                                            ('service', 403), ('clerk', 403))):
        login(username)
        assert client.get("/insights/spend").status_code == status, username
        posted = client.post("/insights/spend", data=dict(GOOD, month=f"2026-0{n + 1}"))
        assert posted.status_code == (303 if status == 200 else 403), username
        client.post("/logout")
    assert [e[1].month for e in entries(facts)] == [1, 2]      # the administrator's, the manager's


def test_add_without_javascript(facts, client, login):
    login("manager")
    response = client.post("/insights/spend", data=GOOD)
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/insights/spend")
    assert entries(facts) == [("website", dt.date(2026, 5, 1), 1234550, "百度推广", 1)]
    page = client.get("/insights/spend").get_data(as_text=True)
    assert "¥12,345.50" in page and "百度推广" in page and "Website" in page
    assert "Marketing spend saved." in page
    audit = facts.run(lambda: [(a.action, a.field, a.new) for a in AuditLog.select().where(
        AuditLog.entity == "insights_spend")])
    assert ("create", "amount_fen", "1234550") in audit


def test_bad_input_is_a_422_with_a_clear_message(facts, client, login):
    login("admin")
    for field, value, message in (
            ("amount", "12.345", AMOUNT_ERROR), ("amount", "abc", AMOUNT_ERROR),
            ("amount", "-1", AMOUNT_ERROR), ("amount", "NaN", AMOUNT_ERROR),
            ("amount", "", "Required."),
            ("month", "2026-13", "Enter a month as YYYY-MM"),
            ("month", "May", "Enter a month as YYYY-MM"),
            ("channel", "television", "Not a valid choice")):
        response = client.post("/insights/spend", data=dict(GOOD, **{field: value}))
        text = response.get_data(as_text=True)
        assert response.status_code == 422, (field, value)
        assert str(message)[:20] in text, (field, value)
    assert entries(facts) == []
    # "2026-05-01" is May too
    assert client.post("/insights/spend", data=dict(GOOD, month="2026-05-01")).status_code == 303
    duplicate = client.post("/insights/spend", data=dict(GOOD, amount="1"))
    assert duplicate.status_code == 422
    assert "There is already an entry for this channel and month" in duplicate.get_data(
        as_text=True)
    assert [e[2] for e in entries(facts)] == [1234550]


def test_with_htmx(facts, client, login):
    login("admin")
    bad = client.post("/insights/spend", data=dict(GOOD, amount="x"), headers=htmx("spend-form"))
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and body.lstrip().startswith('<form id="spend-form"')
    assert "<html" not in body and str(AMOUNT_ERROR) in body
    good = client.post("/insights/spend", data=GOOD, headers=htmx("spend-form"))
    assert good.status_code == 204 and "/insights/spend" in good.headers["HX-Location"]
    (entry_id,) = facts.run(lambda: [e.id for e in MarketingSpend.select()])
    form = client.get(f"/insights/spend?edit={entry_id}", headers=htmx("spend-form"))
    text = form.get_data(as_text=True)
    assert form.status_code == 200 and text.lstrip().startswith('<form id="spend-form"')
    assert 'value="12345.50"' in text and 'value="2026-05"' in text
    listing = client.get("/insights/spend?page=1", headers=htmx("spend-list"))
    assert listing.get_data(as_text=True).lstrip().startswith('<div id="spend-list"')
    assert "HX-Request" in listing.headers["Vary"]


def test_edit_and_stale_edit_and_delete(facts, client, login):
    login("admin")
    client.post("/insights/spend", data=GOOD)
    (entry_id,) = facts.run(lambda: [e.id for e in MarketingSpend.select()])
    page = client.get(f"/insights/spend?edit={entry_id}")
    assert page.status_code == 200 and 'value="12345.50"' in page.get_data(as_text=True)
    assert client.get("/insights/spend?edit=99999").status_code == 404
    changed = client.post("/insights/spend", data=dict(GOOD, id=entry_id, version=1,
                                                        amount="20000", month="2026-06"))
    assert changed.status_code == 303
    assert entries(facts) == [("website", dt.date(2026, 6, 1), 2000000, "百度推广", 2)]
    stale = client.post("/insights/spend", data=dict(GOOD, id=entry_id, version=1, amount="1"))
    assert stale.status_code == 409 and "Somebody changed or deleted this entry" in \
        stale.get_data(as_text=True)
    assert entries(facts)[0][2] == 2000000
    assert client.post("/insights/spend/delete", data={"id": entry_id, "version": 1}
                       ).status_code == 303                     # stale: nothing deleted
    assert len(entries(facts)) == 1
    assert client.post("/insights/spend/delete", data={"id": entry_id, "version": 2}
                       ).status_code == 303
    assert entries(facts) == []
    assert client.post("/insights/spend/delete", data={"id": "x"}).status_code == 404  # no such entry
    client.post("/logout")
    login("sales")
    assert client.post("/insights/spend/delete", data={"id": 1, "version": 1}
                       ).status_code == 403


def test_kpi_page_acquisition_cost_funnel_and_breakdowns(facts, client, login):
    c = facts.customer("网站客户 W", created="2026-06-02")
    facts.set(c, source="website")
    facts.spend("website", dt.date.today().replace(day=1).isoformat(), 100000)
    login("admin")
    text = client.get("/insights").get_data(as_text=True)
    assert 'id="kpi-cac"' in text and "Customer acquisition cost" in text
    assert 'id="kpi-lead_conversion"' in text and 'id="lead-funnel"' in text
    assert "Deal opened" in text and "By channel" in text and 'name="by"' in text
    assert "/insights/spend" in text
    for by, label in (("department", "By department"), ("segment", "By segment")):
        part = client.get(f"/insights?by={by}", headers=htmx("kpis"))
        body = part.get_data(as_text=True)
        assert part.status_code == 200 and body.lstrip().startswith('<div id="kpis"')
        # through htmx the cards not computed yet come each by a request of their own
        cards = re.findall(r'hx-get="(/insights/kpi\?[^"]+)"', body)
        assert cards and all(f"by={by}" in url for url in cards), body
        filled = [client.get(url.replace("&amp;", "&"), headers=htmx()).get_data(as_text=True)
                  for url in cards]
        assert all(card.lstrip().startswith('<section class="card" id="kpi-')
                   for card in filled)
        assert any(label in card for card in filled), by
    assert client.get("/insights?by=nonsense").status_code == 200
    client.post("/logout")
    login("sales")
    text = client.get("/insights").get_data(as_text=True)
    assert 'id="kpi-cac"' not in text and 'id="kpi-lead_conversion"' in text
    assert "/insights/spend" not in text


def test_segment_sizes_over_time_as_a_line_chart(facts, client, login):
    mine = facts.customer("沉睡 MINE")
    facts.purchase(mine, "2025-01-10", 100)
    today = utcnow().date()             # the page shows the 90 days before the real today
    facts.run(segments.refresh, NOW, today - dt.timedelta(days=1))
    facts.run(segments.refresh, NOW, today)
    login("admin")
    text = client.get("/insights/segments").get_data(as_text=True)
    assert "Segment sizes over time" in text and "<polyline" in text
    assert (today - dt.timedelta(days=1)).isoformat() in text


def test_a_spend_change_shows_at_once_despite_the_cache(facts, client, login):
    now = utcnow()
    newcomer = facts.customer("新客户 NEW", created=(now - dt.timedelta(minutes=5)).isoformat(
        sep=" ", timespec="seconds"))
    facts.set(newcomer, source="website")
    login("admin")
    assert "¥800.00" not in client.get("/insights").get_data(as_text=True)   # now cached
    month = (now + dt.timedelta(hours=8)).strftime("%Y-%m")                  # Shanghai's month
    assert client.post("/insights/spend", data=dict(GOOD, month=month, amount="800")
                       ).status_code == 303
    # 800 yuan for one new customer from the website
    assert "¥800.00" in client.get("/insights").get_data(as_text=True)


def test_settled_periods_are_kept_longer_in_the_cache(facts, client, login, app):
    import time
    facts.customer("someone")
    login("admin")
    client.get("/insights")                  # this month and the previous one
    cache = app.extensions["insights.cache"]
    later = time.monotonic() + 3600
    entries_of = {}
    for key, (expires, _result) in cache.items():
        entries_of.setdefault(key[0], []).append(expires > later)
    # the previous month is over: kept for hours; this month: five minutes
    assert sorted(entries_of["repurchase_rate"]) == [False, True]
    # the previous month's new customers may still convert (90 days): five minutes too
    assert entries_of["lead_conversion"] == [False, False]
