"""The community's pages: each route as a full page and as its htmx partial, the no-JavaScript
POST flows (303, or 422 with the messages), permissions (403) and the row-level scope (404,
names of customers outside it never shown), unknown ids (404)."""
from __future__ import annotations

import re

import pytest

from plugins.community.models import (CommunityCheckin, CommunityEvent, CommunityGroup,
                                      CommunityMember, CommunityOwner, CommunityReply,
                                      CommunitySignup, CommunityTopic)
from tests.conftest import htmx


def switch(client, login, username):
    client.post("/logout")
    return login(username)


def new_id(response) -> int:
    assert response.status_code == 303, response.data[:800]
    return int(re.search(r"/(\d+)(?:#.*)?$", response.headers["Location"]).group(1))


@pytest.fixture
def world(seed, community):
    """A group run by sales (an owner) with a member of sales and one of sales2."""
    own = seed.customer("张伟", owner="sales")
    other = seed.customer("李娜", owner="sales2")
    group = community.group("茶友会", owners=["sales"], description="每月一次",
                            rules="不发广告")
    community.member(group, own, "representative")
    community.member(group, other)
    return {"own": own, "other": other, "group": group}


# -- groups -------------------------------------------------------------------------------------

def test_index_page_partial_and_archived(client, login, world, seed):
    login("clerk")
    page = client.get("/community")
    assert page.status_code == 200 and "茶友会".encode() in page.data
    assert b"/community/groups/new" not in page.data            # a clerk creates no group
    partial = client.get("/community?archived=1", headers=htmx("community-groups"))
    assert partial.status_code == 200 and b"<html" not in partial.data
    assert partial.data.lstrip().startswith(b'<div id="community-groups"')
    assert partial.headers["Vary"] and "HX-Request" in partial.headers["Vary"]


def test_create_a_group_without_javascript_and_with_htmx(client, login, seed):
    login("manager")
    form = client.get("/community/groups/new")
    assert form.status_code == 200 and b'id="community-group-form"' in form.data
    bad = client.post("/community/groups/new", data={"name": "  ", "description": "x"})
    assert bad.status_code == 422 and b"Give the group a name." in bad.data
    assert b"<html" in bad.data
    partial = client.post("/community/groups/new", data={"name": ""},
                          headers=htmx("community-group-form"))
    assert partial.status_code == 422 and b"<html" not in partial.data
    assert partial.data.lstrip().startswith(b'<form id="community-group-form"')
    sales2 = seed.user("sales2")
    ok = client.post("/community/groups/new", data={
        "name": "杭州 VIP 会员圈", "description": "重要客户", "rules": "仅限受邀",
        "owners": [str(sales2.id)]})
    group_id = new_id(ok)
    group = seed.run(CommunityGroup.get_by_id, group_id)
    assert (group.name, group.rules) == ("杭州 VIP 会员圈", "仅限受邀")
    assert seed.run(lambda: [o.user_id for o in CommunityOwner.select()
                             .where(CommunityOwner.group == group_id)]) == [sales2.id]
    with_htmx = client.post("/community/groups/new", data={"name": "茶友会"},
                            headers=htmx("community-group-form"))
    assert with_htmx.status_code == 204 and "HX-Location" in with_htmx.headers
    page = client.get(f"/community/groups/{group_id}")
    assert page.status_code == 200 and "重要客户".encode() in page.data


def test_only_managers_create_edit_and_archive_groups(client, login, world):
    group = world["group"]
    login("sales")                                     # an owner, without community.manage
    assert client.get("/community/groups/new").status_code == 403
    assert client.post("/community/groups/new", data={"name": "x"}).status_code == 403
    assert client.get(f"/community/groups/{group.id}/edit").status_code == 403
    assert client.post(f"/community/groups/{group.id}/archive").status_code == 403
    assert client.post(f"/community/groups/{group.id}/restore").status_code == 403
    for url in ("/community/groups/999999", "/community/groups/999999/edit",
                "/community/events/999999", "/community/topics/999999"):
        assert client.get(url).status_code in (403, 404), url
    assert client.get("/community/groups/999999").status_code == 404
    assert client.get("/community/events/999999").status_code == 404
    assert client.get("/community/topics/999999").status_code == 404
    assert client.post("/community/replies/999999/moderate",
                       data={"action": "hide"}).status_code == 404


