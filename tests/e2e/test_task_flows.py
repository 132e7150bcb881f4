"""Tasks and notifications in a real browser, with JavaScript on and off: a manager gives a rep
a task; the rep sees the unread count in the header, opens the notification, finds the task on
"My tasks" and marks it done (with htmx, the row is swapped in place: no full page load)."""
from __future__ import annotations

import datetime as dt
import re
import secrets

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def _sign_out(page):
    page.click("header.top form[action$='/logout'] button[type=submit]")
    page.wait_for_url(re.compile(r"/login"))


def test_a_manager_gives_a_task_and_the_rep_does_it(page, js, instance):
    title = f"端到端任务 {'js' if js else 'nojs'} {secrets.token_hex(3)}"
    sign_in(page, "manager")
    page.goto("/followups")
    page.click("main a[href='/tasks/new']")
    page.wait_for_url(re.compile(r"/tasks/new"))
    # a title is required: the form comes back with the error, nothing is saved
    page.fill("#due_on", dt.date.today().isoformat())
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.click("#task-form button[type=submit]")
    assert info.value.status == 422
    expect(page.locator("#task-form .error")).to_be_visible()
    page.fill("#title", title)
    page.select_option("#owner", label="李娜")
    page.click("#task-form button[type=submit]")
    page.wait_for_url(re.compile(r"/followups$"))
    _sign_out(page)

    sign_in(page, "sales1")
    badge = page.locator("#notif-badge .badge")
    expect(badge).to_be_visible()
    page.click("#notif-badge")
    page.wait_for_url(re.compile(r"/notifications$"))
    note = page.locator(".notifications li.unread", has_text=title).first
    note.locator("button").click()
    page.wait_for_url(re.compile(r"/tasks/\d+/edit"))
    expect(page.locator("#title")).to_have_value(title)

    page.goto("/followups")
    row = page.locator("li[id^=task-]", has_text=title)
    expect(row).to_have_count(1)
    if js:
        page.evaluate("window.__marker = 1")
    row.locator("button[type=submit]").click()
    if js:
        done = page.locator("li[id^=task-].muted", has_text=title)
        expect(done).to_have_count(1)                 # swapped in place, with an undo
        assert page.evaluate("window.__marker") == 1, "the page was fully reloaded"
    else:
        page.wait_for_url(re.compile(r"/followups"))
        expect(page.locator("li[id^=task-]", has_text=title)).to_have_count(0)
    # stored: a fresh load no longer lists it as open
    page.goto("/followups")
    expect(page.locator("li[id^=task-]:not(.muted)", has_text=title)).to_have_count(0)
    stored = instance.query("SELECT done_at FROM task WHERE title = ?", (title,))
    assert stored and stored[0][0] is not None
