"""RFM quintiles and lifecycle segments on a hand-made data set: each expected score and
segment is worked out by hand in the comments (the rules are the defaults: new 30 days,
dormant 180 days, high value R+F+M >= 13, churn window 90 days, drop 50 %, 6 activities)."""
from __future__ import annotations

import datetime as dt

from plugins.insights import segments
from plugins.insights.models import CustomerScore, SegmentSnapshot
from tests.insights.conftest import NOW


def world(facts):
    ids = {}
    # Five buyers.  Last purchase (R, ascending): E 2025-10-01 < D 2025-11-01 < C 2026-03-01
    # < B 2026-05-01 < A 2026-06-01, so R: E1 D2 C3 B4 A5.  Purchases (F): C1 E2 A3 D4 B5.
    # Spend (M): D 10000 < B 30000 < C 50000 < E 70000 < A 90000, so M: D1 B2 C3 E4 A5.
    ids["A"] = facts.customer("A 客户")
    for day in ("2025-08-01", "2026-01-10", "2026-06-01"):
        facts.purchase(ids["A"], day, 30000)
    ids["B"] = facts.customer("B 客户")
    for day in ("2025-12-01", "2026-01-01", "2026-02-01", "2026-03-01", "2026-05-01"):
        facts.purchase(ids["B"], day, 6000)
    facts.activity(ids["B"], "2025-09-01", times=9)     # the three windows before: 9 (avg 3)
    facts.activity(ids["B"], "2026-05-10")              # the last 90 days: 1 (1*3 <= 9*0.5? yes)
    ids["C"] = facts.customer("C 客户", created="2025-02-01")
    facts.purchase(ids["C"], "2026-03-01", 50000)
    ids["D"] = facts.customer("D 客户", contacted="2026-02-01")
    for day in ("2025-07-01", "2025-08-01", "2025-09-01", "2025-11-01"):
        facts.purchase(ids["D"], day, 2500)
    ids["E"] = facts.customer("E 客户", created="2025-03-01")
    facts.purchase(ids["E"], "2025-09-01", 35000)
    facts.purchase(ids["E"], "2025-10-01", 35000)
    facts.purchase(ids["E"], "2026-06-02", 99900, status="refunded")   # refunded: ignored
    # Non-buyers
    ids["G"] = facts.customer("G 新客户", created="2026-06-01")          # 14 days old
    ids["P"] = facts.customer("P 潜在客户", created="2025-05-01", contacted="2026-05-01")
    facts.activity(ids["P"], "2026-05-01", times=2)
    facts.activity(ids["P"], "2026-05-02", kind="note")
    ids["O"] = facts.customer("O 客户", created="2026-02-01")           # 134 days, nothing
    ids["Z"] = facts.customer("Z 沉睡客户", owner="sales2")              # never anything
    ids["X"] = facts.customer("X 已删除", deleted=True)
    return ids


def scores(facts):
    return facts.run(lambda: {s.customer_id: s for s in CustomerScore.select()})


def test_rfm_quintiles_and_segments(facts):
    ids = world(facts)
    counts = facts.run(segments.refresh, NOW)
    got = scores(facts)
    by = {name: got[cid] for name, cid in ids.items() if cid in got}
    assert "X" not in by                                     # in the trash: not scored
    assert {n: (s.r, s.f, s.m) for n, s in by.items() if s.purchases} == {
        "A": (5, 3, 5), "B": (4, 5, 2), "C": (3, 1, 3), "D": (2, 4, 1), "E": (1, 2, 4)}
    assert by["A"].rfm == 535 and by["E"].monetary_fen == 70000 and by["E"].purchases == 2
    assert {n: (s.segment, s.reason) for n, s in by.items()} == {
        "A": ("high_value", "top_rfm"),                    # 5+3+5 = 13 >= 13
        "B": ("churn_risk", "activity_drop"),              # 1 recent against 9/3 before
        "C": ("active", "recent_purchase"),                # bought 106 days ago, 3+1+3 = 7
        "D": ("active", "recent_contact"),                 # bought 226 days ago, called 134
        "E": ("dormant", "no_purchase_or_contact"),        # last purchase 257 days ago
        "G": ("new", "created_recently"),
        "P": ("potential", "engaged_no_purchase"),
        "O": ("other", "none"),
        "Z": ("dormant", "no_purchase_or_contact"),
    }
    assert (by["B"].recent_activities, by["B"].previous_activities) == (1, 9)
    assert by["P"].recent_activities == 2                  # the note does not count
    assert counts == {"high_value": 1, "churn_risk": 1, "active": 2, "dormant": 2, "new": 1,
                      "potential": 1, "other": 1}
    # the day's snapshot, per owner: Z is sales2's, the rest sales'
    snap = facts.run(lambda: sorted(SegmentSnapshot.select(
        SegmentSnapshot.segment, SegmentSnapshot.owner_id, SegmentSnapshot.customers)
        .where(SegmentSnapshot.day == NOW.date()).tuples()))
    sales2 = facts.seed.user("sales2").id
    assert (("dormant", sales2, 1) in snap) and sum(n for _s, _o, n in snap) == 9


