"""The community plugin's main flow in a real browser, with JavaScript on (htmx) and off.

A manager creates a group, adds a demo customer by number, creates an event with one place,
signs the member up; a second sign-up is refused with the "full" message (422, swapped in
place by htmx); the member is checked in at the desk; a topic is posted on the member's behalf
and closed, after which it takes no reply; the customer's page shows the group in its lazily
loaded "Groups" panel.  Every result is checked in the SQLite database too.

The app is the session's (tests/e2e/conftest.py: ``crm init``, ``crm demo``, ``crm serve``), which
loads every installed plugin, community included.
"""
from __future__ import annotations

import json
import re
import secrets
from importlib.metadata import entry_points
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


@pytest.fixture(autouse=True)
def _community_installed(instance):
    """The session's instance runs every installed ``crm.plugins`` entry point; community's
    comes from setup.cfg (a stale install needs ``pip install -e .``)."""
    names = {ep.value for ep in entry_points(group="crm.plugins")}
    assert "plugins.community.hooks" in names, "reinstall: pip install -e ."


def _set_marker(page):
    page.evaluate("window.__marker = 1")


def _assert_no_full_load(page):
    assert page.evaluate("window.__marker") == 1, "the page was fully reloaded: htmx did not swap"


def _post_to(path: str):
    return lambda r: r.request.method == "POST" and urlsplit(r.url).path == path


def _submit(page, js: bool, form: str, path: str) -> int:
    """Submit ``form`` (a selector) and return the POST's status; with JavaScript, the POST is
    htmx's and the page is never fully reloaded."""
    with page.expect_response(_post_to(path)) as info:
        page.click(f"{form} button[type=submit]")
    if js:
        assert info.value.request.headers.get("hx-request") == "true", f"{path}: not htmx"
    return info.value.status