def test_edit_conflict_and_archive(client, login, world, seed):
    group = world["group"]
    login("manager")
    edit = client.get(f"/community/groups/{group.id}/edit")
    assert edit.status_code == 200 and "不发广告".encode() in edit.data
    data = {"name": "茶友会（杭州）", "description": "每月一次", "rules": "文明交流",
            "version": "1", "owners": [str(seed.user("sales").id)]}
    assert client.post(f"/community/groups/{group.id}/edit", data=data).status_code == 303
    stale = client.post(f"/community/groups/{group.id}/edit", data=data)
    assert stale.status_code == 409 and b"Somebody changed this group meanwhile" in stale.data
    assert seed.run(CommunityGroup.get_by_id, group.id).rules == "文明交流"
    assert client.post(f"/community/groups/{group.id}/archive").status_code == 303
    assert seed.run(CommunityGroup.get_by_id, group.id).archived_at is not None
    assert "茶友会".encode() not in client.get("/community").data
    assert "茶友会".encode() in client.get("/community?archived=1").data
    refused = client.post(f"/community/groups/{group.id}/members",
                          data={"number": world["own"].number, "role": "member"})
    assert refused.status_code == 422 and b"This group is archived" in refused.data
    assert client.post(f"/community/groups/{group.id}/restore").status_code == 303
    assert seed.run(CommunityGroup.get_by_id, group.id).archived_at is None


# -- the group page and its members ---------------------------------------------------------------

def test_group_page_shows_only_members_in_scope(client, login, world):
    group = world["group"]
    login("sales")
    page = client.get(f"/community/groups/{group.id}").get_data(as_text=True)
    assert "张伟" in page and "李娜" not in page
    assert "1 more member is among customers you do not see." in page
    assert "不发广告" in page and "Active members (last 90 days)" in page
    for target, start in (("community-members", '<section class="card" id="community-members"'),
                          ("community-events", '<section class="card" id="community-events"'),
                          ("community-topics", '<section class="card" id="community-topics"')):
        partial = client.get(f"/community/groups/{group.id}", headers=htmx(target))
        text = partial.get_data(as_text=True)
        assert partial.status_code == 200 and "<html" not in text, target
        assert text.lstrip().startswith(start), target
    switch(client, login, "manager")
    page = client.get(f"/community/groups/{group.id}").get_data(as_text=True)
    assert "张伟" in page and "李娜" in page


def test_add_members_by_number(client, login, world, seed):
    group = world["group"]
    new = seed.customer("王芳", owner="sales")
    stranger = seed.customer("赵磊", owner="sales2")
    login("sales")                                     # an owner of the group
    url = f"/community/groups/{group.id}/members"
    missing = client.post(url, data={"number": "C000", "role": "member"})
    assert missing.status_code == 422
    assert b"No customer with this number among the customers you may see." in missing.data
    # a customer outside the scope is not found either (the same message: no enumeration)
    outside = client.post(url, data={"number": stranger.number, "role": "member"},
                          headers=htmx("community-members"))
    assert outside.status_code == 422 and b"<html" not in outside.data
    assert outside.data.lstrip().startswith(b'<section class="card" id="community-members"')
    assert b"No customer with this number" in outside.data
    twice = client.post(url, data={"number": world["own"].number, "role": "member"})
    assert twice.status_code == 422 and b"already a member of this group" in twice.data
    ok = client.post(url, data={"number": new.number.lower(), "role": "representative"})
    assert ok.status_code == 303
    row = seed.run(lambda: CommunityMember.get((CommunityMember.group == group.id)
                                               & (CommunityMember.customer == new.id)))
    assert row.role == "representative"
    assert client.post(f"/community/groups/{group.id}/members/{new.id}/role",
                       data={"role": "member"}).status_code == 303
    assert seed.run(CommunityMember.get_by_id, row.id).role == "member"
    assert client.post(f"/community/groups/{group.id}/members/{new.id}/role",
                       data={"role": "king"}).status_code == 422
    # outside the scope: 404, even for an owner
    other = world["other"].id
    assert client.post(f"/community/groups/{group.id}/members/{other}/role",
                       data={"role": "representative"}).status_code == 404
    assert client.post(f"/community/groups/{group.id}/members/{other}/remove").status_code \
        == 404
    assert client.post(f"/community/groups/{group.id}/members/{new.id}/remove").status_code \
        == 303
    assert seed.run(lambda: CommunityMember.select().where(
        CommunityMember.customer == new.id).count()) == 0