def test_reasons_read_as_sentences(facts, app):
    ids = world(facts)
    facts.run(segments.refresh, NOW)
    got = scores(facts)
    with app.test_request_context():
        from crm.db import database
        database.connect(reuse_if_open=True)
        assert segments.reason_text(got[ids["E"]]) == \
            "No purchase or contact for 257 days (the rule: 180)."
        assert segments.reason_text(got[ids["A"]]) == "R+F+M = 13, at least 13."
        assert "1 activities in the last 90 days against 3.0" in \
            segments.reason_text(got[ids["B"]])
        assert segments.reason_text(got[ids["Z"]]).startswith("Never bought")
        database.close()


def test_rules_are_tunable(facts):
    ids = world(facts)
    facts.run(segments.save_settings, {"new_days": 7, "high_value_spend_yuan": 500})
    facts.run(segments.refresh, NOW)
    got = scores(facts)
    assert (got[ids["G"]].segment, got[ids["G"]].reason) == ("other", "none")   # 14 > 7 days
    # C spent 50000 fen = 500 yuan >= 500 (R+F+M is only 7)
    assert (got[ids["C"]].segment, got[ids["C"]].reason) == ("high_value", "spend_above")
    assert got[ids["E"]].segment == "dormant"               # an earlier rule still wins


def test_a_first_purchase_makes_a_customer_new(facts):
    q = facts.customer("Q 客户", created="2024-01-01")
    facts.purchase(q, "2026-06-10", 1000)
    facts.run(segments.refresh, NOW)
    score = scores(facts)[q]
    assert (score.segment, score.reason, score.r, score.f, score.m) == \
        ("new", "first_purchase_recently", 1, 1, 1)        # one buyer: NTILE(5) gives 1


def test_sizes_and_members_follow_the_scope(facts):
    ids = world(facts)
    facts.run(segments.refresh, NOW)
    sales, sales2, admin = (facts.seed.user(u) for u in ("sales", "sales2", "admin"))
    assert facts.run(segments.sizes, sales)["dormant"] == 1          # E, not Z
    assert facts.run(segments.sizes, sales2)["dormant"] == 1         # Z
    assert facts.run(segments.sizes, admin)["dormant"] == 2
    members = facts.run(lambda: [c.id for c in segments.members(sales, "dormant").objects()])
    assert members == [ids["E"]]
    history = facts.run(segments.history, sales, 30, NOW.date())
    assert history["dormant"] == [(NOW.date(), 1)]


def test_refresh_twice_replaces_the_rows(facts):
    world(facts)
    facts.run(segments.refresh, NOW)
    later = NOW + dt.timedelta(days=1)
    facts.run(segments.refresh, later)
    assert facts.run(lambda: CustomerScore.select().count()) == 9
    days = facts.run(lambda: sorted({d for (d,) in SegmentSnapshot.select(
        SegmentSnapshot.day).tuples()}))
    assert [str(d) for d in days] == [str(NOW.date()), str(later.date())]


def test_segments_are_mirrored_as_tags_added_and_removed(facts):
    from crm.customers.models import CustomerTag, Tag

    def tagged():
        rows = facts.run(lambda: list(CustomerTag.select(CustomerTag.customer, Tag.name)
                                      .join(Tag).tuples()))
        out = {}
        for cid, name in rows:
            out.setdefault(name, set()).add(cid)
        return out

    ids = world(facts)
    facts.run(lambda: CustomerTag.create(customer=ids["A"],
                                         tag=Tag.create(name="VIP")))       # a person's tag
    facts.run(segments.refresh, NOW)
    got = scores(facts)
    expected = {}
    for cid, score in got.items():
        if score.segment != "other":
            expected.setdefault(facts.run(segments.tag_name, score.segment), set()).add(cid)
    tags = tagged()
    assert tags.pop("VIP") == {ids["A"]}
    assert tags == expected
    assert ids["A"] in tags[facts.run(segments.tag_name, "high_value")]
    assert "X" not in {n for n, cid in ids.items() if any(cid in v for v in tags.values())}
    # a year and a half later every buyer is dormant: A loses "high value", gets "dormant";
    # a renamed segment tag stays the segment's; the person's tag is untouched
    high = facts.run(segments.tag_name, "high_value")
    facts.run(lambda: Tag.update(name="大客户").where(Tag.name == high).execute())
    facts.run(segments.refresh, NOW + dt.timedelta(days=540))
    tags = tagged()
    assert tags["VIP"] == {ids["A"]}
    assert ids["A"] in tags[facts.run(segments.tag_name, "dormant")]
    assert ids["A"] not in tags.get("大客户", set())
    assert high not in tags                     # not made again under its old name
