"""The community's domain rules, through its services: membership, capacity, check-in
idempotence, moderation, archived groups, and the engagement figures on a small hand-made data
set whose expected values are worked out by hand in the comments."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from crm.events.models import OutboxEvent
from plugins.community import facts, services
from plugins.community.models import (CommunityCheckin, CommunityMember, CommunitySignup,
                                      CommunityTopic)

from .conftest import T


def day(n: float) -> dt.datetime:
    """``n`` days after T (negative: before)."""
    return T + dt.timedelta(days=n)


# -- membership ---------------------------------------------------------------------------------

def test_membership_roles_and_removal(seed, community):
    group = community.group(owners=["sales"])
    a = seed.customer("张伟", owner="sales")
    b = seed.customer("李娜", owner="sales")
    member = community.member(group, a, "representative", joined_on=dt.date(2026, 2, 1))
    assert (member.role, member.joined_on) == ("representative", dt.date(2026, 2, 1))
    community.member(group, b)
    with pytest.raises(services.CommunityError) as refused:
        community.member(group, a)                           # once per group
    assert "already a member" in str(refused.value.message)
    with pytest.raises(services.CommunityError):
        community.member(group, seed.customer("王芳"), role="boss")

    def listed(scope=(a.id, b.id)):
        return [m.customer_id for m in seed.run(services.members, group.id, list(scope))]
    assert listed() == [a.id, b.id]                          # the representative first
    assert seed.run(lambda: services.set_role(group, b.id, "representative")).role == \
        "representative"
    assert listed() == [b.id, a.id]                          # both: by join date
    assert listed([b.id]) == [b.id]                          # only the customers in scope
    assert seed.run(services.is_owner, seed.user("sales"), group.id)
    assert not seed.run(services.is_owner, seed.user("sales2"), group.id)
    assert seed.run(services.remove_member, group, a.id) is True
    assert seed.run(services.remove_member, group, a.id) is False
    assert seed.run(lambda: CommunityMember.select().count()) == 1
    assert [m.group.name for m in seed.run(services.customer_groups, b.id)] == ["茶友会"]


def test_an_archived_group_is_read_only(seed, community):
    group = community.group()
    a = seed.customer("张伟")
    community.member(group, a)
    event = community.event(group)
    topic = community.topic(group, a)
    seed.run(services.archive_group, group.id)
    for attempt in (lambda: community.member(group, seed.customer("李娜")),
                    lambda: community.event(group),
                    lambda: community.sign_up(event, a),
                    lambda: community.check_in(event, a),
                    lambda: community.topic(group, a),
                    lambda: community.reply(topic, a),
                    lambda: seed.run(services.moderate_topic, topic, "pin")):
        with pytest.raises(services.CommunityError) as refused:
            attempt()
        assert "archived" in str(refused.value.message)
    assert [g.id for g in seed.run(lambda: list(services.groups()))] == []
    assert [g.id for g in seed.run(lambda: list(services.groups(include_archived=True)))] == \
        [group.id]
    seed.run(services.archive_group, group.id, False)
    assert community.sign_up(event, a)[1] is True


# -- capacity -----------------------------------------------------------------------------------

def test_capacity_full_message_cancel_and_sign_up_again(seed, community):
    group = community.group()
    event = community.event(group, capacity=2)
    a, b, c = (seed.customer(n) for n in ("张伟", "李娜", "王芳"))
    assert community.sign_up(event, a)[1] is True
    assert community.sign_up(event, b)[1] is True
    with pytest.raises(services.EventFull) as full:
        community.sign_up(event, c)
    assert str(full.value.message) == ("This event is full: all 2 places are taken. "
                                       "Cancel a sign-up to free a place.")
    again, created = community.sign_up(event, a)                # already in: no second place
    assert created is False and seed.run(services.taken, event.id) == 2
    assert community.cancel(event, b) is True
    assert community.cancel(event, b) is False                  # nothing left to cancel
    assert community.sign_up(event, c)[1] is True               # b's place
    with pytest.raises(services.EventFull):
        community.sign_up(event, b)                             # full again: no way back in
    assert seed.run(services.taken, event.id) == 2
    rows = seed.run(lambda: [(s.customer_id, s.cancelled_at is None) for s in
                             CommunitySignup.select().order_by(CommunitySignup.id)])
    assert rows == [(a.id, True), (b.id, False), (c.id, True)]


def test_no_limit_and_sign_up_closes_when_the_event_starts(seed, community):
    group = community.group()
    event = community.event(group, starts_at=day(1), capacity=0)
    people = [seed.customer(f"客户{i}") for i in range(4)]
    for person in people[:3]:
        assert community.sign_up(event, person, now=day(0))[1] is True
    with pytest.raises(services.CommunityError) as closed:
        community.sign_up(event, people[3], now=day(1))
    assert "the event has started" in str(closed.value.message)


# -- check-in ----------------------------------------------------------------------------------

def test_check_in_is_idempotent_and_emits_one_event(seed, community):
    group = community.group()
    event = community.event(group)
    a, walker = seed.customer("张伟"), seed.customer("赵磊")
    community.sign_up(event, a)
    first, created = community.check_in(event, a, by="clerk")
    again, created_again = community.check_in(event, a, by="admin")
    assert created is True and created_again is False and again.id == first.id
    assert first.walk_in is False
    walk_in, created = community.check_in(event, walker)            # no sign-up: a walk-in
    assert created is True and walk_in.walk_in is True
    assert seed.run(lambda: CommunityCheckin.select().count()) == 2
    events = seed.run(lambda: [json.loads(e.payload) for e in OutboxEvent.select()
                               .where(OutboxEvent.name == services.CHECKED_IN)
                               .order_by(OutboxEvent.id)])
    assert [(p["customer_id"], p["checkin_id"], p["event_id"], p["walk_in"]) for p in events] \
        == [(a.id, first.id, event.id, False), (walker.id, walk_in.id, event.id, True)]
    assert events[0]["user_id"] == seed.user("clerk").id


# -- topics and moderation ------------------------------------------------------------------------

def test_topics_are_written_for_members_only(seed, community):
    group = community.group()
    member, stranger = seed.customer("张伟"), seed.customer("路人甲")
    community.member(group, member)
    topic = community.topic(group, member, by="sales")
    assert (topic.author_id, topic.customer_id) == (seed.user("sales").id, member.id)
    staff = community.topic(group, None, title="通知：下月活动")       # staff, as themselves
    assert staff.customer_id is None
    with pytest.raises(services.CommunityError) as refused:
        community.topic(group, stranger)
    assert refused.value.field == "customer"
    with pytest.raises(services.CommunityError):
        community.reply(topic, stranger)
    with pytest.raises(services.CommunityError):
        community.topic(group, member, title="  ")
    community.reply(topic, member, by="service")
    stored = community.get(CommunityTopic, topic.id)
    assert stored.replies == 1 and stored.last_reply_at >= stored.created_at


def test_moderation_pin_close_hide(seed, community):
    group = community.group()
    a = seed.customer("张伟")
    community.member(group, a)
    old = community.topic(group, a, title="旧话题", now=day(-3))
    new = community.topic(group, a, title="新话题", now=day(-1))
    listed = lambda **kw: [t.title for t in seed.run(services.topics, group.id, **kw)]  # noqa
    assert listed() == ["新话题", "旧话题"]
    seed.run(services.moderate_topic, old, "pin")
    assert listed() == ["旧话题", "新话题"]                       # pinned first

    seed.run(services.moderate_topic, new, "close")
    with pytest.raises(services.CommunityError) as closed:
        community.reply(new, a)
    assert str(closed.value.message) == "This topic is closed: it takes no more replies."
    seed.run(services.moderate_topic, new, "reopen")
    answer = community.reply(new, a)

    seed.run(services.moderate_topic, new, "hide")
    assert listed() == ["旧话题"] and listed(include_hidden=True) == ["旧话题", "新话题"]
    with pytest.raises(services.CommunityError):
        community.reply(new, a)                                   # a hidden topic takes none
    seed.run(services.moderate_topic, new, "show")
    seed.run(services.moderate_reply, answer, "hide")
    assert seed.run(services.replies, new.id) == []
    assert [r.id for r in seed.run(services.replies, new.id, include_hidden=True)] == [answer.id]
    with pytest.raises(services.CommunityError):
        seed.run(services.moderate_topic, new, "delete")
    with pytest.raises(services.CommunityError):
        seed.run(services.moderate_reply, answer, "pin")


# -- engagement figures ---------------------------------------------------------------------------

@pytest.fixture
def figures_world(seed, community):
    """The hand-made data set (T is "now"; the window is T-90d .. T):

    groups: G1 {A, B, C, F}, G2 {C, D}, G3 {E} (archived at the end)
    E1 (G1, T-10d): sign-ups A (T-20d), B (T-20d), H (T-18d, not a member), C (T-15d,
        cancelled T-12d); check-ins A and D (a walk-in, not a member of G1)
    E2 (G1, T-100d, outside): sign-up and check-in of B, both outside the window
    E3 (G2, T+5d, ahead): sign-up of D at T-1d
    E4 (G3, T-20d): sign-up E (T-30d), check-in E
    a topic of G1 on behalf of B at T-95d (outside), a reply on behalf of C at T-5d
    A, B and H are owned by sales; C, D, E and F by sales2.
    """
    c = {}
    for name, owner in (("A", "sales"), ("B", "sales"), ("H", "sales"), ("C", "sales2"),
                        ("D", "sales2"), ("E", "sales2"), ("F", "sales2")):
        c[name] = seed.customer(f"客户{name}", owner=owner)
    g1, g2, g3 = community.group("G1"), community.group("G2"), community.group("G3")
    for group, names in ((g1, "ABCF"), (g2, "CD"), (g3, "E")):
        for name in names:
            community.member(group, c[name])
    e1 = community.event(g1, "E1", starts_at=day(-10))
    e2 = community.event(g1, "E2", starts_at=day(-100))
    e3 = community.event(g2, "E3", starts_at=day(5))
    e4 = community.event(g3, "E4", starts_at=day(-20))
    community.sign_up(e1, c["A"], now=day(-20))
    community.sign_up(e1, c["B"], now=day(-20))
    community.sign_up(e1, c["H"], now=day(-18))
    community.sign_up(e1, c["C"], now=day(-15))
    community.cancel(e1, c["C"], now=day(-12))
    community.check_in(e1, c["A"], now=day(-10))
    community.check_in(e1, c["D"], now=day(-10))
    community.sign_up(e2, c["B"], now=day(-105))
    community.check_in(e2, c["B"], now=day(-100))
    community.sign_up(e3, c["D"], now=day(-1))
    community.sign_up(e4, c["E"], now=day(-30))
    community.check_in(e4, c["E"], now=day(-20))
    topic = community.topic(g1, c["B"], now=day(-95))
    community.reply(topic, c["C"], now=day(-5))
    seed.run(services.archive_group, g3.id)
    return c, (g1, g2, g3)


def test_summary_of_the_open_groups(seed, figures_world):
    # members of G1/G2: A B C F D = 5; active: A (sign-up, check-in), B (sign-up T-20d),
    # C (reply T-5d; the cancelled sign-up does not count), D (walk-in, sign-up for E3); F has
    # nothing = 4.  Events held in the window: E1 only (E2 is older, E3 ahead) = 1.  Sign-ups
    # of E1, not cancelled: A B H = 3; check-ins of E1: A D = 2; rate 2/3.
    s = seed.run(facts.summary, now=T)
    assert (s.members, s.active_members, s.events_held, s.signups, s.checkins) == \
        (5, 4, 1, 3, 2)
    assert s.attendance_rate == pytest.approx(2 / 3)


def test_summary_in_a_users_scope_and_of_one_group(seed, figures_world):
    c, (g1, g2, g3) = figures_world
    from crm import access
    from crm.customers.models import Customer
    sales = seed.user("sales")
    # sales sees A B H: members A B = 2, both active; E1 held = 1; sign-ups A B H = 3;
    # check-ins A = 1 (D is not theirs); rate 1/3
    s = seed.run(lambda: facts.summary(access.scoped_customers(sales, Customer.id), now=T))
    assert (s.members, s.active_members, s.events_held, s.signups, s.checkins) == \
        (2, 2, 1, 3, 1)
    assert s.attendance_rate == pytest.approx(1 / 3)
    # G2 alone: members C D = 2; active D (sign-up T-1d for E3) = 1 (C's reply is in G1);
    # nothing held (E3 is ahead): no rate
    s = seed.run(facts.summary, group_ids=[g2.id], now=T)
    assert (s.members, s.active_members, s.events_held, s.signups, s.checkins) == \
        (2, 1, 0, 0, 0)
    assert s.attendance_rate is None
    # the archived G3, asked for by name: E, active; E4 held with 1 sign-up and 1 check-in
    s = seed.run(facts.summary, group_ids=[g3.id], now=T)
    assert (s.members, s.active_members, s.events_held, s.signups, s.checkins,
            s.attendance_rate) == (1, 1, 1, 1, 1, 1.0)
    # a window that ends before everything: nothing
    s = seed.run(facts.summary, now=day(-400))
    assert (s.active_members, s.events_held, s.signups, s.checkins) == (0, 0, 0, 0)


def test_engagement_per_customer(seed, figures_world):
    c, _groups = figures_world
    ids = {name: customer.id for name, customer in c.items()}
    got = seed.run(facts.engagement, list(ids.values()) + [999999], now=T)
    row = {name: got[i] for name, i in ids.items()}
    expected = {
        # name: groups, sign-ups, check-ins, posts, active, rate, last active
        "A": (1, 1, 1, 0, True, 1.0, day(-10)),
        "B": (1, 1, 0, 0, True, 0.0, day(-20)),        # E2 and the topic are too old
        "C": (2, 0, 0, 1, True, None, day(-5)),        # cancelled sign-up; one reply
        "D": (1, 1, 1, 0, True, 1.0, day(-1)),         # walk-in at E1, signed up for E3
        "E": (0, 1, 1, 0, False, 1.0, day(-20)),       # G3 is archived: no open group
        "F": (1, 0, 0, 0, False, None, None),
        "H": (0, 1, 0, 0, False, 0.0, day(-18)),       # signed up, not a member
    }
    for name, (groups, signups, checkins, posts, active, rate, last) in expected.items():
        e = row[name]
        assert (e.groups, e.signups, e.checkins, e.posts, e.active, e.attendance_rate,
                e.last_active_at) == (groups, signups, checkins, posts, active, rate, last), name
    assert got[999999] == facts.Engagement(999999)
    assert seed.run(facts.engagement, []) == {}
    assert [name for name, e in row.items() if e.active] == ["A", "B", "C", "D"]
