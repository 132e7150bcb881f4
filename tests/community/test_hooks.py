"""The community's hooks: its schema (every declared index made by its migration), the panel
on the customer page, the dashboard card, the nav item, the demo data, and loyalty's hooks:
with loyalty loaded a check-in earns the rule's points exactly once; without it nothing breaks."""
from __future__ import annotations

import random

import pytest

from crm import migrate
from crm.contrib import Event
from crm.db import database
from crm.events.models import OutboxEvent
from plugins.community import hooks
from plugins.community.models import MODELS, CommunityCheckin, CommunityGroup, CommunityTopic
from plugins.loyalty.hookspecs import Award, RuleType
from tests.conftest import htmx
from tests.plugins.helpers import dispatch


def test_the_migration_makes_every_declared_index(app, db):
    status = migrate.status(app)
    assert [m.name for m in status["community"] if m.applied] == ["0001_initial"]
    missing = []
    for model in MODELS:
        table = model._meta.table_name
        assert table.startswith("community_")
        present = {tuple(index.columns) for index in database.get_indexes(table)}
        for index in model._meta.fields_to_index():
            columns = tuple(getattr(e, "column_name", str(e)) for e in index._expressions)
            if columns not in present:
                missing.append(f"{table}{columns}")
        for field in model._meta.refs:                 # every foreign key has an index
            assert any(cols[0] == field.column_name for cols in present), \
                f"{table}.{field.column_name}"
    assert missing == []
    columns = {c.name for c in database.get_columns("community_topic")}
    assert {"author_id", "customer_id", "pinned", "closed", "hidden"} <= columns


def test_panel_lists_the_customers_groups(seed, community, login, client):
    customer = seed.customer("张伟", owner="sales")
    group = community.group("茶友会")
    community.member(group, customer, "representative")
    event = community.event(group, "春茶品鉴会")
    community.sign_up(event, customer)
    login("sales")
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert f"/customers/{customer.id}/panels/community_groups" in page      # announced, lazy
    assert "茶友会" not in page
    panel = client.get(f"/customers/{customer.id}/panels/community_groups",
                       headers=htmx("panel-community_groups"))
    text = panel.get_data(as_text=True)
    assert panel.status_code == 200 and "<html" not in text
    assert "could not be loaded" not in text
    assert "茶友会" in text and "Representative" in text and "春茶品鉴会" in text
    assert f'href="/community/groups/{group.id}"' in text
    assert 'id="community-join-form"' not in text        # sales runs no group: no join form
    full = client.get(f"/customers/{customer.id}/panels/community_groups")
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)


def test_panel_is_only_for_customers_in_scope_and_users_with_the_permission(
        seed, community, login, client, app):
    theirs = seed.customer("李娜", owner="sales2")
    login("sales")
    assert client.get(f"/customers/{theirs.id}/panels/community_groups").status_code == 404
    customer = seed.customer("王芳", owner="sales")
    user = seed.user("sales")
    with app.test_request_context():
        database.connect(reuse_if_open=True)
        try:
            assert [p.name for p in hooks.crm_customer_panels(customer, user)] == \
                ["community_groups"]
            app.extensions["crm.permissions"]["community.view"] = ("admin",)
            assert hooks.crm_customer_panels(customer, user) == []
            assert hooks.crm_dashboard_cards(user) == []
        finally:
            database.close()


def test_manager_gets_the_join_form_on_the_panel(seed, community, login, client):
    customer = seed.customer("赵磊", owner="sales")
    community.group("茶友会")
    login("manager")
    text = client.get(f"/customers/{customer.id}/panels/community_groups").get_data(as_text=True)
    assert 'id="community-join-form"' in text and "茶友会" in text


def test_dashboard_card_and_nav(seed, community, login, client):
    group = community.group()
    a = seed.customer("张伟", owner="sales")
    community.member(group, a)
    event = community.event(group)
    community.sign_up(event, a)
    login("clerk")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/community"' in home
    assert "/dashboard/cards/community_engagement" in home
    card = client.get("/dashboard/cards/community_engagement",
                      headers=htmx("card-community_engagement"))
    text = card.get_data(as_text=True)
    assert card.status_code == 200 and "could not be loaded" not in text
    assert "Active members (last 90 days)" in text and "1 / 1" in text


def test_demo_data_is_made_once(app, seed):
    for i in range(12):
        seed.customer(f"演示客户{i}", owner="sales")
    seed.run(hooks.crm_demo_data, app, random.Random(3))
    groups = seed.run(lambda: CommunityGroup.select().count())
    assert groups == 3
    assert seed.run(lambda: CommunityCheckin.select().count()) > 0
    assert seed.run(lambda: CommunityTopic.select().where(CommunityTopic.pinned == True)  # noqa
                    .count()) == 1
    seed.run(hooks.crm_demo_data, app, random.Random(3))
    assert seed.run(lambda: CommunityGroup.select().count()) == groups