def test_group_event_capacity_check_in_topic_and_panel(page, js, instance):
    tag = f"{'js' if js else 'nojs'} {secrets.token_hex(3)}"
    # two demo customers of sales1, whom the manager of the sales centre sees
    (member_id, member_name, member_number), (other_id, _n, other_number) = instance.query(
        "SELECT c.id, c.name, c.number FROM customer c JOIN user_account u ON u.id = c.owner_id "
        "WHERE u.username = 'sales1' AND c.deleted_at IS NULL ORDER BY c.id LIMIT 2")
    assert instance.query("SELECT COUNT(*) FROM community_group")[0][0] >= 3     # the demo's

    sign_in(page, "manager")
    if js:
        _set_marker(page)
    page.click("header.top nav a[href='/community']")
    page.wait_for_url(re.compile(r"/community$"))
    page.click("main .actions a[href='/community/groups/new']")
    page.wait_for_url(re.compile(r"/community/groups/new$"))

    # a group: a blank name is refused by the server, then it is created
    name = f"端到端茶友会 {tag}"
    page.fill("#community-group-form #name", "   ")
    assert _submit(page, js, "#community-group-form", "/community/groups/new") == 422
    expect(page.locator("#community-group-form #name-err")).to_be_visible()
    assert not instance.query("SELECT id FROM community_group WHERE name LIKE ?", (f"%{tag}",))
    page.fill("#community-group-form #name", name)
    page.fill("#community-group-form #rules", "文明交流")
    page.click("#community-group-form button[type=submit]")
    page.wait_for_url(re.compile(r"/community/groups/\d+$"))
    expect(page.locator("main h1")).to_contain_text(name)
    group_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    assert instance.query("SELECT name, rules FROM community_group WHERE id = ?",
                          (group_id,)) == [(name, "文明交流")]
    if js:
        _assert_no_full_load(page)

    # a member, by customer number
    page.fill("#community-member-form #number", member_number.lower())
    page.select_option("#community-member-form #role", "representative")
    page.click("#community-member-form button[type=submit]")
    expect(page.locator("#community-members tbody tr", has_text=member_name)).to_have_count(1)
    assert instance.query("SELECT customer_id, role FROM community_member WHERE group_id = ?",
                          (group_id,)) == [(member_id, "representative")]

    # an event with one place
    page.click(f"#community-events a[href='/community/groups/{group_id}/events/new']")
    page.wait_for_url(re.compile(r"/events/new$"))
    page.fill("#community-event-form #title", f"品鉴会 {tag}")
    page.fill("#community-event-form #starts_at", "2099-04-01T14:00")
    page.fill("#community-event-form #capacity", "1")
    page.click("#community-event-form button[type=submit]")
    page.wait_for_url(re.compile(r"/community/events/\d+$"))
    event_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    assert instance.query("SELECT capacity, starts_at FROM community_event WHERE id = ?",
                          (event_id,)) == [(1, "2099-04-01 06:00:00")]     # 14:00 in Shanghai

    # sign-up: the member takes the place; the next one is refused as full
    signups = f"/community/events/{event_id}/signups"
    page.select_option("#community-signup-form #customer", str(member_id))
    page.click("#community-signup-form button[type=submit]")
    expect(page.locator("#community-attendance tr", has_text=member_name)).to_have_count(1)
    page.fill("#community-signup-form #number", other_number)
    assert _submit(page, js, "#community-signup-form", signups) == 422
    error = page.locator("#community-signup-form .error-box")
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile("full|满"))
    assert instance.query("SELECT customer_id FROM community_signup WHERE event_id = ? AND "
                          "cancelled_at IS NULL", (event_id,)) == [(member_id,)]
    if js:
        _assert_no_full_load(page)

    # check-in at the desk: the member's row gets its button
    row = page.locator("#community-attendance tr", has_text=member_name)
    row.locator("form[action$='/checkins'] button[type=submit]").click()
    expect(page.locator("#community-attendance tr", has_text=member_name)
           .locator(".tag")).to_have_count(1)
    checkins = instance.query("SELECT id, customer_id, walk_in FROM community_checkin "
                              "WHERE event_id = ?", (event_id,))
    assert [(c, w) for _i, c, w in checkins] == [(member_id, 0)]
    events = instance.query("SELECT payload FROM outbox_event WHERE name = "
                            "'community.checked_in'")
    payloads = [json.loads(p) for (p,) in events]
    assert {"customer_id": member_id, "checkin_id": checkins[0][0]}.items() <= \
        next(p for p in payloads if p["checkin_id"] == checkins[0][0]).items()

    # a topic on the member's behalf, closed by the manager: no more replies
    page.goto(f"/community/groups/{group_id}/topics/new")
    title = f"龙井何时到货 {tag}"
    page.select_option("#community-topic-form #customer", str(member_id))
    page.fill("#community-topic-form #title", title)
    page.click("#community-topic-form button[type=submit]")
    page.wait_for_url(re.compile(r"/community/topics/\d+$"))
    expect(page.locator("main h1")).to_contain_text(title)
    topic_id = int(urlsplit(page.url).path.rsplit("/", 1)[1])
    page.fill("#community-reply-form #body", "三月底到货")
    page.click("#community-reply-form button[type=submit]")
    expect(page.locator("#community-replies .timeline li", has_text="三月底到货")).to_have_count(1)
    page.click("#community-moderation form:has(input[value=close]) button")
    expect(page.locator("#community-reply-form")).to_have_count(0)
    assert instance.query("SELECT closed, customer_id, replies FROM community_topic WHERE id = ?",
                          (topic_id,)) == [(1, member_id, 1)]

    # the customer's page: the "Groups" panel (htmx loads it; without JavaScript, "Show")
    page.goto(f"/customers/{member_id}")
    panel = page.locator("main #panel-community_groups")
    if not js:
        panel.locator(f"a[href='/customers/{member_id}/panels/community_groups']").click()
        page.wait_for_url(re.compile(r"/panels/community_groups$"))
    expect(panel.locator(f"a[href='/community/groups/{group_id}']")).to_have_text(name)
