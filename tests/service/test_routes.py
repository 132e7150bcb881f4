"""The service desk's pages as full pages and htmx partials, each role, scope (404 outside it),
validation messages, and the whole workflow through plain forms (JavaScript off)."""
from __future__ import annotations

import re

import pytest

from plugins.service.models import Ticket, TicketEvent
from tests.conftest import htmx


@pytest.fixture
def world(seed, tickets):
    """A customer of "sales" with a ticket, and one of "sales2" with a ticket."""
    own = seed.customer("杭州华信科技有限公司", owner="sales",
                        contacts=[{"name": "王芳", "mobile": "13812345678"}])
    other = seed.customer("宁波海天贸易有限公司", owner="sales2")
    return {"own": own, "other": other,
            "own_ticket": tickets.open(own.id, subject="热水器漏水"),
            "other_ticket": tickets.open(other.id, subject="发票开错", type="inquiry")}


def switch(client, login, username):
    """Sign out, then in as ``username`` (signing in while signed in redirects)."""
    client.post("/logout")
    return login(username)


def _version(page: bytes) -> str:
    return re.search(rb'name="version" value="(\d+)"', page).group(1).decode()


def test_list_full_page_and_partial(client, login, world):
    login("service")
    page = client.get("/service/tickets")
    assert page.status_code == 200 and b"<html" in page.data
    assert "热水器漏水".encode() in page.data and "发票开错".encode() in page.data
    partial = client.get("/service/tickets?type=inquiry", headers=htmx("results"))
    assert partial.status_code == 200 and b"<html" not in partial.data
    assert partial.data.lstrip().startswith(b'<div id="results"')
    assert "发票开错".encode() in partial.data and "热水器漏水".encode() not in partial.data
    assert "HX-Request" in partial.headers.get("Vary", "")


def test_list_is_scoped_by_the_customers_the_user_sees(client, login, world):
    login("sales")
    page = client.get("/service/tickets").data
    assert "热水器漏水".encode() in page and "发票开错".encode() not in page
    # filtering on a customer outside the scope is a 404, never a leak
    assert client.get(f"/service/tickets?customer={world['other'].id}").status_code == 404
    assert client.get(f"/service/tickets?customer={world['own'].id}").status_code == 200


def test_list_filters(client, login, world, seed):
    login("admin")
    expected = {"status=open": 2, "status=new": 2, "status=closed": 0, "priority=normal": 2,
                "type=inquiry": 1, "assignee=me": 0, "assignee=none": 2,
                f"assignee={seed.user('service').id}": 0, "sla=breached": 0, "sla=at_risk": 0,
                "q=FK": 2, "q=漏水": 1, "page=3": 2, "status=bogus": 2, "escalated=me": 0}
    for query, count in expected.items():
        response = client.get(f"/service/tickets?{query}", headers=htmx("results"))
        assert response.status_code == 200, query
        shown = len(re.findall(rb'<tr>\s*<td class="num"', response.data))
        assert shown == count, (query, shown)


def test_roles_without_the_permission_get_403(client, login, world):
    login("clerk")
    assert client.get("/service/tickets").status_code == 403
    assert client.get(f"/service/tickets/{world['own_ticket'].id}").status_code == 403
    assert client.get("/service/analysis").status_code == 403
    switch(client, login, "service")
    assert client.get("/service/settings/sla").status_code == 403
    assert client.get("/service/settings/calendar").status_code == 403


def test_ticket_outside_the_scope_is_404(client, login, world):
    login("sales2")
    own = world["own_ticket"].id
    assert client.get(f"/service/tickets/{own}").status_code == 404
    for action in ("assign", "start", "resolve", "close", "reopen", "comments", "edit"):
        assert client.post(f"/service/tickets/{own}/{action}", data={"version": 1}).status_code \
            == 404, action
    assert client.get(f"/service/customers/{world['own'].id}/tickets/new").status_code == 404
    assert client.get(f"/customers/{world['own'].id}/panels/service_tickets").status_code == 404
    assert client.get("/service/tickets/999999").status_code == 404


def test_sales_sees_but_does_not_handle(client, login, world):
    login("sales")
    ticket = world["own_ticket"].id
    page = client.get(f"/service/tickets/{ticket}")
    assert page.status_code == 200 and b'action="/service/tickets/%d/start"' % ticket not in page.data
    assert client.post(f"/service/tickets/{ticket}/start", data={"version": 1}).status_code == 403
    # but may add a note (which is not the ticket's first response)
    assert client.post(f"/service/tickets/{ticket}/comments",
                       data={"note": "客户又来电"}).status_code == 303