def test_the_award_hooks_answer_check_ins_only():
    assert hooks.loyalty_rule_types() == [RuleType("community_checkin",
                                                   "Checked in at a community event", 20)]
    event = Event("u-1", "community.checked_in", {"customer_id": 7, "checkin_id": 42})
    assert hooks.loyalty_awards_for_event(event) == [Award(7, "community_checkin", "42")]
    assert hooks.loyalty_awards_for_event(Event("u-2", "activity.logged",
                                                {"customer_id": 7})) == []


def test_without_loyalty_a_check_in_still_works(seed, community, app):
    host = app.extensions["crm.plugins"]
    assert "loyalty" not in {name for name, _p in host.pm.list_name_plugin()}
    group = community.group()
    a = seed.customer("张伟")
    checkin, created = community.check_in(community.event(group), a)
    assert created
    dispatch(app)
    rows = seed.run(lambda: [(e.name, e.status) for e in OutboxEvent.select()
                             .where(OutboxEvent.name == "community.checked_in")])
    assert rows == [("community.checked_in", "done")]
    assert host.failures == []


class TestWithLoyalty:
    """Both plugins loaded: a check-in earns the community rule's points once."""

    @pytest.fixture
    def plugins(self):
        from plugins.loyalty import hooks as loyalty
        return [loyalty, hooks]

    RULES = {"purchase-rate": "1", "purchase-active": "y", "checkin-points": "5",
             "checkin-active": "y", "review-points": "20", "review-active": "y",
             "birthday-points": "100", "birthday-active": "y",
             "community_checkin-points": "30", "community_checkin-active": "y"}

    def points(self, seed, customer_id):
        from plugins.loyalty.models import LoyaltyMember

        def get():
            member = LoyaltyMember.get(LoyaltyMember.customer == customer_id)
            return member.balance + member.pending
        return seed.run(get)

    def test_a_check_in_earns_points_once(self, seed, community, app, login, client):
        from plugins.loyalty import services as loyalty
        customer = seed.customer("张伟", owner="sales", kind="person")
        seed.run(lambda: loyalty.enrol(customer))
        admin = login("admin")
        page = admin.get("/loyalty/admin/rules").get_data(as_text=True)
        assert "Checked in at a community event" in page
        assert 'name="community_checkin-points" type="number" min="0" value="20"' in page
        assert admin.post("/loyalty/admin/rules", data=self.RULES).status_code == 303
        group = community.group()
        first, second = community.event(group, "第一期"), community.event(group, "第二期")
        community.sign_up(first, customer)

        url = f"/community/events/{first.id}/checkins"
        assert admin.post(url, data={"customer": str(customer.id)}).status_code == 303
        dispatch(app)
        assert self.points(seed, customer.id) == 30
        assert admin.post(url, data={"customer": str(customer.id)}).status_code == 303
        dispatch(app)
        assert self.points(seed, customer.id) == 30                # checked in once: once
        # the same event delivered again (at least once): loyalty credits once per ref
        event = seed.run(lambda: OutboxEvent.get(OutboxEvent.name == "community.checked_in"))
        import json

        from plugins.loyalty import hooks as loyalty_hooks
        seed.run(lambda: loyalty_hooks.crm_handle_event(
            Event("another-uid", event.name, json.loads(event.payload))))
        assert self.points(seed, customer.id) == 30
        # another event's check-in (a walk-in, by number) earns again
        assert admin.post(f"/community/events/{second.id}/checkins",
                          data={"walk_in_number": customer.number}).status_code == 303
        dispatch(app)
        assert self.points(seed, customer.id) == 60
        assert app.extensions["crm.plugins"].failures == []

    def test_a_customer_who_is_no_member_earns_nothing_and_nothing_breaks(
            self, seed, community, app, login):
        customer = seed.customer("李娜", owner="sales")
        admin = login("admin")
        assert admin.post("/loyalty/admin/rules", data=self.RULES).status_code == 303
        event = community.event(community.group())
        assert admin.post(f"/community/events/{event.id}/checkins",
                          data={"customer": str(customer.id)}).status_code == 303
        dispatch(app)
        rows = seed.run(lambda: [e.status for e in OutboxEvent.select()
                                 .where(OutboxEvent.name == "community.checked_in")])
        assert rows == ["done"]
        assert app.extensions["crm.plugins"].failures == []
