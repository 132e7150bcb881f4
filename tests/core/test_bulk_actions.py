"""Bulk actions on the customer list (issue 9): add tags, remove a tag, follow-up tasks, on the
ticked customers or on all matching the filter -- inside the user's scope, with permissions,
a cap, a confirmation, the audit and events of ordinary edits, without JavaScript and with
htmx.  Departments of the fixtures: Sales > (Team A: sales, sales2; Team B), Service (service,
clerk); manager in Sales; admin in none (so outside the manager's scope)."""
from __future__ import annotations

import datetime as dt
import gzip
import html
import json
import re
from urllib.parse import quote

import pytest
from werkzeug.datastructures import MultiDict

from crm import hookimpl
from crm.accounts.models import User
from crm.audit.models import AuditLog
from crm.customers import bulk_actions
from crm.customers.models import Customer, CustomerShare, CustomerTag, Tag
from crm.events.models import OutboxEvent
from crm.notifications.models import Notification
from crm.tasks.models import Task
from tests.conftest import htmx


class LockOne:
    """Denies ``customer.edit`` on the customer named 赵敏 only (a per-customer vote)."""
    PLUGIN_NAME = "bulktest"

    @hookimpl
    def crm_permission_allowed(self, user, action, resource):
        if action == "customer.edit" and getattr(resource, "name", None) == "赵敏":
            return False
        return None


@pytest.fixture
def plugins():
    return [LockOne()]


# The Chinese of a few messages (as in the catalogue's entries for them), compiled into a
# catalogue of this test's own that the app loads after its real one: the flash messages are
# then checked in the user's language whether or not the real catalogue has them yet.
ZH = {
    ("%(num)s customer tagged.", "%(num)s customers tagged."): "已为 %(num)s 个客户添加标签。",
    ("%(num)s skipped (not yours to edit).", "%(num)s skipped (not yours to edit)."):
        "跳过 %(num)s 个（您无权编辑）。",
    ("%(num)s follow-up task created.", "%(num)s follow-up tasks created."):
        "已创建 %(num)s 个跟进任务。",
}


@pytest.fixture
def app_config(tmp_path):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    catalog = Catalog(locale="zh_Hans_CN")
    for msgid, msgstr in ZH.items():
        catalog.add(msgid, (msgstr,) if isinstance(msgid, tuple) else msgstr)
    folder = tmp_path / "bulk-i18n" / "zh_Hans_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    return {"BABEL_TRANSLATION_DIRECTORIES": "translations;" + str(tmp_path / "bulk-i18n")}


@pytest.fixture
def book(seed):
    made = {
        "zhang": seed.customer("张伟", owner="sales", tags=["VIP"]),
        "wang": seed.customer("王芳", owner="sales"),
        "other": seed.customer("李娜", owner="sales2", tags=["VIP"]),
        "admins": seed.customer("刘洋", owner="admin"),
    }
    return {k: v.id for k, v in made.items()}


def tags_of(seed, customer_id: int) -> list[str]:
    return seed.run(lambda: [t.name for t in Tag.select().join(CustomerTag).where(
        CustomerTag.customer == customer_id).order_by(Tag.name)])


def tag_id(seed, name: str) -> int:
    return seed.run(lambda: Tag.get(Tag.name == name).id)


def version(seed, customer_id: int) -> int:
    return seed.get_customer(customer_id).version


def apply(client, action, ids=(), apply_to="ticked", back="/customers", filter="", headers=None,
          **fields):
    data = {"action": action, "apply_to": apply_to, "ids": [str(i) for i in ids],
            "back": back, "filter": filter, **fields}
    return client.post("/customers/bulk/apply", data=data, headers=headers or {})