def test_a_user_who_does_not_run_the_group_gets_403(client, login, world, community):
    group = world["group"]
    event = community.event(group)
    login("sales2")                                    # not an owner, no community.manage
    assert client.post(f"/community/groups/{group.id}/members",
                       data={"number": world["other"].number}).status_code == 403
    assert client.get(f"/community/groups/{group.id}/events/new").status_code == 403
    assert client.post(f"/community/groups/{group.id}/events/new",
                       data={"title": "x"}).status_code == 403
    topic = community.topic(group, world["other"])
    assert client.post(f"/community/topics/{topic.id}/moderate",
                       data={"action": "pin"}).status_code == 403
    page = client.get(f"/community/events/{event.id}")
    assert page.status_code == 200                     # but every staff member sees events


def test_without_community_view_everything_is_403(app, client, login, world):
    app.extensions["crm.permissions"]["community.view"] = ("admin",)
    login("sales")
    assert client.get("/community").status_code == 403
    assert client.get(f"/community/groups/{world['group'].id}").status_code == 403
    assert b'href="/community"' not in client.get("/").data


# -- events: sign-up, capacity, check-in ----------------------------------------------------------

def test_event_flow_without_javascript(client, login, world, seed):
    group, own = world["group"], world["own"]
    second = seed.customer("王芳", owner="sales")
    login("sales")
    url = f"/community/groups/{group.id}/events/new"
    assert client.get(url).status_code == 200
    bad = client.post(url, data={"title": "", "starts_at": "", "capacity": "-1"})
    assert bad.status_code == 422
    assert b"Give the event a title." in bad.data
    assert b"Give the date and time the event starts." in bad.data
    assert b"The capacity is a number of places, 0 for no limit." in bad.data
    event_id = new_id(client.post(url, data={"title": "春茶品鉴会", "starts_at": "2099-04-01T14:00",
                                             "capacity": "1", "location": "门店二楼"}))
    event = seed.run(CommunityEvent.get_by_id, event_id)
    assert (event.capacity, event.starts_at.hour) == (1, 6)     # 14:00 in Shanghai is 06:00 UTC
    page = client.get(f"/community/events/{event_id}")
    assert page.status_code == 200 and "春茶品鉴会".encode() in page.data
    partial = client.get(f"/community/events/{event_id}", headers=htmx("community-attendance"))
    assert partial.status_code == 200 and b"<html" not in partial.data
    assert partial.data.lstrip().startswith(b'<div id="community-attendance"')

    signups = f"/community/events/{event_id}/signups"
    assert client.post(signups, data={"customer": "", "number": ""}).status_code == 422
    assert client.post(signups, data={"customer": str(own.id)}).status_code == 303
    again = client.post(signups, data={"customer": str(own.id)}, follow_redirects=True)
    assert b"was already signed up" in again.data
    full = client.post(signups, data={"number": second.number})
    assert full.status_code == 422
    assert b"This event is full: all 1 places are taken." in full.data
    partial = client.post(signups, data={"number": second.number},
                          headers=htmx("community-attendance"))
    assert partial.status_code == 422 and b"<html" not in partial.data
    assert partial.data.lstrip().startswith(b'<div id="community-attendance"')
    assert b"This event is full" in partial.data
    # outside the scope: a cancel is a 404, a sign-up by number finds nobody
    other = world["other"]
    assert client.post(f"{signups}/{other.id}/cancel").status_code == 404
    assert client.post(signups, data={"customer": str(other.id)}).status_code == 422
    assert client.post(f"{signups}/{own.id}/cancel").status_code == 303
    assert client.post(signups, data={"number": second.number}).status_code == 303
    active = seed.run(lambda: [s.customer_id for s in CommunitySignup.select().where(
        (CommunitySignup.event == event_id) & CommunitySignup.cancelled_at.is_null())])
    assert active == [second.id]

    checkins = f"/community/events/{event_id}/checkins"
    assert client.post(checkins, data={"walk_in_number": ""}).status_code == 422
    assert client.post(checkins, data={"customer": str(second.id)}).status_code == 303
    again = client.post(checkins, data={"customer": str(second.id)}, follow_redirects=True)
    assert b"was already checked in" in again.data
    walk_in = client.post(checkins, data={"walk_in_number": own.number})
    assert walk_in.status_code == 303
    rows = seed.run(lambda: [(c.customer_id, c.walk_in) for c in CommunityCheckin.select()
                             .order_by(CommunityCheckin.id)])
    assert rows == [(second.id, False), (own.id, True)]
    page = client.get(f"/community/events/{event_id}").get_data(as_text=True)
    assert "Walk-in" in page and "1 of 1 places taken" in page and "李娜" not in page


