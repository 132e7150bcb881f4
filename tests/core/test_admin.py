"""Administration: users (create, role, own admin access), departments, plugins page."""
from __future__ import annotations

import re

import pytest

from crm.accounts.models import Department, User
from crm.audit.models import AuditLog
from tests.conftest import PASSWORD


def user_form(**values):
    data = {"username": "", "display_name": "", "role": "sales", "department": "0",
            "locale": "zh_CN", "is_active": "y", "password": ""}
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def dept_id(seed, name):
    return seed.run(lambda: Department.get(Department.name == name).id)


def test_users_list(client, login):
    login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    for username in ("admin", "manager", "sales", "sales2", "service", "clerk"):
        assert f">{username}</a>" in page
    assert "Team A" in page and "Store clerk" in page


def test_create_user(client, login, seed, app):
    login("admin")
    team_b = dept_id(seed, "Team B")
    response = client.post("/admin/users/new", data=user_form(
        username="wang.fang", display_name="王芳", role="sales", department=str(team_b),
        locale="zh_CN", password="long-enough-1"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/users")
    user = seed.user("wang.fang")
    assert (user.display_name, user.role, user.department_id, user.locale, user.is_active) == (
        "王芳", "sales", team_b, "zh_CN", True)
    assert seed.run(lambda: AuditLog.select().where(
        (AuditLog.action == "user_created") & (AuditLog.entity_id == user.id)).count()) == 1
    other = app.test_client()
    assert other.post("/login", data={"username": "wang.fang",
                                      "password": "long-enough-1"}).status_code == 303


@pytest.mark.parametrize("values, message", [
    ({"username": "sales", "password": "long-enough-1"}, "This username is taken."),
    ({"username": "new.one", "password": ""}, "A new user needs a password."),
    ({"username": "new one", "password": "long-enough-1"}, "Letters, digits"),
    ({"username": "", "password": "long-enough-1"}, "Required."),
    ({"username": "new.one", "password": "short"}, "at least 10"),
    ({"username": "new.one", "password": "long-enough-1", "role": "king"}, "Not a valid choice"),
])
def test_create_user_errors(client, login, seed, values, message):
    login("admin")
    response = client.post("/admin/users/new", data=user_form(**values))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert seed.run(User.select().count) == 6


def test_edit_role_and_reset_password(client, login, seed, app):
    login("admin")
    target = seed.user("sales2")
    page = client.get(f"/admin/users/{target.id}/edit").get_data(as_text=True)
    assert 'value="sales2"' in page
    assert re.search(r'<option selected value="sales">', page)
    team_a = dept_id(seed, "Team A")
    assert re.search(rf'<option selected value="{team_a}">', page)
    response = client.post(f"/admin/users/{target.id}/edit", data=user_form(
        username="sales2", display_name="Sales Two", role="manager", department=str(team_a),
        locale="en", password="reset-pass-1"))
    assert response.status_code == 303
    user = seed.user("sales2")
    assert user.role == "manager"
    changes = seed.run(lambda: {(a.field, a.old, a.new) for a in AuditLog.select().where(
        (AuditLog.action == "user_changed") & (AuditLog.entity_id == target.id))})
    assert ("role", "sales", "manager") in changes
    assert any(f == "password" and "reset-pass-1" not in new for f, _old, new in changes)
    other = app.test_client()
    assert other.post("/login", data={"username": "sales2",
                                      "password": "reset-pass-1"}).status_code == 303
    assert client.get("/admin/users/999999/edit").status_code == 404


def test_edit_keeps_password_when_empty(client, login, seed, app):
    login("admin")
    target = seed.user("sales2")
    response = client.post(f"/admin/users/{target.id}/edit", data=user_form(
        username="sales2", display_name="Sales Zwei", role="sales",
        department=str(target.department_id), locale="en"))
    assert response.status_code == 303
    assert seed.user("sales2").display_name == "Sales Zwei"
    assert app.test_client().post("/login", data={"username": "sales2",
                                                  "password": PASSWORD}).status_code == 303


def test_fields_left_out_of_the_post_are_empty_not_errors(client, login, seed):
    login("admin")
    target = seed.user("sales2")
    response = client.post(f"/admin/users/{target.id}/edit", data={
        "username": "sales2", "role": "sales", "department": str(target.department_id),
        "locale": "en", "is_active": "y"})
    assert response.status_code == 303
    assert seed.user("sales2").display_name == ""


def test_rename_to_a_taken_username(client, login, seed):
    login("admin")
    target = seed.user("sales2")
    response = client.post(f"/admin/users/{target.id}/edit", data=user_form(
        username="sales", role="sales", department=str(target.department_id)))
    assert response.status_code == 422
    assert "This username is taken." in response.get_data(as_text=True)
    assert seed.user("sales2").username == "sales2"


@pytest.mark.parametrize("values", [{"role": "manager"}, {"is_active": None}])
def test_cannot_remove_own_admin_access(client, login, seed, values):
    login("admin")
    me = seed.user("admin")
    response = client.post(f"/admin/users/{me.id}/edit", data=user_form(
        username="admin", display_name="Admin", **dict({"role": "admin"}, **values)))
    assert response.status_code == 422
    assert "You cannot remove your own administrator access." in response.get_data(as_text=True)
    me = seed.user("admin")
    assert me.role == "admin" and me.is_active
    assert client.get("/admin/users").status_code == 200


def test_deactivated_user_is_signed_out(client, login, seed, app):
    other = app.test_client()
    assert other.post("/login", data={"username": "sales2",
                                      "password": PASSWORD}).status_code == 303
    assert other.get("/customers").status_code == 200
    login("admin")
    target = seed.user("sales2")
    response = client.post(f"/admin/users/{target.id}/edit", data=user_form(
        username="sales2", role="sales", department=str(target.department_id),
        is_active=None))
    assert response.status_code == 303
    assert other.get("/customers").status_code == 302
    assert other.post("/login", data={"username": "sales2",
                                      "password": PASSWORD}).status_code == 422


def test_departments_tree(client, login, seed):
    login("admin")
    page = client.get("/admin/departments").get_data(as_text=True)
    tree = re.search(r'<ul class="tree">(.*?)</ul>', page, re.S).group(1)
    items = re.findall(r"<li>(\u3000*)([^<]+?) <span", tree)
    assert [(len(indent), name) for indent, name in items] == [
        (0, "Sales"), (1, "Team A"), (1, "Team B"), (0, "Service")]
    assert "(2 users)" in tree           # Team A: sales and sales2
    sales = dept_id(seed, "Sales")
    response = client.post("/admin/departments", data={"name": "Team C", "parent": str(sales)})
    assert response.status_code == 303
    team_c = seed.run(lambda: Department.get(Department.name == "Team C"))
    assert team_c.parent_id == sales
    response = client.post("/admin/departments", data={"name": "East", "parent": str(team_c.id)})
    assert response.status_code == 303
    page = client.get("/admin/departments").get_data(as_text=True)
    tree = re.search(r'<ul class="tree">(.*?)</ul>', page, re.S).group(1)
    items = [(len(i), n) for i, n in re.findall(r"<li>(\u3000*)([^<]+?) <span", tree)]
    assert items.index((1, "Team C")) < items.index((2, "East")) < items.index((0, "Service"))
    # errors
    assert client.post("/admin/departments", data={"name": "", "parent": "0"}).status_code == 422
    assert client.post("/admin/departments", data={"name": "X",
                                                   "parent": "999999"}).status_code == 422


def test_new_department_feeds_the_manager_scope(client, login, seed):
    """A rep in a new sub-department of Sales is in the Sales manager's subtree."""
    login("admin")
    sales = dept_id(seed, "Sales")
    client.post("/admin/departments", data={"name": "Team C", "parent": str(sales)})
    team_c = dept_id(seed, "Team C")
    client.post("/admin/users/new", data=user_form(
        username="rep.c", role="sales", department=str(team_c), password="long-enough-1"))
    customer = seed.customer("张伟", owner="rep.c")
    client.post("/logout")
    login("manager")
    assert client.get(f"/customers/{customer.id}").status_code == 200


def test_plugins_page(client, login):
    login("admin")
    page = client.get("/admin/plugins").get_data(as_text=True)
    assert "No plugin is installed." in page
    assert "Domain events" in page


def test_outbox_retry(client, login, seed):
    from crm.events.models import OutboxEvent
    seed.run(lambda: OutboxEvent.create(uid="dead-1", name="customer.created", payload="{}",
                                        status="dead", attempts=8))
    login("admin")
    page = client.get("/admin/plugins").get_data(as_text=True)
    assert 'action="/admin/outbox/retry"' in page
    assert client.get("/admin/outbox/retry").status_code == 405
    response = client.post("/admin/outbox/retry")
    assert response.status_code == 303
    event = seed.run(lambda: OutboxEvent.get(OutboxEvent.uid == "dead-1"))
    assert event.status == "done"     # queued again and delivered (no plugin handles it)


@pytest.mark.parametrize("username", ["manager", "sales", "service", "clerk"])
def test_non_admin_gets_403(client, login, seed, username):
    login(username)
    user_id = seed.user("sales").id
    for url in ("/admin/users", "/admin/users/new", f"/admin/users/{user_id}/edit",
                "/admin/departments", "/admin/plugins"):
        assert client.get(url).status_code == 403, url
    for url, data in (("/admin/users/new", user_form(username="x", password="long-enough-1")),
                      (f"/admin/users/{user_id}/edit", user_form(username="sales",
                                                                 role="admin")),
                      ("/admin/departments", {"name": "X", "parent": "0"}),
                      ("/admin/outbox/retry", {})):
        assert client.post(url, data=data).status_code == 403, url
    assert seed.user("sales").role == "sales"
    assert seed.run(User.select().count) == 6
    assert "/admin/users" not in client.get("/").get_data(as_text=True)   # no nav item
