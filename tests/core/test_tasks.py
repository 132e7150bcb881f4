"""Tasks (crm/tasks/): create, edit, done and undo, who may give whom a task, "my tasks" and the
dashboard card, the customer's tasks following a merge, and the no-contact reminder rule."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm.db import utcnow
from crm.notifications.models import Notification
from crm.tasks import rules, services
from crm.tasks.models import Task
from tests.conftest import htmx


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
def customer(seed):
    return seed.customer("杭州任务测试有限公司", owner="sales")


def _tasks(seed, **where):
    def read():
        query = Task.select().order_by(Task.id)
        for name, value in where.items():
            query = query.where(getattr(Task, name) == value)
        return list(query)
    return seed.run(read)


def test_create_a_task_for_myself(client, login, seed):
    login("sales")
    page = client.get("/tasks/new")
    assert page.status_code == 200 and 'name="title"' in page.get_data(as_text=True)
    # a sales rep gives tasks only to themselves: no owner choice is offered
    assert '<select id="owner"' not in page.get_data(as_text=True)
    sales = seed.user("sales")
    response = client.post("/tasks/new", data={"title": "准备报价单", "due_on": today().isoformat(),
                                               "owner": str(sales.id), "notes": "三份"})
    assert response.status_code == 303 and response.headers["Location"] == "/followups"
    [task] = _tasks(seed, owner=sales.id)
    assert (task.title, task.due_on, task.notes, task.created_by_id) == \
        ("准备报价单", today(), "三份", sales.id)
    body = client.get("/followups").get_data(as_text=True)
    due_today = next(s for s in body.split("<section") if "Due today" in s)
    assert "准备报价单" in due_today


def test_a_task_needs_a_title_and_a_real_date(client, login, seed):
    login("sales")
    sales = seed.user("sales")
    response = client.post("/tasks/new", data={"title": " ", "due_on": "2026-02-31",
                                               "owner": str(sales.id)})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Required." in body and "Not a valid date value." in body
    assert _tasks(seed) == []


def test_a_sales_rep_cannot_give_a_task_to_somebody_else(client, login, seed):
    login("sales")
    other = seed.user("sales2")
    response = client.post("/tasks/new", data={"title": "x", "owner": str(other.id)})
    assert response.status_code == 422 and _tasks(seed) == []


def test_a_manager_gives_a_task_and_the_owner_is_notified(client, login, seed, customer):
    login("manager")
    sales = seed.user("sales")
    page = client.get(f"/tasks/new?customer={customer.id}").get_data(as_text=True)
    assert "Sales One" in page and "Service" not in page      # their departments only
    response = client.post(f"/tasks/new?customer={customer.id}",
                           data={"title": "回访大客户", "owner": str(sales.id)})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/customers/{customer.id}#tasks"
    [task] = _tasks(seed, customer=customer.id)
    assert task.owner_id == sales.id
    [note] = seed.run(lambda: list(Notification.select().where(Notification.user == sales.id)))
    assert note.url == f"/tasks/{task.id}/edit"
    client.post("/logout")
    login("sales")
    listing = client.get("/notifications").get_data(as_text=True)
    assert "Manager gave you a task: 回访大客户" in listing
    assert '<span class="badge">1' in client.get("/followups").get_data(as_text=True)


def test_a_task_on_a_customer_outside_the_scope_is_404(client, login, seed):
    theirs = seed.customer("别人的客户有限公司", owner="sales2")
    login("sales")
    assert client.get(f"/tasks/new?customer={theirs.id}").status_code == 404
    assert client.post(f"/tasks/new?customer={theirs.id}", data={"title": "x"}).status_code == 404


def test_done_and_undo_with_and_without_htmx(client, login, seed, customer):
    sales = seed.user("sales")
    task = seed.run(services.create_task, "打电话", sales, due_on=today(), customer=customer)
    login("sales")
    response = client.post(f"/tasks/{task.id}/done", data={"next": "/followups"},
                           headers=htmx(f"task-{task.id}"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and f'id="task-{task.id}"' in body
    assert _tasks(seed)[0].done_at is not None and _tasks(seed)[0].done_by_id == sales.id
    # a second click changes nothing
    done_at = _tasks(seed)[0].done_at
    client.post(f"/tasks/{task.id}/done")
    assert _tasks(seed)[0].done_at == done_at
    response = client.post(f"/tasks/{task.id}/reopen", data={"next": "/followups"})
    assert response.status_code == 303 and _tasks(seed)[0].done_at is None
    response = client.post(f"/tasks/{task.id}/done", data={"next": "//evil.example"})
    assert response.headers["Location"] == "/followups"


def test_other_peoples_tasks_are_404(client, login, seed, customer):
    sales2 = seed.user("sales2")
    task = seed.run(services.create_task, "别人的任务", sales2)
    login("sales")
    for url in (f"/tasks/{task.id}/edit", ):
        assert client.get(url).status_code == 404
    assert client.post(f"/tasks/{task.id}/done").status_code == 404
    assert _tasks(seed)[0].done_at is None
    client.post("/logout")
    login("manager")       # sales2 is in the manager's department
    assert client.get(f"/tasks/{task.id}/edit").status_code == 200


def test_edit_a_task(client, login, seed):
    sales = seed.user("sales")
    task = seed.run(services.create_task, "旧标题", sales)
    login("sales")
    response = client.post(f"/tasks/{task.id}/edit", data={
        "title": "新标题", "due_on": "2027-01-05", "owner": str(sales.id), "notes": ""})
    assert response.status_code == 303
    [task] = _tasks(seed)
    assert (task.title, task.due_on) == ("新标题", dt.date(2027, 1, 5))
    body = client.get("/followups").get_data(as_text=True)
    later = next(s for s in body.split("<section") if "Later and without a date" in s)
    assert "新标题" in later


def test_dashboard_card_lists_what_is_due(client, login, seed, customer):
    sales = seed.user("sales")
    seed.run(services.create_task, "今天的任务", sales, due_on=today(), customer=customer)
    seed.run(services.create_task, "昨天的任务", sales, due_on=today() - dt.timedelta(days=1))
    seed.run(services.create_task, "明天的任务", sales, due_on=today() + dt.timedelta(days=1))
    login("sales")
    card = client.get("/dashboard/cards/followups", headers=htmx("card-followups")) \
        .get_data(as_text=True)
    assert "1 overdue · 1 due today" in card
    assert "今天的任务" in card and "昨天的任务" in card and "明天的任务" not in card


def test_a_customer_in_the_trash_takes_its_tasks_off_the_list(client, login, seed, customer):
    sales = seed.user("sales")
    seed.run(services.create_task, "跟进报价", sales, due_on=today(), customer=customer)
    login("sales")
    assert "跟进报价" in client.get("/followups").get_data(as_text=True)
    client.post(f"/customers/{customer.id}/delete")
    assert "跟进报价" not in client.get("/followups").get_data(as_text=True)


def test_customer_page_shows_its_tasks(client, login, seed, customer):
    sales = seed.user("sales")
    seed.run(services.create_task, "寄样品", sales, due_on=today(), customer=customer)
    login("sales")
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    tasks = page.split('id="tasks"')[1].split("</section>")[0]
    assert "寄样品" in tasks and f"/tasks/new?customer={customer.id}" in tasks


def test_merge_moves_the_losers_tasks(seed, app):
    from crm.customers import merge
    admin = seed.user("admin")
    winner = seed.customer("合并赢家有限公司")
    loser = seed.customer("合并输家有限公司")
    seed.run(services.create_task, "输家的任务", admin, customer=loser)
    seed.run(lambda: merge.merge(winner, loser, [], admin))
    assert [t.customer_id for t in _tasks(seed)] == [winner.id]


# -- the no-contact rule ------------------------------------------------------------------------

def _age(seed, customer, days):
    from crm.customers.models import Customer
    seed.run(lambda: Customer.update(last_contacted_at=utcnow() - dt.timedelta(days=days))
             .where(Customer.id == customer.id).execute())


def test_no_contact_rule_reminds_the_owner_once(seed):
    old = seed.customer("久未联系有限公司", owner="sales")
    recent = seed.customer("刚联系过有限公司", owner="sales")
    never = seed.customer("从未联系有限公司", owner="sales2")
    _age(seed, old, 45)
    _age(seed, recent, 3)
    from crm.customers.models import Customer
    seed.run(lambda: Customer.update(created_at=utcnow() - dt.timedelta(days=60))
             .where(Customer.id == never.id).execute())
    first = seed.run(rules.no_contact_reminders, 30, 20, "Asia/Shanghai")
    assert first == {"tasks": 2, "owners": 2}
    made = {t.customer_id: t for t in _tasks(seed)}
    assert set(made) == {old.id, never.id}
    assert made[old.id].owner_id == seed.user("sales").id and made[old.id].due_on == today()
    assert made[old.id].source == rules.SOURCE
    # twice on the same day: nothing new, no second notification
    assert seed.run(rules.no_contact_reminders, 30, 20, "Asia/Shanghai") == \
        {"tasks": 0, "owners": 0}
    assert seed.run(lambda: Notification.select().count()) == 2
    # done without a new contact: no new reminder for the same silence
    seed.run(lambda: Task.update(done_at=utcnow()).execute())
    assert seed.run(rules.no_contact_reminders, 30, 20, "Asia/Shanghai")["tasks"] == 0
    # contacted, then silent again: a new reminder
    _age(seed, old, 31)
    assert seed.run(rules.no_contact_reminders, 30, 20, "Asia/Shanghai")["tasks"] == 1


def test_no_contact_rule_caps_the_daily_list_and_skips_the_trash(seed):
    made = [seed.customer(f"沉默客户{i}有限公司", owner="sales") for i in range(5)]
    for i, c in enumerate(made):
        _age(seed, c, 40 + i)
    from crm.customers.models import Customer
    seed.run(lambda: Customer.update(deleted_at=utcnow()).where(Customer.id == made[4].id)
             .execute())
    outcome = seed.run(rules.no_contact_reminders, 30, 2, "Asia/Shanghai")
    assert outcome == {"tasks": 2, "owners": 1}
    # the longest silent first (the one in the trash never)
    assert {t.customer_id for t in _tasks(seed)} == {made[3].id, made[2].id}
    assert seed.run(rules.no_contact_reminders, 0, 2, "Asia/Shanghai") == {"tasks": 0, "owners": 0}


def test_crm_remind_command(runner, seed):
    old = seed.customer("久未联系有限公司", owner="sales")
    _age(seed, old, 45)
    from crm.cli import cli
    result = runner.invoke(cli, ["remind"])
    assert result.exit_code == 0, result.output
    assert "1 reminder tasks for 1 owners" in result.output