def test_clerk_checks_in_at_the_desk(client, login, world, community, seed):
    event = community.event(world["group"])
    community.sign_up(event, world["other"])
    login("clerk")                                     # sees every customer, runs no group
    page = client.get(f"/community/events/{event.id}")
    assert page.status_code == 200 and "李娜".encode() in page.data
    assert client.post(f"/community/events/{event.id}/checkins",
                       data={"customer": str(world["other"].id)}).status_code == 303
    assert seed.run(lambda: CommunityCheckin.select().count()) == 1


# -- topics -------------------------------------------------------------------------------------

def test_topic_flow_and_moderation(client, login, world, seed):
    group, own, other = world["group"], world["own"], world["other"]
    login("sales2")
    url = f"/community/groups/{group.id}/topics/new"
    form = client.get(url)
    assert form.status_code == 200 and "李娜".encode() in form.data
    assert "张伟".encode() not in form.data            # sales2 writes only for their members
    bad = client.post(url, data={"customer": str(other.id), "title": " "})
    assert bad.status_code == 422 and b"Give the topic a title." in bad.data
    partial = client.post(url, data={"customer": str(other.id), "title": ""},
                          headers=htmx("community-topic-form"))
    assert partial.status_code == 422 and b"<html" not in partial.data
    outside = client.post(url, data={"customer": str(own.id), "title": "冒名"})
    assert outside.status_code == 422 and b"Choose a member of the group." in outside.data
    topic_id = new_id(client.post(url, data={"customer": str(other.id), "title": "龙井何时到货",
                                             "body": "想预订"}))
    topic = seed.run(CommunityTopic.get_by_id, topic_id)
    assert (topic.author_id, topic.customer_id) == (seed.user("sales2").id, other.id)
    page = client.get(f"/community/topics/{topic_id}").get_data(as_text=True)
    assert "李娜, written by Sales Two" in page
    replies = f"/community/topics/{topic_id}/replies"
    assert client.post(replies, data={"customer": str(other.id), "body": ""}).status_code == 422
    assert client.post(replies, data={"customer": str(other.id),
                                      "body": "三月底"}).status_code == 303
    partial = client.get(f"/community/topics/{topic_id}", headers=htmx("community-replies"))
    assert partial.data.lstrip().startswith(b'<section class="card" id="community-replies"')
    assert "三月底".encode() in partial.data

    # the owner (sales) moderates; sales sees the topic but not李娜's name
    switch(client, login, "sales")
    page = client.get(f"/community/topics/{topic_id}").get_data(as_text=True)
    assert "李娜" not in page and "a member, written by Sales Two" in page
    moderate = f"/community/topics/{topic_id}/moderate"
    assert client.post(moderate, data={"action": "explode"}).status_code == 422
    for action in ("pin", "close"):
        assert client.post(moderate, data={"action": action}).status_code == 303
    stored = seed.run(CommunityTopic.get_by_id, topic_id)
    assert stored.pinned and stored.closed
    closed = client.post(replies, data={"customer": str(own.id), "body": "还能回复吗"})
    assert closed.status_code == 422
    assert b"This topic is closed: it takes no more replies." in closed.data
    reply = seed.run(lambda: CommunityReply.get(CommunityReply.topic == topic_id))
    assert client.post(f"/community/replies/{reply.id}/moderate",
                       data={"action": "hide"}).status_code == 303
    assert seed.run(CommunityReply.get_by_id, reply.id).hidden
    assert client.post(moderate, data={"action": "hide"}).status_code == 303

    # hidden: gone for who does not moderate, still there for the moderators
    switch(client, login, "sales2")
    assert client.get(f"/community/topics/{topic_id}").status_code == 404
    assert "龙井何时到货".encode() not in client.get(f"/community/groups/{group.id}").data
    assert client.post(replies, data={"body": "x"}).status_code == 404
    switch(client, login, "manager")
    page = client.get(f"/community/topics/{topic_id}")
    assert page.status_code == 200 and b"Hidden" in page.data and "三月底".encode() in page.data


# -- the customer's groups (the panel's form) -----------------------------------------------------