def test_new_ticket_validation_and_creation(client, login, world, seed):
    login("service")
    customer = world["own"].id
    form = client.get(f"/service/customers/{customer}/tickets/new")
    assert form.status_code == 200 and "王芳".encode() in form.data
    bad = client.post(f"/service/customers/{customer}/tickets/new",
                      data={"type": "complaint", "channel": "phone", "priority": "normal",
                            "subject": "", "content": ""})
    assert bad.status_code == 422 and bad.data.count(b"Required.") == 2
    foreign = client.post(f"/service/customers/{customer}/tickets/new",
                          data={"type": "nonsense", "channel": "phone", "priority": "normal",
                                "subject": "x", "content": "y"})
    assert foreign.status_code == 422 and b"Not a valid choice" in foreign.data
    ok = client.post(f"/service/customers/{customer}/tickets/new",
                     data={"type": "after_sales", "channel": "wechat", "priority": "high",
                           "subject": "安装预约", "content": "周六上门",
                           "assignee": str(seed.user("service").id)})
    assert ok.status_code == 303
    ticket_id = int(ok.headers["Location"].rstrip("/").split("/")[-1])
    stored = seed.run(Ticket.get_by_id, ticket_id)
    assert (stored.status, stored.assignee_id, stored.type) == ("assigned",
                                                                seed.user("service").id,
                                                                "after_sales")


def test_new_ticket_from_htmx_is_a_partial(client, login, world):
    login("service")
    response = client.post(f"/service/customers/{world['own'].id}/tickets/new",
                           data={"type": "complaint"}, headers=htmx("new-ticket"))
    assert response.status_code == 422 and b"<html" not in response.data
    assert b'id="new-ticket"' in response.data


