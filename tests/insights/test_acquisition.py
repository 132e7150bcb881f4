"""The customer acquisition cost, the lead conversion rate and its funnel, and the breakdowns
by department and by segment, each on a small hand-made data set whose expected values are
worked out by hand in the comments.

"This month" is June 2026 in Shanghai up to NOW (2026-06-15 04:00 UTC): from 2026-05-31 16:00
UTC.  "Last month" (the previous period) is May: 2026-04-30 16:00 to 2026-05-31 16:00 UTC.
"""
from __future__ import annotations

import pytest

from crm.db import database
from plugins.insights import kpis, segments
from plugins.insights.models import Setting
from tests.insights.conftest import NOW

TZ = "Asia/Shanghai"


def figure(facts, key, username="admin", period="month", previous=False, by="owner"):
    user = facts.seed.user(username)

    def run():
        p = kpis.period(period, TZ, NOW, previous=previous)
        return kpis.compute(kpis.BY_KEY[key], user, p, segments.settings(), by)
    return facts.run(run)


# -- customer acquisition cost -------------------------------------------------------------------

def acquisition_world(facts):
    w1 = facts.customer("w1", created="2026-06-02")
    w2 = facts.customer("w2", created="2026-06-05")
    w3 = facts.customer("w3", created="2026-05-31 17:00")   # 01:00 on 1 June in Shanghai
    w4 = facts.customer("w4", created="2026-05-20")          # May
    w5 = facts.customer("w5", created="2026-06-06", deleted=True)   # in the trash
    r1 = facts.customer("r1", created="2026-06-03", owner="sales2")
    r2 = facts.customer("r2", created="2026-06-20")          # after NOW
    x = facts.customer("x", created="2026-06-04")            # walk-in: no spend entered
    for cid in (w1, w2, w3, w4, w5):
        facts.set(cid, source="website")
    for cid in (r1, r2):
        facts.set(cid, source="referral")
    facts.set(x, source="walk_in")
    facts.spend("website", "2026-06-01", 300000)
    facts.spend("referral", "2026-06-01", 100000)
    facts.spend("exhibition", "2026-06-01", 50000)           # spend, but nobody came
    facts.spend("website", "2026-05-01", 999999)             # May
    facts.spend("wechat", "2026-07-01", 777)                 # July: after every period here


def test_customer_acquisition_cost_per_channel_and_in_total(facts):
    acquisition_world(facts)
    result = figure(facts, "cac")
    assert result.by == "channel"
    # website: 3000 yuan for w1, w2, w3 (w4 is May's, w5 is deleted)
    assert result.groups["website"] == (pytest.approx(100000.0), 300000.0, 3.0)
    # referral: 1000 yuan for r1 (r2 comes after NOW)
    assert result.groups["referral"] == (pytest.approx(100000.0), 100000.0, 1.0)
    # exhibition: spend without new customers: no value, but its spend is in the total
    assert result.groups["exhibition"] == (None, 50000.0, 0.0)
    assert "walk_in" not in result.groups and "wechat" not in result.groups
    # total: (3000 + 1000 + 500) yuan / (3 + 1 + 0) customers = 1125 yuan
    assert (result.num, result.den) == (450000, 4)
    assert result.value == pytest.approx(112500.0)
    assert kpis.display_value(kpis.BY_KEY["cac"], result.value) == pytest.approx(1125.0)
    # May: 9999.99 yuan for w4
    assert figure(facts, "cac", previous=True).value == pytest.approx(999999.0)
    # 12 months (July 2025 to June 2026): (1299999 + 100000 + 50000) fen / (4 + 1) customers
    assert figure(facts, "cac", period="12m").value == pytest.approx(1449999 / 5)


