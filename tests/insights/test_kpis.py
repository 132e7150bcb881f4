"""Each KPI on a small hand-made data set; the expected value is worked out by hand here.

The period is June 2026 in Shanghai up to NOW (12:00 on 15 June; "this month"), or May 2026
("last month"): May starts 2026-04-30 16:00 UTC and ends 2026-05-31 16:00 UTC.
"""
from __future__ import annotations

import pytest

from crm.db import database
from plugins.insights import kpis, segments
from tests.insights.conftest import NOW

TZ = "Asia/Shanghai"


def figure(facts, key, username="admin", period="month", previous=False):
    user = facts.seed.user(username)

    def run():
        p = kpis.period(period, TZ, NOW, previous=previous)
        return kpis.compute(kpis.BY_KEY[key], user, p, segments.settings())
    return facts.run(run)


def test_periods_are_months_of_the_business_time_zone():
    import datetime as dt
    p = kpis.period("month", TZ, NOW)
    assert (p.start, p.end, p.until) == (dt.datetime(2026, 5, 31, 16), dt.datetime(2026, 6, 30, 16),
                                         NOW)
    before = kpis.period("month", TZ, NOW, previous=True)
    assert (before.start, before.end) == (dt.datetime(2026, 4, 30, 16),
                                          dt.datetime(2026, 5, 31, 16))
    q = kpis.period("quarter", TZ, NOW)
    assert (q.first_day, q.last_day) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    year = kpis.period("12m", TZ, NOW, previous=True)
    assert (year.first_day, year.last_day) == (dt.date(2024, 7, 1), dt.date(2025, 6, 30))
    last = kpis.period("last_month", TZ, NOW)
    assert last.until == last.end and round(last.months, 4) == round(31 / (365.25 / 12), 4)


def test_repurchase_rate_over_the_scope(facts):
    c1, c2, c3, c4 = (facts.customer(n) for n in ("c1", "c2", "c3", "c4"))
    c6 = facts.customer("c6", owner="sales2")
    facts.purchase(c1, "2026-06-02", 100)
    facts.purchase(c1, "2026-06-10", 100)                     # c1: 2 in June
    facts.purchase(c2, "2026-06-05", 100)                     # c2: 1
    facts.purchase(c3, "2026-06-03", 100)
    facts.purchase(c3, "2026-06-04", 100, status="refunded")
    facts.purchase(c3, "2026-06-06", 100)                     # c3: 2 completed
    facts.purchase(c4, "2026-05-10", 100)
    facts.purchase(c4, "2026-06-08", 100)                     # c4: 1 in June, 1 in May
    facts.purchase(c6, "2026-06-01", 100)
    facts.purchase(c6, "2026-06-02", 100)                     # c6 (sales2): 2
    facts.purchase(c2, "2026-06-20", 100)                     # after NOW: not yet
    admin = figure(facts, "repurchase_rate")
    assert admin.value == pytest.approx(100 * 3 / 5)          # c1, c3, c6 of 5 buyers
    sales2 = facts.seed.user("sales2").id
    assert admin.by_owner[sales2][0] == pytest.approx(100.0)
    assert figure(facts, "repurchase_rate", "sales").value == pytest.approx(100 * 2 / 4)
    assert figure(facts, "repurchase_rate", previous=True).value == pytest.approx(0.0)  # c4


def test_churn_rate(facts):
    # base window: the 180 days before 2026-05-31 16:00 (from 2025-12-02 16:00);
    # end window: the 180 days before NOW (from 2025-12-17 04:00)
    k1, k2, k3, k4, k5 = (facts.customer(f"k{i}") for i in range(1, 6))
    facts.purchase(k1, "2026-01-10", 100)          # in both windows: stays
    facts.purchase(k2, "2025-12-10", 100)          # base only: churned
    facts.purchase(k3, "2025-12-05", 100)
    facts.purchase(k3, "2026-06-05", 100)          # came back: stays
    facts.purchase(k4, "2025-11-01", 100)          # before the base window: not counted
    facts.purchase(k5, "2026-01-10", 100, status="refunded")   # refunded: not counted
    result = figure(facts, "churn_rate")
    assert (result.num, result.den) == (1, 3)
    assert result.value == pytest.approx(100 / 3)


def test_customer_lifetime_value(facts):
    v1, v2, v3, _v4 = (facts.customer(f"v{i}") for i in range(1, 5))
    facts.purchase(v1, "2025-03-01", 10000)
    facts.purchase(v1, "2026-06-01", 20000)
    facts.purchase(v2, "2026-01-01", 5000)
    facts.purchase(v2, "2026-02-01", 99999, status="refunded")
    facts.purchase(v3, "2026-06-20", 70000)        # after NOW
    result = figure(facts, "clv")
    assert result.value == pytest.approx((10000 + 20000 + 5000) / 2)      # fen
    assert kpis.display_value(kpis.BY_KEY["clv"], result.value) == pytest.approx(175.0)
    # at the end of May, v1 had 10000 and v2 5000
    assert figure(facts, "clv", previous=True).value == pytest.approx(7500)