def test_a_clerk_opens_a_ticket_and_goes_back_to_the_customer(client, login, world):
    login("clerk")
    customer = world["own"].id
    response = client.post(f"/service/customers/{customer}/tickets/new",
                           data={"type": "complaint", "channel": "visit", "priority": "normal",
                                 "subject": "门店投诉", "content": "排队太久",
                                 "assignee": "1"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customers/{customer}")


def test_the_whole_workflow_without_javascript(client, login, world, seed):
    login("service")
    tid = world["own_ticket"].id
    url = f"/service/tickets/{tid}"
    me = str(seed.user("service").id)
    assert client.post(f"{url}/assign", data={"version": "1", "assignee": ""}).status_code == 422
    assert client.post(f"{url}/assign", data={"version": "1", "assignee": me}).status_code == 303
    assert client.post(f"{url}/start", data={"version": "2"}).status_code == 303
    # a complaint is resolved with its cause
    missing = client.post(f"{url}/resolve", data={"version": "3", "resolution": "换阀门"})
    assert missing.status_code == 422 and b"A complaint needs its cause" in missing.data
    assert client.post(f"{url}/resolve", data={"version": "3", "resolution": "换阀门",
                                               "cause": "product_quality"}).status_code == 303
    # closing needs the follow-up and the satisfaction
    page = client.get(url).data
    assert b"Follow up and close" in page
    bad = client.post(f"{url}/close", data={"version": _version(page), "resolution": "换阀门",
                                            "followup_channel": "phone", "followup_note": ""})
    assert bad.status_code == 422
    assert b"Record what the customer said in the follow-up." in bad.data
    assert b"Ask the customer: 1 to 5." in bad.data
    done = client.post(f"{url}/close", data={"version": _version(page), "resolution": "换阀门",
                                             "followup_channel": "phone",
                                             "followup_note": "客户确认不漏了",
                                             "satisfaction": "4"})
    assert done.status_code == 303
    stored = seed.run(Ticket.get_by_id, tid)
    assert (stored.status, stored.satisfaction, stored.cause) == ("closed", 4, "product_quality")
    page = client.get(url).data
    assert "客户确认不漏了".encode() in page and b"4 \xc2\xb7 Satisfied" in page
    # reopen, and a stale form conflicts
    assert client.post(f"{url}/reopen", data={"version": _version(page),
                                              "reason": ""}).status_code == 422
    assert client.post(f"{url}/reopen", data={"version": _version(page),
                                              "reason": "又漏了"}).status_code == 303
    stale = client.post(f"{url}/start", data={"version": "1"})
    assert stale.status_code == 409 and b"Somebody changed this ticket" in stale.data
    assert seed.run(Ticket.get_by_id, tid).status == "assigned"


def test_edit_the_description(client, login, world, seed):
    login("service")
    tid = world["own_ticket"].id
    data = {"version": "1", "type": "complaint", "channel": "phone", "priority": "urgent",
            "subject": "热水器漏水（严重）", "content": "水淹厨房", "contact": "", "product": ""}
    assert client.post(f"/service/tickets/{tid}/edit", data=dict(data, subject="")).status_code \
        == 422
    assert client.post(f"/service/tickets/{tid}/edit",
                       data=dict(data, contact="999999")).status_code == 422
    assert client.post(f"/service/tickets/{tid}/edit", data=data).status_code == 303
    stored = seed.run(Ticket.get_by_id, tid)
    assert stored.priority == "urgent" and stored.subject == "热水器漏水（严重）"


def test_comment_as_htmx_partial(client, login, world, seed):
    login("service")
    tid = world["own_ticket"].id
    response = client.post(f"/service/tickets/{tid}/comments", data={"note": "已电话联系"},
                           headers=htmx("ticket-events"))
    assert response.status_code == 200 and b"<html" not in response.data
    assert response.data.lstrip().startswith(b'<div id="ticket-events"')
    assert "已电话联系".encode() in response.data
    empty = client.post(f"/service/tickets/{tid}/comments", data={"note": ""},
                        headers=htmx("ticket-events"))
    assert empty.status_code == 422 and b"Required." in empty.data
    assert seed.run(Ticket.get_by_id, tid).responded_at is not None
    full = client.get(f"/service/tickets/{tid}", headers=htmx("ticket-events"))
    assert full.status_code == 200 and b"<html" not in full.data


def test_panel_and_action_on_the_customer_page(client, login, world):
    login("sales")
    customer = world["own"].id
    page = client.get(f"/customers/{customer}").data
    assert b"/customers/%d/panels/service_tickets" % customer in page
    assert b"/service/customers/%d/tickets/new" % customer in page
    panel = client.get(f"/customers/{customer}/panels/service_tickets",
                       headers=htmx("panel-service_tickets"))
    assert panel.status_code == 200 and b"<html" not in panel.data
    assert "热水器漏水".encode() in panel.data and b"could not be loaded" not in panel.data
    full = client.get(f"/customers/{customer}/panels/service_tickets")
    assert full.status_code == 200 and b"<html" in full.data


def test_dashboard_cards(client, login, world, seed, tickets):
    tickets.open(world["own"].id, assignee=seed.user("service").id, subject="我的")
    login("service")
    dashboard = client.get("/").data
    assert b"/dashboard/cards/service_queue" in dashboard
    assert b"/dashboard/cards/service_csat" in dashboard
    queue = client.get("/dashboard/cards/service_queue", headers=htmx("card-service_queue"))
    assert queue.status_code == 200 and b"<html" not in queue.data
    assert b"could not be loaded" not in queue.data and b"assignee=me" in queue.data
    csat = client.get("/dashboard/cards/service_csat", headers=htmx("card-service_csat"))
    assert csat.status_code == 200 and b"could not be loaded" not in csat.data
    switch(client, login, "clerk")
    assert b"service_queue" not in client.get("/").data


def test_nav_item_follows_the_permission(client, login, world):
    login("service")
    assert b'href="/service/tickets"' in client.get("/").data
    switch(client, login, "clerk")
    assert b'href="/service/tickets"' not in client.get("/").data


def test_analysis_page_and_partial(client, login, world):
    login("manager")
    page = client.get("/service/analysis?months=12")
    assert page.status_code == 200 and b"Complaint analysis" in page.data and b"<svg" in page.data
    partial = client.get("/service/analysis?months=3", headers=htmx("analysis"))
    assert partial.status_code == 200 and b"<html" not in partial.data
    assert partial.data.lstrip().startswith(b'<div id="analysis"')


def test_sla_settings(client, login, world, seed):
    login("admin")
    page = client.get("/service/settings/sla")
    assert page.status_code == 200 and b'name="response_complaint_urgent" id="response_complaint_urgent" value="2"' in page.data
    fields = dict(re.findall(rb'name="((?:response|resolve)_[a-z_]+)" id="[^"]*" value="(\d+)"',
                             page.data))
    data = {k.decode(): v.decode() for k, v in fields.items()}
    assert len(data) == 32
    bad = client.post("/service/settings/sla", data=dict(data, resolve_complaint_urgent="1"))
    assert bad.status_code == 422 and b"cannot be shorter than the first response" in bad.data
    empty = client.post("/service/settings/sla", data=dict(data, response_inquiry_low=""))
    assert empty.status_code == 422 and b"Enter a number of hours." in empty.data
    assert client.post("/service/settings/sla",
                       data=dict(data, response_complaint_urgent="1")).status_code == 303
    from plugins.service import services
    assert seed.run(services.sla_table)[("complaint", "urgent")] == (1, 8)


def test_calendar_settings(client, login, world, seed):
    from plugins.service.models import CalendarDay
    login("admin")
    assert client.get("/service/settings/calendar").status_code == 200
    assert client.post("/service/settings/calendar", data={"day": "", "workday": "0"}) \
        .status_code == 422
    assert client.post("/service/settings/calendar",
                       data={"day": "2026-12-31", "workday": "0", "note": "年终盘点"}) \
        .status_code == 303
    page = client.get("/service/settings/calendar").data
    assert "年终盘点".encode() in page
    assert client.post("/service/settings/calendar/delete", data={"day": "2026-12-31"}) \
        .status_code == 303
    assert seed.run(lambda: CalendarDay.select().count()) == 0


def test_check_sla_command(runner, world):
    result = runner.invoke(args=["service-check-sla"])
    assert result.exit_code == 0, result.output
    assert "service:" in result.output


def test_the_periodic_job_is_registered(app):
    tasks = app.extensions["service.tasks"]
    assert tasks["check_sla"].name == "service.check_sla"