def test_acquisition_cost_is_only_for_those_who_see_every_customer(facts):
    acquisition_world(facts)
    offered = facts.run(lambda: {u: {k.key for k in kpis.available(user=facts.seed.user(u))}
                                 for u in ("admin", "service", "manager", "sales")})
    assert "cac" in offered["admin"] and "cac" in offered["service"]
    assert "cac" not in offered["manager"] and "cac" not in offered["sales"]
    # the service role sees every customer: the same figure as the administrator
    assert figure(facts, "cac", "service").value == pytest.approx(112500.0)


def test_acquisition_cost_without_spend_has_no_value(facts):
    facts.set(facts.customer("w", created="2026-06-02"), source="website")
    result = figure(facts, "cac")
    assert result.value is None and result.groups == {}


# -- lead conversion and the funnel ---------------------------------------------------------------

def lead_world(facts):
    c = {}
    c["a"] = facts.customer("a", created="2026-06-01")
    facts.purchase(c["a"], "2026-06-05", 100)                # bought after 4 days: converted
    facts.purchase(c["a"], "2026-06-06", 100)
    c["b"] = facts.customer("b", created="2026-06-02")
    facts.purchase(c["b"], "2026-06-03", 100, status="refunded")   # refunded: not converted
    c["c"] = facts.customer("c", created="2026-06-03")
    facts.deal(c["c"], "won", "2026-06-10", created="2026-06-04")  # won a deal: converted
    c["d"] = facts.customer("d", created="2026-06-04")
    facts.activity(c["d"], "2026-06-05")                     # contacted
    facts.deal(c["d"], "lost", "2026-06-06", created="2026-06-04")  # a deal, lost
    c["e"] = facts.customer("e", created="2026-06-05")
    facts.activity(c["e"], "2026-06-06", kind="note")        # a note is no contact
    c["f"] = facts.customer("f", created="2026-06-06")
    facts.activity(c["f"], "2026-06-07", kind="wechat")      # contacted
    facts.purchase(c["f"], "2026-06-20", 100)                # after NOW: not yet
    c["g"] = facts.customer("g", created="2026-06-07", owner="sales2")
    facts.purchase(c["g"], "2026-06-08", 100)                # converted after 1 day
    c["h"] = facts.customer("h", created="2026-05-20")       # May's cohort
    facts.purchase(c["h"], "2026-06-01", 100)
    c["i"] = facts.customer("i", created="2026-06-01")
    facts.purchase(c["i"], "2026-05-25", 100)                # bought before it was created
    return c


def test_lead_conversion_rate(facts):
    lead_world(facts)
    # June's cohort: a b c d e f g i (8); converted: a (purchase), c (won deal), g (purchase)
    result = figure(facts, "lead_conversion")
    assert (result.num, result.den) == (3, 8)
    assert result.value == pytest.approx(100 * 3 / 8)
    # a rep: everything but g (sales2's): a and c of 7
    assert figure(facts, "lead_conversion", "sales").value == pytest.approx(100 * 2 / 7)
    # May's cohort: h, who bought 12 days after creation
    assert figure(facts, "lead_conversion", previous=True).value == pytest.approx(100.0)


def test_lead_conversion_window_is_a_setting(facts):
    lead_world(facts)
    facts.run(segments.save_settings, dict(segments.settings(), lead_conversion_days=3))
    assert facts.run(lambda: Setting.get_by_id("lead_conversion_days").value) == 3
    # within 3 days: only g (1 day); a took 4 days, c 7
    result = figure(facts, "lead_conversion")
    assert (result.num, result.den) == (1, 8)


def test_lead_funnel(facts):
    lead_world(facts)
    admin = facts.seed.user("admin")

    def run(present=None):
        p = kpis.period("month", TZ, NOW)
        return kpis.funnel(admin, p, segments.settings(), present)
    # converted {a, c, g} = 3; a deal or later: {c, d} + {a, c, g} = 4;
    # contacted or later: {d, f} + {a, c, d, g} = 5; created: 8
    assert facts.run(run) == [("created", 8), ("contacted", 5), ("deal", 4), ("converted", 3)]
    # without the sales plugin's tables: no deal step, and c (a won deal only) does not count
    assert facts.run(run, {"activity", "purchase"}) == [("created", 8), ("contacted", 4),
                                                         ("converted", 2)]