def test_join_a_group_from_the_customer(client, login, world, community, seed):
    second = community.group("户外徒步兴趣小组")
    customer = seed.customer("孙丽", owner="sales")
    login("manager")
    url = f"/community/customers/{customer.id}/groups"
    page = client.get(url)
    assert page.status_code == 200 and "户外徒步兴趣小组".encode() in page.data
    bad = client.post(url, data={"community-group": "999999", "community-role": "member"})
    assert bad.status_code == 422 and b"Choose a group." in bad.data
    partial = client.post(url, data={"community-group": "999999", "community-role": "member"},
                          headers=htmx("community-customer"))
    assert partial.status_code == 422
    assert partial.data.lstrip().startswith(b'<div id="community-customer"')
    ok = client.post(url, data={"community-group": str(second.id), "community-role": "member"})
    assert ok.status_code == 303 and ok.headers["Location"].endswith(f"/customers/{customer.id}")
    assert seed.run(lambda: CommunityMember.select().where(
        CommunityMember.customer == customer.id).count()) == 1
    switch(client, login, "sales")
    assert client.get(f"/community/customers/{world['other'].id}/groups").status_code == 404
    # sales runs the tea club only: the hiking group is not theirs to fill
    refused = client.post(f"/community/customers/{world['own'].id}/groups",
                          data={"community-group": str(second.id), "community-role": "member"})
    assert refused.status_code == 422


# -- CSRF -----------------------------------------------------------------------------------------

class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_every_form_needs_its_token(self, client, world, community):
        client.get("/login")
        from tests.conftest import PASSWORD, csrf_token
        token = csrf_token(client.get("/login").data)
        assert client.post("/login", data={"username": "manager", "password": PASSWORD,
                                           "csrf_token": token}).status_code == 303
        group = world["group"]
        event = community.event(group)
        topic = community.topic(group, world["own"])
        posts = [("/community/groups/new", {"name": "x"}),
                 (f"/community/groups/{group.id}/archive", {}),
                 (f"/community/groups/{group.id}/members", {"number": world["own"].number}),
                 (f"/community/events/{event.id}/signups", {"customer": str(world["own"].id)}),
                 (f"/community/events/{event.id}/checkins", {"customer": str(world["own"].id)}),
                 (f"/community/topics/{topic.id}/replies", {"body": "x"}),
                 (f"/community/topics/{topic.id}/moderate", {"action": "pin"})]
        for url, data in posts:
            assert client.post(url, data=data).status_code == 400, url
        page = client.get(f"/community/groups/{group.id}")
        token = csrf_token(page.data)
        assert client.post(f"/community/topics/{topic.id}/moderate",
                           data={"action": "pin", "csrf_token": token}).status_code == 303


# -- no N+1 ---------------------------------------------------------------------------------------

def test_pages_run_a_fixed_number_of_queries(app, client, login, seed, community):
    from crm.db import database
    from tests.core.conftest import QueryCounter
    group = community.group(owners=["manager"])
    event = community.event(group)
    topic = community.topic(group, None)

    def grow(n, start):
        for i in range(start, start + n):
            customer = seed.customer(f"成员{i}", owner="sales")
            community.member(group, customer)
            community.sign_up(event, customer)
            community.check_in(event, customer)
            community.topic(group, customer, title=f"话题{i}")
            community.reply(topic, customer)

    login("manager")
    urls = [f"/community/groups/{group.id}", f"/community/events/{event.id}",
            f"/community/topics/{topic.id}", "/community",
            "/dashboard/cards/community_engagement"]

    def count(url):
        counter = QueryCounter()
        database.obj.query_hooks.append(counter)
        try:
            assert client.get(url).status_code == 200
        finally:
            database.obj.query_hooks.remove(counter)
        return len(counter)

    grow(2, 0)
    before = {url: count(url) for url in urls}
    grow(6, 2)
    after = {url: count(url) for url in urls}
    assert after == before


def test_a_refusal_naming_the_customer_escapes_the_name(app, client, login, seed, community):
    """"<name> is already a member" is a lazy message: the customer's name in it must be
    escaped in the re-rendered form (found by tests/security's XSS corpus)."""
    from tests.conftest import htmx
    customer = seed.customer("<script>alert('X')</script> Trading Ltd.", owner="sales",
                             phone="13900001234")
    group = community.group("Circle")
    login("admin")
    data = {"number": customer.number, "role": "member"}
    assert client.post(f"/community/groups/{group.id}/members", data=data).status_code == 303
    again = client.post(f"/community/groups/{group.id}/members", data=data,
                        headers=htmx("community-members"))
    text = again.get_data(as_text=True)
    assert again.status_code == 422 and "already a member" in text
    assert "<script>alert" not in text and "&lt;script&gt;alert" in text
