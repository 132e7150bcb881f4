"""Logging activities (full page and htmx), last-contacted, and "my follow-ups"."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from crm.activities.models import Activity
from crm.db import utcnow
from crm.events.models import OutboxEvent
from tests.conftest import htmx

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


@pytest.fixture
def customer(seed):
    return seed.customer("杭州华信科技有限公司", owner="sales",
                         contacts=[{"name": "李雷", "mobile": "13912345678"}])


def activity_form(**values):
    data = {"kind": "call", "outcome": "", "contact": "", "occurred_at": "", "summary": "",
            "next_followup_on": ""}
    data.update(values)
    return data


def test_log_activity_full_post(client, login, seed, customer):
    login("sales")
    before = utcnow()
    response = client.post(f"/customers/{customer.id}/activities",
                           data=activity_form(summary="谈了新订单", outcome="interested"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/customers/{customer.id}#timeline")
    activity = seed.run(lambda: Activity.get(Activity.customer == customer.id))
    assert (activity.kind, activity.summary, activity.outcome) == ("call", "谈了新订单",
                                                                    "interested")
    assert activity.user_id == seed.user("sales").id
    stored = seed.get_customer(customer.id)
    assert stored.last_contacted_at is not None and stored.last_contacted_at >= before
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Activity logged." in page and "谈了新订单" in page
    assert "activity.logged" in seed.run(lambda: [e.name for e in OutboxEvent.select()])


def test_log_activity_htmx(client, login, seed, customer):
    login("sales")
    contact_id = seed.run(lambda: customer.contacts.get().id)
    response = client.post(f"/customers/{customer.id}/activities", headers=htmx("log-activity"),
                           data=activity_form(kind="visit", summary="上门拜访",
                                              contact=str(contact_id)))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "HX-Request" in response.headers["Vary"]
    # the fresh form in place of the old one (no summary left in it)
    form = re.search(r'<form id="log-activity".*?</form>', body, re.S).group(0)
    assert "上门拜访" not in form
    assert re.search(r'<textarea[^>]*name="summary"[^>]*>\s*</textarea>', form)
    # the new item, swapped out of band to the top of the timeline
    oob = re.search(r'<ol class="timeline" hx-swap-oob="afterbegin:#timeline-items">(.*?)</ol>',
                    body, re.S)
    assert oob and "上门拜访" in oob.group(1) and "李雷" in oob.group(1)
    assert oob.group(1).count('<li class="act') == 1
    # last contacted, out of band too
    last = re.search(r'<dd id="last-contacted" hx-swap-oob="true">(.*?)</dd>', body, re.S)
    assert last and "never" not in last.group(1) and last.group(1).strip()
    assert seed.get_customer(customer.id).last_contacted_at is not None


def test_backdated_activity_logged_via_htmx_is_shown(client, login, seed, customer):
    """Older than the first page of the timeline, the new item still comes back to show."""
    seed.calls(customer.id, "sales", [dt.datetime(2025, 6, 1) + dt.timedelta(days=i)
                                      for i in range(25)])
    login("sales")
    response = client.post(f"/customers/{customer.id}/activities", headers=htmx("log-activity"),
                           data=activity_form(summary="补记一年前的电话",
                                              occurred_at="2024-06-01T09:00"))
    assert response.status_code == 200
    oob = re.search(r'hx-swap-oob="afterbegin:#timeline-items">(.*?)</ol>',
                    response.get_data(as_text=True), re.S)
    assert oob and "补记一年前的电话" in oob.group(1)


def test_log_activity_validation(client, login, customer):
    login("sales")
    url = f"/customers/{customer.id}/activities"
    response = client.post(url, data=activity_form(summary=""))
    assert response.status_code == 422
    assert "Required." in response.get_data(as_text=True)
    assert b"<html" in response.data
    partial = client.post(url, data=activity_form(summary="", kind="bogus"),
                          headers=htmx("log-activity"))
    assert partial.status_code == 422
    body = partial.get_data(as_text=True)
    assert "<html" not in body and 'id="log-activity"' in body and "Not a valid choice" in body
    # "purchase" is recorded with a purchase, never typed in
    assert client.post(url, data=activity_form(kind="purchase", summary="x")).status_code == 422


def test_contact_of_another_customer_is_refused(client, login, seed, customer):
    other = seed.customer("北京全新科技有限公司", owner="sales", contacts=[{"name": "韩梅梅"}])
    foreign = seed.run(lambda: other.contacts.get().id)
    login("sales")
    response = client.post(f"/customers/{customer.id}/activities",
                           data=activity_form(summary="x", contact=str(foreign)))
    assert response.status_code == 404
    assert seed.run(Activity.select().count) == 0


def test_occurred_at_is_local_time(client, login, seed, customer):
    login("sales")
    client.post(f"/customers/{customer.id}/activities",
                data=activity_form(summary="早上的电话", occurred_at="2026-01-15T10:00"))
    activity = seed.run(lambda: Activity.get())
    assert activity.occurred_at == dt.datetime(2026, 1, 15, 2, 0)       # stored in UTC


def test_backdated_activity_does_not_move_last_contacted_back(client, login, seed, customer):
    login("sales")
    url = f"/customers/{customer.id}/activities"
    client.post(url, data=activity_form(summary="今天"))
    latest = seed.get_customer(customer.id).last_contacted_at
    client.post(url, data=activity_form(summary="上个月的", occurred_at="2020-05-01T09:00"))
    assert seed.get_customer(customer.id).last_contacted_at == latest
    assert seed.run(Activity.select().count) == 2


def test_backdated_first_activity_sets_last_contacted(client, login, seed, customer):
    login("sales")
    client.post(f"/customers/{customer.id}/activities",
                data=activity_form(summary="old", occurred_at="2020-05-01T09:00"))
    assert seed.get_customer(customer.id).last_contacted_at == dt.datetime(2020, 5, 1, 1, 0)


def test_a_note_is_not_contact(client, login, seed, customer):
    login("sales")
    response = client.post(f"/customers/{customer.id}/activities",
                           data=activity_form(kind="note", summary="内部备注"))
    assert response.status_code == 303
    assert seed.get_customer(customer.id).last_contacted_at is None
    htmx_response = client.post(f"/customers/{customer.id}/activities",
                                data=activity_form(kind="note", summary="再一条"),
                                headers=htmx("log-activity"))
    assert "never" in re.search(r'<dd id="last-contacted"[^>]*>(.*?)</dd>',
                                htmx_response.get_data(as_text=True), re.S).group(1)


def test_timeline_newest_first(client, login, seed, customer):
    seed.activity(customer.id, "sales", summary="第一", occurred_at=dt.datetime(2026, 1, 1))
    seed.activity(customer.id, "sales", summary="第三", occurred_at=dt.datetime(2026, 3, 1))
    seed.activity(customer.id, "sales", summary="第二", occurred_at=dt.datetime(2026, 2, 1))
    login("sales")
    page = client.get(f"/customers/{customer.id}/activities").get_data(as_text=True)
    assert page.index("第三") < page.index("第二") < page.index("第一")


# -- my follow-ups -----------------------------------------------------------------------------

@pytest.fixture
def followups(seed, customer):
    d = today()
    other = seed.customer("北京全新科技有限公司", owner="sales")
    made = {
        "overdue": seed.activity(customer.id, "sales", summary="逾期跟进",
                                 next_followup_on=d - dt.timedelta(days=3)),
        "today": seed.activity(other.id, "sales", summary="今天跟进", next_followup_on=d),
        "later": seed.activity(customer.id, "sales", summary="下周跟进",
                               next_followup_on=d + dt.timedelta(days=7)),
        "theirs": seed.activity(customer.id, "sales2", summary="别人的跟进",
                                next_followup_on=d - dt.timedelta(days=1)),
    }
    return made


def test_followups_page(client, login, followups):
    login("sales")
    response = client.get("/followups")
    body = response.get_data(as_text=True)
    overdue, due = body.split("<section")[1:3]
    stale = next(s for s in body.split("<section") if "not contacted for" in s)
    assert "逾期跟进" in overdue and "今天跟进" not in overdue
    assert "今天跟进" in due and "逾期跟进" not in due
    assert "下周跟进" not in body and "别人的跟进" not in body
    # both customers were just contacted (the activities above): none is stale
    assert "Nothing here." in stale


def test_stale_customers(client, login, seed, customer):
    from crm.customers.models import Customer
    now = utcnow()
    ten = seed.customer("小周贸易有限公司", owner="sales")
    forty = seed.customer("老王贸易有限公司", owner="sales")
    seed.customer("别人的客户有限公司", owner="sales2")
    seed.run(lambda: Customer.update(last_contacted_at=now - dt.timedelta(days=10))
             .where(Customer.id == ten.id).execute())
    seed.run(lambda: Customer.update(last_contacted_at=now - dt.timedelta(days=40))
             .where(Customer.id == forty.id).execute())
    seed.run(lambda: Customer.update(last_contacted_at=now - dt.timedelta(days=1))
             .where(Customer.id == customer.id).execute())
    login("sales")

    def stale(query=""):
        body = client.get("/followups" + query).get_data(as_text=True)
        return next(s for s in body.split("<section") if "not contacted for" in s)

    default = stale()
    assert "not contacted for 7 days" in default
    assert "小周贸易" in default and "老王贸易" in default
    assert "杭州华信" not in default and "别人的客户" not in default
    thirty = stale("?days=30")
    assert "not contacted for 30 days" in thirty
    assert "老王贸易" in thirty and "小周贸易" not in thirty
    assert "<option selected>30</option>" in thirty
    # nonsense falls back to the default
    assert "not contacted for 7 days" in stale("?days=-5")
    # as the htmx partial the select asks for
    partial = client.get("/followups?days=30", headers=htmx("followups"))
    assert b"<html" not in partial.data and "老王贸易" in partial.get_data(as_text=True)


def test_mark_done(client, login, seed, followups):
    login("sales")
    overdue = followups["overdue"]
    response = client.post(f"/activities/{overdue.id}/done", data={"next": "/followups?days=30"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/followups?days=30")
    assert seed.run(lambda: Activity.get_by_id(overdue.id).followup_done)
    page = client.get("/followups").get_data(as_text=True)
    assert "逾期跟进" not in page and "Follow-up done." in page


def test_mark_done_htmx(client, login, seed, followups):
    login("sales")
    due = followups["today"]
    response = client.post(f"/activities/{due.id}/done", headers=htmx(f"fu-{due.id}"))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and f'id="fu-{due.id}"' in body and "Done" in body
    assert "HX-Request" in response.headers["Vary"]
    assert seed.run(lambda: Activity.get_by_id(due.id).followup_done)


def test_mark_done_safe_next(client, login, followups):
    login("sales")
    for target in ("//evil.com/x", "https://evil.com/", "/\\evil.com", "/\t/evil.com",
                   "javascript:alert(1)"):
        activity = followups["overdue"]
        response = client.post(f"/activities/{activity.id}/done", data={"next": target})
        assert response.status_code == 303
        assert response.headers["Location"] == "/followups", target


def test_mark_done_only_own_or_manager(client, login, seed, followups):
    theirs = followups["theirs"]
    login("sales")
    assert client.post(f"/activities/{theirs.id}/done").status_code == 404
    assert not seed.run(lambda: Activity.get_by_id(theirs.id).followup_done)
    client.post("/logout")
    login("manager")
    assert client.post(f"/activities/{theirs.id}/done").status_code == 303
    assert seed.run(lambda: Activity.get_by_id(theirs.id).followup_done)
    assert client.post("/activities/999999/done").status_code == 404


def test_dashboard_followup_card_counts(client, login, followups):
    login("sales")
    body = client.get("/dashboard/cards/followups", headers=htmx("card-followups")) \
        .get_data(as_text=True)
    assert re.search(r"\b1 overdue · 1 due today", body), body


def test_followups_follow_the_customer(client, login, seed, customer, followups):
    """Handed to somebody else or trashed, a customer's follow-ups leave my list and card."""
    from crm.customers.models import Customer
    seed.run(lambda: Customer.update(owner=seed.user("sales2").id)
             .where(Customer.id == customer.id).execute())
    login("sales")
    page = client.get("/followups").get_data(as_text=True)
    assert "逾期跟进" not in page and "今天跟进" in page
    card = client.get("/dashboard/cards/followups").get_data(as_text=True)
    assert re.search(r"\b0 overdue · 1 due today", card), card
    other = followups["today"].customer_id
    seed.run(lambda: Customer.update(deleted_at=Customer.created_at)
             .where(Customer.id == other).execute())
    assert "今天跟进" not in client.get("/followups").get_data(as_text=True)
    card = client.get("/dashboard/cards/followups").get_data(as_text=True)
    assert re.search(r"\b0 overdue · 0 due today", card), card