def test_predicted_lifetime_value(facts):
    # the 12 months up to NOW (2026-06-15 04:00 UTC) start 2025-06-15 04:00
    v1, v2, v3, v4 = (facts.customer(f"v{i}") for i in range(1, 5))
    facts.purchase(v1, "2025-03-01", 10000)        # more than 12 months ago: not counted
    facts.purchase(v1, "2026-06-01", 20000)
    facts.purchase(v2, "2025-07-01", 5000)
    facts.purchase(v2, "2026-01-01", 7000)
    facts.purchase(v3, "2026-02-01", 99999, status="refunded")
    facts.purchase(v4, "2026-06-20", 70000)        # after NOW
    result = figure(facts, "clv_predicted")
    # (20000 + 5000 + 7000) fen ÷ 2 buying customers (v1, v2) = 16000 a year, × 3 years
    assert (result.num, result.den) == (96000, 2)
    assert result.value == pytest.approx(48000)
    assert kpis.display_value(kpis.BY_KEY["clv_predicted"], result.value) == pytest.approx(480.0)


def test_interaction_frequency(facts):
    i1, i2, _i3 = (facts.customer(f"i{i}") for i in range(1, 4))
    i4 = facts.customer("i4", created="2026-06-05")              # after May: not counted
    facts.activity(i1, "2026-05-03", times=4)
    facts.activity(i1, "2026-04-20")                             # April
    facts.activity(i2, "2026-05-20", kind="visit", times=2)
    facts.activity(i4, "2026-06-06")
    result = figure(facts, "interaction_frequency", period="last_month")
    # 6 activities / 3 customers / (31 days / 30.4375 days a month)
    assert result.value == pytest.approx(6 / 3 / (31 / (365.25 / 12)))


def test_data_completeness(facts):
    facts.customer("full", phone="13900001111", industry="零售", region="杭州")
    facts.customer("no region", phone="13900002222", industry="零售")
    facts.customer("unreachable", industry="零售", region="杭州")
    facts.customer("by mail", email="zhang@huaxin.cn", industry="零售", region="杭州")
    facts.customer("later", phone="13900003333", industry="零售", region="杭州",
                   created="2026-06-20")                        # after NOW: not counted
    result = figure(facts, "completeness")
    assert (result.num, result.den) == (2, 4) and result.value == pytest.approx(50.0)


def test_csat(facts):
    c = facts.customer("rated")
    for score in (5, 4, 3, 1):
        facts.ticket(c, "2026-06-01", type="inquiry", closed_at="2026-06-05", satisfaction=score)
    facts.ticket(c, "2026-06-01", closed_at="2026-06-05")                     # not rated
    facts.ticket(c, "2026-05-01", closed_at="2026-05-05", satisfaction=5)     # May
    assert figure(facts, "csat").value == pytest.approx(100 * 2 / 4)
    assert figure(facts, "csat", previous=True).value == pytest.approx(100.0)


def test_win_rate(facts):
    c = facts.customer("buyer")
    for kind in ("won", "won", "won", "lost"):
        facts.deal(c, kind, "2026-06-03")
    facts.deal(c, "lost", "2026-05-03")                       # May
    facts.deal(c, "open", None)                               # still open
    facts.deal(c, "won", "2026-06-20")                        # after NOW
    assert figure(facts, "win_rate").value == pytest.approx(100 * 3 / 4)
    other = facts.customer("not mine", owner="sales2")
    facts.deal(other, "lost", "2026-06-04")
    assert figure(facts, "win_rate", "sales").value == pytest.approx(75.0)
    assert figure(facts, "win_rate").value == pytest.approx(100 * 3 / 5)


def test_complaint_resolution_time_and_sla(facts):
    c = facts.customer("complainer")
    facts.ticket(c, "2026-06-01 00:00", resolved_at="2026-06-01 10:00",
                 resolve_due="2026-06-02 00:00")                      # 10 h, on time
    facts.ticket(c, "2026-06-02 00:00", resolved_at="2026-06-03 06:00",
                 resolve_due="2026-06-03 00:00")                      # 30 h, late
    facts.ticket(c, "2026-06-02 00:00", type="inquiry", resolved_at="2026-06-02 01:00",
                 resolve_due="2026-06-02 08:00")                      # not a complaint; on time
    facts.ticket(c, "2026-05-01 00:00", resolved_at="2026-05-03 00:00",
                 resolve_due="2026-05-02 00:00")                      # May
    assert figure(facts, "complaint_resolution_hours").value == pytest.approx((10 + 30) / 2)
    assert figure(facts, "sla_compliance").value == pytest.approx(100 * 2 / 3)
    assert figure(facts, "sla_compliance", previous=True).value == pytest.approx(0.0)


def test_each_kpi_is_one_query(facts, app):
    facts.customer("someone")
    admin = facts.seed.user("admin")
    with app.app_context():
        database.connect(reuse_if_open=True)
        statements = []
        hook = lambda event: statements.append(event.sql)  # noqa: E731
        database.obj.query_hooks.append(hook)
        try:
            p = kpis.period("month", TZ, NOW)
            rules = segments.settings()
            present = kpis.tables()
            for kpi in kpis.KPIS:
                statements.clear()
                kpis.compute(kpi, admin, p, rules, present=present)
                assert len(statements) == 1, (kpi.key, statements)
        finally:
            database.obj.query_hooks.remove(hook)
            database.close()


def test_no_data_gives_no_value_and_change_and_progress():
    kpi = kpis.BY_KEY["churn_rate"]
    assert kpi.value(0, 0, kpis.period("month", TZ, NOW)) is None
    assert kpis.change(kpi, 10.0, 15.0) == {"delta": -5.0, "relative": False, "good": True}
    clv = kpis.BY_KEY["clv"]
    assert kpis.change(clv, 150.0, 100.0) == {"delta": 50.0, "relative": True, "good": True}
    assert kpis.progress(clv, 50.0, 200) == 25
    assert kpis.progress(kpi, 20.0, 10) == 50 and kpis.progress(kpi, 5.0, 10) == 100