def flash_on(client, path="/customers") -> str:
    body = client.get(path).get_data(as_text=True)
    found = re.search(r'<div class="flashes"[^>]*>(.*?)</div>', body, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""


def audit_rows(seed, customer_id: int) -> list[tuple]:
    return seed.run(lambda: [
        (r.action, r.field, r.old, r.new, r.user_id) for r in AuditLog.select().where(
            (AuditLog.entity == "customer") & (AuditLog.entity_id == customer_id)
            & (AuditLog.action != "create")).order_by(AuditLog.id)])


def updated_events(seed, customer_id: int) -> list[dict]:
    payloads = seed.run(lambda: [json.loads(e.payload) for e in OutboxEvent.select().where(
        OutboxEvent.name == "customer.updated").order_by(OutboxEvent.id)])
    return [p for p in payloads if p.get("customer_id") == customer_id]


def forms_of(page: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each <form>'s action and the (name, value) of its hidden inputs, as a browser sends them."""
    out = []
    for attrs, inner in re.findall(r"<form([^>]*)>(.*?)</form>", page, re.S):
        action = html.unescape(re.search(r'action="([^"]*)"', attrs).group(1))
        hidden = [(html.unescape(n), html.unescape(v)) for n, v in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', inner)]
        out.append((action, hidden))
    return out


def form_with(page: str, marker: tuple[str, str]):
    return next((action, fields) for action, fields in forms_of(page) if marker in fields)


def form_at(page: str, action: str):
    return next((url, fields) for url, fields in forms_of(page) if url == action)


# -- the list --------------------------------------------------------------------------------------

def test_the_list_offers_ticking_and_one_button(client, login, book):
    login("sales")
    page = client.get("/customers?sort=name").get_data(as_text=True)
    assert page.count('form="pick"') == 2 and 'id="pick"' in page
    assert 'id="bulk"' not in page            # reassigning stays for managers and admins
    assert 'formaction="/customers/bulk"' in page and "Act on selected…" in page
    assert 'name="filter" value="sort=name"' in page
    assert 'name="tags"' not in page          # the action forms are on a page of their own
    client.post("/logout")
    login("manager")
    page = client.get("/customers").get_data(as_text=True)
    assert 'form="bulk"' in page and 'name="owner"' in page and "Act on selected…" in page
    client.post("/logout")
    login("clerk")                             # the counter's look-up: no browsing, no bulk
    assert 'class="pick"' not in client.get("/customers?q=张伟").get_data(as_text=True)
    assert client.post("/customers/bulk", data={"ids": [str(book["zhang"])]}).status_code == 403
    assert apply(client, "task", [book["zhang"]], title="x").status_code == 403


def test_the_list_grows_by_less_than_1_kb_gzipped(client, login, seed):
    for i in range(25):
        seed.customer(f"测试客户{i:02d}", owner="sales", tags=["VIP"])
    login("sales")
    page = client.get("/customers").get_data(as_text=True)
    assert page.count('class="pick"') == 25
    without = re.sub(r'<td class="pick">.*?</td>', "", page)
    without = without.replace('<th scope="col"><span class="sr">Select</span></th>', "")
    without = re.sub(r'\n<form id="pick".*?</form>', "", without, flags=re.S)
    assert 'class="pick"' not in without and 'id="pick"' not in without
    growth = len(gzip.compress(page.encode())) - len(gzip.compress(without.encode()))
    assert 0 < growth <= 1024, growth


# -- the page of actions ---------------------------------------------------------------------------

def test_the_page_shows_the_ticked_customers_in_scope_only(client, login, seed, book):
    login("sales")
    response = client.post("/customers/bulk", data={
        "ids": [str(book["zhang"]), str(book["wang"]), str(book["other"]), "x", "0"],
        "back": "/customers?sort=name", "filter": "sort=name"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 ticked customers:" in body and "张伟" in body and "王芳" in body
    assert "李娜" not in body and seed.get_customer(book["other"]).number not in body
    assert "1 of the ticked customers is not yours to act on" in body
    for action in ("tag_add", "tag_remove", "task"):
        assert f'name="action" value="{action}"' in body
    assert f'<option value="{tag_id(seed, "VIP")}">VIP</option>' in body   # a tag they have
    assert "Act on all 2 customers matching the filter instead" in body
    assert "Each customer's owner" in body
    # nothing ticked: every customer matching the filter
    body = client.post("/customers/bulk", data={"filter": "q=张伟"}).get_data(as_text=True)
    assert "All 1 customer matching the filter:" in body and "张伟" in body   # the search term
    assert 'name="apply_to" value="all"' in body and 'name="filter" value="q=%E5%BC%A0%E4%BC%9F"' \
        in body


# -- tags ------------------------------------------------------------------------------------------

def test_add_tags_to_the_ticked_customers(client, login, seed, book):
    login("sales")
    response = apply(client, "tag_add", [book["zhang"], book["wang"], book["other"]],
                     back="/customers?sort=name", tags="新客户，VIP")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/customers?sort=name")
    assert tags_of(seed, book["zhang"]) == ["VIP", "新客户"]
    assert tags_of(seed, book["wang"]) == ["VIP", "新客户"]
    assert tags_of(seed, book["other"]) == ["VIP"]                  # not theirs
    assert flash_on(client, "/customers?sort=name") == \
        "2 customers tagged. 1 skipped (not yours to edit)."
    assert (version(seed, book["zhang"]), version(seed, book["other"])) == (2, 1)
    # again: nothing changes, nothing is written
    apply(client, "tag_add", [book["zhang"], book["wang"]], tags="VIP")
    assert flash_on(client) == "0 customers tagged. 2 already had the tags."
    assert version(seed, book["zhang"]) == 2 and len(audit_rows(seed, book["zhang"])) == 1


def test_bulk_tags_write_what_an_ordinary_tag_edit_writes(client, login, seed, book):
    """The same audit rows, event and version as the customer form's tag edit."""
    from crm.customers import services
    twin = seed.customer("王芳", owner="sales").id
    sales = seed.user("sales")
    seed.run(lambda: services.update_customer(book["wang"], {}, 1, sales, tags=["VIP", "老客户"]))
    login("sales")
    assert apply(client, "tag_add", [twin], tags="老客户, VIP").status_code == 303
    ordinary, bulk = audit_rows(seed, book["wang"]), audit_rows(seed, twin)
    assert ordinary == [("update", "tags", "", "VIP, 老客户", sales.id)]
    assert bulk == ordinary
    assert updated_events(seed, twin) == [{"customer_id": twin, "user_id": sales.id,
                                           "fields": ["tags"]}]
    assert [{**e, "customer_id": twin} for e in updated_events(seed, book["wang"])] == \
        updated_events(seed, twin)
    assert version(seed, twin) == version(seed, book["wang"]) == 2
    history = client.get(f"/customers/{twin}/history").get_data(as_text=True)
    assert "changed" in history and "Tags" in history and "VIP, 老客户" in history


def test_remove_a_tag(client, login, seed, book):
    login("sales")
    vip = tag_id(seed, "VIP")
    response = apply(client, "tag_remove", [book["zhang"], book["wang"], book["other"]], tag=vip)
    assert response.status_code == 303
    assert tags_of(seed, book["zhang"]) == [] and tags_of(seed, book["other"]) == ["VIP"]
    assert flash_on(client) == \
        "Tag removed from 1 customer. 1 did not have it. 1 skipped (not yours to edit)."
    assert audit_rows(seed, book["zhang"]) == [("update", "tags", "VIP", "", seed.user("sales").id)]
    assert audit_rows(seed, book["wang"]) == [] and version(seed, book["wang"]) == 1
    assert updated_events(seed, book["wang"]) == []
    # a tag that does not exist
    response = apply(client, "tag_remove", [book["zhang"]], tag="999999")
    assert response.status_code == 422 and "Choose the tag to remove." in response.get_data(
        as_text=True)


def test_tag_errors_change_nothing(client, login, seed, book):
    login("sales")
    for fields, message in (({"tags": " ，, "}, "Type at least one tag."),
                            ({"tags": ",".join(f"t{i}" for i in range(11))}, "At most 10 tags"),
                            ({"action": "explode", "tags": "x"}, "Choose what to do.")):
        data = {"action": "tag_add", **fields}
        response = apply(client, data.pop("action"), [book["wang"]], **data)
        assert response.status_code == 422, fields
        body = response.get_data(as_text=True)
        assert message in body and "王芳" in body, fields     # the page again, with the error
    response = apply(client, "tag_add", [], tags="x")
    assert response.status_code == 422 and "Select at least one customer." in response.get_data(
        as_text=True)
    assert tags_of(seed, book["wang"]) == [] and version(seed, book["wang"]) == 1


# -- scope and permissions -------------------------------------------------------------------------

def test_a_rep_cannot_tag_another_reps_customer_by_posting_its_id(client, login, seed, book):
    other = book["other"]
    events_before = seed.run(lambda: OutboxEvent.select().count())
    login("sales")
    for action, fields in (("tag_add", {"tags": "hack"}),
                           ("tag_remove", {"tag": str(tag_id(seed, "VIP"))}),
                           ("task", {"title": "hack", "assignee": "owner"})):
        response = apply(client, action, [other], **fields)
        assert response.status_code == 422, action
        body = response.get_data(as_text=True)
        assert "No customer to act on" in body and "李娜" not in body, action
    # among the customer's own, it is skipped and counted
    assert apply(client, "tag_add", [book["wang"], other], tags="hack").status_code == 303
    assert flash_on(client) == "1 customer tagged. 1 skipped (not yours to edit)."
    assert tags_of(seed, other) == ["VIP"] and version(seed, other) == 1
    assert audit_rows(seed, other) == [] and updated_events(seed, other) == []
    assert seed.run(lambda: Task.select().count()) == 0
    assert seed.run(lambda: OutboxEvent.select().count()) == events_before + 1   # 王芳's
    # the services re-check the scope themselves (never only the view)
    sales = seed.user("sales")
    assert seed.run(lambda: bulk_actions.add_tags(sales, [other], ["hack"])) == \
        bulk_actions.Outcome(0, 0, 1)
    assert seed.run(lambda: bulk_actions.create_tasks(sales, [other], "hack", assignee=str(
        sales.id))) == bulk_actions.Outcome(0, 0, 1)
    assert tags_of(seed, other) == ["VIP"] and seed.run(lambda: Task.select().count()) == 0


def test_all_matching_runs_the_filter_again_inside_the_scope(client, login, seed, book):
    vip = tag_id(seed, "VIP")
    login("sales")
    # "tag VIP" matches 张伟 (theirs) and 李娜 (sales2's): only 张伟 is in their scope; posted
    # ids do not widen "all matching" either
    fields = dict(apply_to="all", filter=f"tag={vip}", back=f"/customers?tag={vip}", tags="活跃")
    response = apply(client, "tag_add", [book["other"]], **fields)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Add the tags “活跃” to 1 customer?" in body
    assert "Tag: <strong>VIP</strong>" in body and "李娜" not in body
    assert 'name="confirm" value="1"' in body
    assert tags_of(seed, book["zhang"]) == ["VIP"]                 # nothing before confirming
    response = apply(client, "tag_add", [book["other"]], confirm="1", **fields)
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/customers?tag={vip}")
    assert tags_of(seed, book["zhang"]) == ["VIP", "活跃"]
    assert tags_of(seed, book["other"]) == ["VIP"] and tags_of(seed, book["admins"]) == []
    assert flash_on(client) == "1 customer tagged."
    # a filter on somebody else's customers finds nothing of them
    sales2 = seed.user("sales2").id
    response = apply(client, "tag_add", apply_to="all", filter=f"owner={sales2}", tags="x",
                     confirm="0")
    assert response.status_code == 422
    assert "No customer to act on" in response.get_data(as_text=True)


def test_all_matching_asks_again_when_the_number_changed(client, login, seed, book):
    login("manager")          # sees 张伟, 王芳 and 李娜 (Team A), not 刘洋 (admin's)
    response = apply(client, "task", apply_to="all", title="回访", assignee="owner",
                     confirm="7")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "has changed" in body
    assert "Create the task “回访” for each of 3 customers?" in body
    assert "No filter: every customer you can see." in body
    assert seed.run(lambda: Task.select().count()) == 0
    response = apply(client, "task", apply_to="all", title="回访", assignee="owner", confirm="3")
    assert response.status_code == 303
    assert seed.run(lambda: Task.select().count()) == 3


def test_more_than_the_cap_is_refused_with_a_clear_message(client, login, seed, book,
                                                           monkeypatch):
    monkeypatch.setattr(bulk_actions, "CAP", 2)
    login("manager")          # 3 customers in scope
    body = client.post("/customers/bulk", data={"filter": ""}).get_data(as_text=True)
    assert "3 customers: more than 2 at once." in body and 'name="action"' not in body
    response = apply(client, "tag_add", apply_to="all", tags="x", confirm="3")
    assert response.status_code == 422
    assert "3 customers: more than 2 at once." in response.get_data(as_text=True)
    response = apply(client, "tag_add", [book["zhang"], book["wang"], book["other"]], tags="x")
    assert response.status_code == 422
    assert seed.run(lambda: Tag.get_or_none(Tag.name == "x")) is None
    # narrowed under the cap, it goes
    sales = seed.user("sales").id
    response = apply(client, "tag_add", apply_to="all", filter=f"owner={sales}", tags="x",
                     confirm="2")
    assert response.status_code == 303
    assert "x" in tags_of(seed, book["zhang"]) and "x" in tags_of(seed, book["wang"])


def test_tagging_needs_customer_edit_on_each_customer(client, login, seed, book):
    locked = seed.customer("赵敏", owner="sales").id      # LockOne denies editing it
    login("sales")
    assert apply(client, "tag_add", [book["wang"], locked], tags="X").status_code == 303
    assert flash_on(client) == "1 customer tagged. 1 skipped (not yours to edit)."
    assert tags_of(seed, locked) == [] and version(seed, locked) == 1
    client.post("/logout")
    login("service")          # sees every customer, may not edit any: no tag forms
    body = client.post("/customers/bulk", data={"ids": [str(book["wang"])]}).get_data(
        as_text=True)
    assert 'value="tag_add"' not in body and 'value="task"' in body
    assert apply(client, "tag_add", [book["wang"]], tags="Y").status_code == 303
    assert flash_on(client) == "0 customers tagged. 1 skipped (not yours to edit)."
    assert tags_of(seed, book["wang"]) == ["X"]


# -- follow-up tasks -------------------------------------------------------------------------------

def test_follow_up_tasks_for_each_customers_owner(client, login, seed, book):
    login("manager")
    fields = dict(title="回访：续约", due_on="2026-12-20", assignee="owner", nonce="f00d1234",
                  back="/customers?sort=name")
    response = apply(client, "task", [book["zhang"], book["other"], book["admins"]], **fields)
    assert response.status_code == 303
    tasks = seed.run(lambda: [(t.customer_id, t.owner_id, t.due_on, t.created_by_id, t.title)
                              for t in Task.select().order_by(Task.id)])
    manager = seed.user("manager").id
    assert sorted(tasks) == sorted([
        (book["zhang"], seed.user("sales").id, dt.date(2026, 12, 20), manager, "回访：续约"),
        (book["other"], seed.user("sales2").id, dt.date(2026, 12, 20), manager, "回访：续约")])
    assert flash_on(client, "/customers?sort=name") == (
        "2 follow-up tasks created. 1 skipped (nobody you may give its task to, "
        "or not visible to them).")
    # as create_task does: the event and the assignees' notifications
    assert seed.run(lambda: OutboxEvent.select().where(OutboxEvent.name == "task.created")
                    .count()) == 2
    assert seed.run(lambda: sorted(n.user_id for n in Notification.select().where(
        Notification.kind == "task"))) == sorted([seed.user("sales").id, seed.user("sales2").id])
    assert seed.run(lambda: [(r.field, r.new) for r in AuditLog.select().where(
        AuditLog.action == "task.bulk_create").order_by(AuditLog.id)]) == [
        ("title", "回访：续约"), ("customers", "2")]
    # the same form sent twice (a double click, "back" and send): each task once
    apply(client, "task", [book["zhang"], book["other"], book["admins"]], **fields)
    assert flash_on(client).startswith(
        "0 follow-up tasks created. 2 existed already (the form was sent twice).")
    assert seed.run(lambda: Task.select().count()) == 2
    # one chosen person: only the customers they can see
    apply(client, "task", [book["zhang"], book["other"]], title="电话", assignee=str(
        seed.user("sales2").id))
    assert seed.run(lambda: [(t.customer_id, t.owner_id) for t in Task.select().where(
        Task.title == "电话")]) == [(book["other"], seed.user("sales2").id)]


def test_a_rep_gives_follow_ups_only_to_themselves(client, login, seed, book):
    sales_id = seed.user("sales").id
    seed.run(lambda: CustomerShare.create(customer=book["other"], user=sales_id))
    login("sales")
    ids = [book["zhang"], book["other"]]
    body = client.post("/customers/bulk", data={"ids": [str(i) for i in ids]}).get_data(
        as_text=True)
    assignees = re.search(r'<select id="bulk-assignee".*?</select>', body, re.S).group(0)
    assert "Sales One" in assignees and "Sales Two" not in assignees
    response = apply(client, "task", ids, title="t", assignee=str(seed.user("sales2").id))
    assert response.status_code == 422
    assert "Choose whom to give the tasks to." in response.get_data(as_text=True)
    assert seed.run(lambda: Task.select().count()) == 0
    apply(client, "task", ids, title="t1", assignee="owner")      # 李娜 is sales2's: skipped
    assert seed.run(lambda: [(t.customer_id, t.owner_id) for t in Task.select()]) == [
        (book["zhang"], seed.user("sales").id)]
    apply(client, "task", ids, title="t2", assignee=str(seed.user("sales").id))
    assert seed.run(lambda: sorted(t.customer_id for t in Task.select().where(
        Task.title == "t2"))) == sorted(ids)
    response = apply(client, "task", ids, title=" ", assignee="owner")
    assert response.status_code == 422
    assert "Say what is to be done." in response.get_data(as_text=True)
    response = apply(client, "task", ids, title="t3", due_on="2026-02-30", assignee="owner")
    assert response.status_code == 422 and "not a date" in response.get_data(as_text=True)


# -- without JavaScript, and with htmx -------------------------------------------------------------

def test_the_whole_flow_without_javascript(client, login, seed, book):
    """Every step is a plain form and a 303, reading only what the pages say."""
    login("sales")
    list_url = "/customers?q=" + quote("王芳")
    page = client.get(list_url).get_data(as_text=True)
    action, fields = form_at(page, "/customers/bulk")        # the list's form "pick"
    assert ("back", list_url) in fields and ("filter", "q=" + quote("王芳")) in fields
    picked = re.search(r'<input type="checkbox" name="ids" value="(\d+)" form="pick"', page)
    page = client.post(action, data=MultiDict(fields + [("ids", picked.group(1))])) \
        .get_data(as_text=True)
    assert "1 ticked customer:" in page
    action, fields = form_with(page, ("action", "tag_add"))
    response = client.post(action, data=MultiDict(fields + [("tags", "新客户")]))
    assert response.status_code == 303 and response.headers["Location"].endswith(list_url)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 customer tagged." in page and '<span class="tag">新客户</span>' in page
    # all matching the filter: the page, the form, the confirmation, back to the list
    page = client.post("/customers/bulk", data=MultiDict(fields)).get_data(as_text=True)
    action, fields = form_at(page, "/customers/bulk")        # "Act on all … instead"
    page = client.post(action, data=MultiDict(fields)).get_data(as_text=True)
    assert "All 1 customer matching the filter:" in page and "王芳" in page
    action, fields = form_with(page, ("action", "task"))
    page = client.post(action, data=MultiDict(
        fields + [("title", "回访"), ("assignee", "owner")])).get_data(as_text=True)
    assert "Create the task “回访” for 1 customer?" in page
    action, fields = form_with(page, ("confirm", "1"))
    response = client.post(action, data=MultiDict(fields))
    assert response.status_code == 303 and response.headers["Location"].endswith(list_url)
    assert seed.run(lambda: [t.customer_id for t in Task.select()]) == [book["wang"]]


def test_with_htmx(client, login, seed, book):
    login("sales")
    boosted = htmx("main", **{"HX-Boosted": "true"})
    page = client.post("/customers/bulk", data={"ids": [str(book["wang"])]}, headers=boosted)
    assert page.status_code == 200 and b"<html" in page.data      # hx-boost: the whole page
    assert "HX-Request" in page.headers["Vary"]
    assert page.headers["HX-Push-Url"] == "false"     # a reload must not GET /customers/bulk
    response = apply(client, "tag_add", [book["wang"]], tags="A", headers=boosted,
                     back="/customers?q=王芳")
    assert response.status_code == 303
    response = apply(client, "tag_add", [book["wang"]], tags="B", headers=htmx("main"),
                     back="/customers?q=王芳")
    assert response.status_code == 204
    assert json.loads(response.headers["HX-Location"])["path"] == "/customers?q=王芳"
    assert tags_of(seed, book["wang"]) == ["A", "B"]
    response = apply(client, "tag_add", [book["wang"]], tags="", headers=htmx("main"))
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body and 'id="main"' in body
    assert "Type at least one tag." in body
    # never back to another site
    response = apply(client, "tag_add", [book["wang"]], tags="C", back="//evil.example/")
    assert response.status_code == 303 and "evil" not in response.headers["Location"]
    assert response.headers["Location"].endswith("/customers")


# -- the services ----------------------------------------------------------------------------------

def test_services_in_chunks(seed, book, monkeypatch):
    monkeypatch.setattr(bulk_actions, "CHUNK", 2)
    more = [seed.customer(f"客户{i}", owner="sales").id for i in range(3)]
    sales, sales2 = seed.user("sales"), seed.user("sales2")
    mine = sorted([book["zhang"], book["wang"], *more])

    def run():
        ids = bulk_actions.target_ids(sales)          # all in scope, no filter
        assert sorted(ids) == mine
        assert bulk_actions.add_tags(sales, ids, ["VIP", "新"]) == bulk_actions.Outcome(5, 0, 0)
        new = Tag.get(Tag.name == "新").id
        assert bulk_actions.remove_tag(sales, ids + [book["other"]], new, requested=6) == \
            bulk_actions.Outcome(5, 0, 1)
        with pytest.raises(bulk_actions.TooMany):
            bulk_actions.target_ids(sales, cap=4)
        assert bulk_actions.target_ids(sales, ids=[book["other"], book["wang"]]) == [book["wang"]]
        with pytest.raises(bulk_actions.BulkActionError):
            bulk_actions.create_tasks(sales, ids, "t", assignee=str(sales2.id))
    seed.run(run)
    assert bulk_actions.clean_ids(["3", "3", "x", "-1", "0", "²", "9" * 40, " 7 "]) == [3, 7]
    # each customer changed twice (one transaction per 2 customers): version 3, two audit rows
    assert seed.run(lambda: sorted(c.id for c in Customer.select().where(
        Customer.version == 3))) == mine
    assert [r[2:4] for r in audit_rows(seed, book["zhang"])] == [("VIP", "VIP, 新"),
                                                                 ("VIP, 新", "VIP")]
    assert tags_of(seed, book["wang"]) == ["VIP"] and version(seed, book["other"]) == 1


# -- the user's language ---------------------------------------------------------------------------

def test_messages_in_the_users_language(client, login, seed, book):
    seed.run(lambda: User.update(locale="zh_CN").where(User.username == "sales").execute())
    login("sales")
    response = apply(client, "tag_add", [], tags="x")
    assert "请至少选择一个客户。" in response.get_data(as_text=True)    # the real catalogue
    apply(client, "tag_add", [book["wang"], book["other"]], tags="新客户")
    assert flash_on(client) == "已为 1 个客户添加标签。 跳过 1 个（您无权编辑）。"
    apply(client, "task", [book["wang"]], title="回访", assignee="owner")
    assert flash_on(client) == "已创建 1 个跟进任务。"
    client.post("/logout")
    login("sales2")                                                  # English (the default)
    apply(client, "tag_add", [book["other"]], tags="新客户")
    assert flash_on(client) == "1 customer tagged."