# -- breakdowns by department and by segment -----------------------------------------------------

def test_breakdown_by_department(facts):
    c = lead_world(facts)
    team_a, team_b, service = (facts.department(n) for n in ("Team A", "Team B", "Service"))
    for name in "abcd":
        facts.set(c[name], department=team_a)
    for name in "ef":
        facts.set(c[name], department=team_b)
    facts.set(c["g"], department=None)
    facts.set(c["i"], department=service)
    result = figure(facts, "lead_conversion", by="department")
    assert result.by == "department"
    # Team A: a, c of a b c d; Team B: none of e f; nobody's: g of g; Service: none of i
    assert {k: (v[1], v[2]) for k, v in result.groups.items()} == {
        team_a: (2, 4), team_b: (0, 2), None: (1, 1), service: (0, 1)}
    assert result.groups[team_a][0] == pytest.approx(50.0)
    assert (result.num, result.den) == (3, 8)          # the total is the same, exactly
    # repurchase in June by department: a (2 purchases) in Team A; g (1) nobody's;
    # h (1 purchase in June) is sales's, in Team A (the owner's department at creation)
    repurchase = figure(facts, "repurchase_rate", by="department")
    assert {k: (v[1], v[2]) for k, v in repurchase.groups.items()} == {
        team_a: (1, 2), None: (0, 1)}
    assert repurchase.value == pytest.approx(100 * 1 / 3)


def test_breakdown_by_segment(facts):
    c = lead_world(facts)
    for name in "abc":
        facts.score(c[name], "new")
    for name in "de":
        facts.score(c[name], "potential")
    # f, g, i (and h) have no score yet
    result = figure(facts, "lead_conversion", by="segment")
    assert result.by == "segment"
    # new: a, c of a b c; potential: none of d e; not scored: g of f g i
    assert {k: (v[1], v[2]) for k, v in result.groups.items()} == {
        "new": (2, 3), "potential": (0, 2), None: (1, 3)}
    assert result.groups["new"][0] == pytest.approx(100 * 2 / 3)
    assert (result.num, result.den) == (3, 8)
    # a KPI that joins a subquery first (repurchase): a (new) bought twice; g and h once
    repurchase = figure(facts, "repurchase_rate", by="segment")
    assert {k: (v[1], v[2]) for k, v in repurchase.groups.items()} == {
        "new": (1, 1), None: (0, 2)}
    # the same totals whatever the breakdown
    owner = figure(facts, "repurchase_rate")
    assert (owner.num, owner.den) == (repurchase.num, repurchase.den) == (1, 3)


def test_every_kpi_and_breakdown_is_one_query(facts, app):
    lead_world(facts)
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
                for by in kpis.BREAKDOWNS:
                    statements.clear()
                    kpis.compute(kpi, admin, p, rules, by, present)
                    assert len(statements) == 1, (kpi.key, by, statements)
            statements.clear()
            kpis.funnel(admin, p, rules, present)
            assert len(statements) == 1, statements
        finally:
            database.obj.query_hooks.remove(hook)
            database.close()


def test_settled_periods():
    import datetime as dt
    rules = segments.DEFAULTS
    june = kpis.period("month", TZ, NOW)
    may = kpis.period("month", TZ, NOW, previous=True)
    repurchase, lead = kpis.BY_KEY["repurchase_rate"], kpis.BY_KEY["lead_conversion"]
    assert not kpis.settled(repurchase, june, rules, NOW)
    assert kpis.settled(repurchase, may, rules, NOW)
    # May's customers may convert until 90 days after May's end (2026-05-31 16:00 UTC)
    assert not kpis.settled(lead, may, rules, NOW)
    assert kpis.settled(lead, may, rules, dt.datetime(2026, 8, 29, 16))
    assert not kpis.settled(lead, may, rules, dt.datetime(2026, 8, 29, 15))
