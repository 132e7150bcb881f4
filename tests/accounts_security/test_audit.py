"""The audit log: what is recorded (sign-ins, failures with the username and address, sign-outs,
role/department/active changes, password changes), and the admin's /admin/audit page -- admins
only, newest first, filters, pages, a partial for htmx, any action rendered generically."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from crm.audit.models import AuditLog
from crm.db import utcnow
from tests.accounts_security.conftest import audit_rows, user
from tests.conftest import PASSWORD, htmx


def test_sign_in_events_are_recorded(client, sign_in, run):
    assert sign_in("sales", "wrong-pass-1", ip="198.51.100.4").status_code == 422
    assert sign_in("ghost", "wrong-pass-1", ip="198.51.100.5").status_code == 422
    assert sign_in("sales", PASSWORD, ip="198.51.100.6").status_code == 303
    client.post("/logout", environ_base={"REMOTE_ADDR": "198.51.100.6"})
    sales = user(run, "sales")
    failed = audit_rows(run, "login_failed")
    assert [(r.user_id, r.entity_id, r.field, r.new, r.ip) for r in failed] == [
        (None, sales.id, "username", "sales", "198.51.100.4"),
        (None, None, "username", "ghost", "198.51.100.5")]
    [login] = audit_rows(run, "login")
    assert (login.user_id, login.ip) == (sales.id, "198.51.100.6")
    [logout] = audit_rows(run, "logout")
    assert logout.user_id == sales.id


def test_permission_changes_are_recorded(client, login, run):
    from crm.accounts.models import Department
    login("admin")
    target = user(run, "sales2")
    team_b = run(lambda: Department.get(Department.name == "Team B"))
    response = client.post(f"/admin/users/{target.id}/edit", data={
        "username": "sales2", "display_name": "Sales Two", "role": "manager",
        "department": str(team_b.id), "locale": "en", "password": "reset-by-admin-3"})
    assert response.status_code == 303
    rows = audit_rows(run, "user_changed")
    assert {(r.field, r.old, r.new) for r in rows} == {
        ("role", "sales", "manager"), ("department", "Team A", "Team B"),
        ("is_active", "True", "False"), ("password", "", "***")}
    assert {r.user_id for r in rows} == {user(run, "admin").id}
    assert {r.entity_id for r in rows} == {target.id}


def test_password_change_is_recorded(client, login, run):
    login("sales")
    client.post("/account", data={"which": "password", "pw-current": PASSWORD,
                                  "pw-new": "sturdy-secret-3", "pw-confirm": "sturdy-secret-3"})
    [row] = audit_rows(run, "password_changed")
    assert row.user_id == row.entity_id == user(run, "sales").id


# -- the page -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["manager", "sales", "service", "clerk"])
def test_only_admins_read_it(client, login, role):
    login(role)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit", headers=htmx("audit-results")).status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/admin/audit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_and_its_partial(client, login, sign_in):
    sign_in("sales", "wrong-pass-1", ip="198.51.100.4")
    login("admin")
    page = client.get("/admin/audit")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "<html" in body and 'id="audit-results"' in body and 'id="audit-filters"' in body
    assert "sign-in failed" in body and "198.51.100.4" in body and "signed in" in body
    assert 'href="/admin/audit"' in body and 'aria-current="page"' in body   # the admin tab
    partial = client.get("/admin/audit?action=login_failed", headers=htmx("audit-results"))
    text = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in text and 'id="audit-filters"' not in text
    assert text.lstrip().startswith('<div id="audit-results"')
    assert "198.51.100.4" in text
    assert "HX-Request" in partial.headers["Vary"]


def _add(run, rows):
    run(lambda: AuditLog.insert_many(rows).execute())


def test_newest_first_and_pages(client, login, run):
    base = dt.datetime(2026, 3, 1, 12, 0)
    _add(run, [dict(action="update", entity="customer", entity_id=n, field="name",
                    old=f"old {n}", new=f"name {n:03d}", at=base + dt.timedelta(minutes=n))
               for n in range(120)])
    login("admin")
    first = client.get("/admin/audit?action=update").get_data(as_text=True)
    names = re.findall(r"name (\d{3})", first)
    assert names[:3] == ["119", "118", "117"] and len(names) == 50
    assert "Older" in first and "Newer" not in first
    third = client.get("/admin/audit?action=update&page=3").get_data(as_text=True)
    assert re.findall(r"name (\d{3})", third) == [f"{n:03d}" for n in range(19, -1, -1)]
    assert "Newer" in third and "Older" not in third
    assert 'href="/admin/audit?action=update&amp;page=2"' in third
    # paging through htmx swaps only the results
    second = client.get("/admin/audit?action=update&page=2", headers=htmx("audit-results"))
    assert re.findall(r"name (\d{3})", second.get_data(as_text=True))[0] == "069"


def test_filters(client, login, run):
    admin, sales = user(run, "admin"), user(run, "sales")
    _add(run, [
        dict(action="update", user=admin.id, entity="customer", entity_id=1, field="name",
             old="", new="by admin", at=dt.datetime(2026, 3, 1, 3, 0)),
        dict(action="update", user=sales.id, entity="customer", entity_id=2, field="name",
             old="", new="by sales", at=dt.datetime(2026, 3, 2, 3, 0)),
        dict(action="user_changed", user=admin.id, entity="user", entity_id=sales.id,
             field="role", old="sales", new="manager", at=dt.datetime(2026, 3, 3, 3, 0)),
        # 2026-03-04 23:30 UTC is 03-05 07:30 in Shanghai
        dict(action="delete", user=sales.id, entity="customer", entity_id=3,
             new="late", at=dt.datetime(2026, 3, 4, 23, 30)),
    ])
    login("admin")

    def shown(**args):
        body = client.get("/admin/audit", query_string=args,
                          headers=htmx("audit-results")).get_data(as_text=True)
        return set(re.findall(r"by admin|by sales|Manager|late", body))
    assert shown(action="update") == {"by admin", "by sales"}
    # a user's rows: by them, and about them
    assert shown(user=sales.id) == {"by sales", "Manager", "late"}
    assert shown(since="2026-03-02", until="2026-03-03") == {"by sales", "Manager"}
    assert shown(since="2026-03-05") == {"late"}             # dates in the viewer's zone
    assert shown(until="2026-03-04") == {"by admin", "by sales", "Manager"}
    assert shown(action="update", user=admin.id) == {"by admin"}
    # nonsense is ignored, not an error
    response = client.get("/admin/audit?user=abc&since=yesterday&page=-4")
    assert response.status_code == 200


def test_filter_choices(client, login, run):
    _add(run, [dict(action="loyalty.points_adjusted", entity="customer", entity_id=1,
                    at=utcnow())])
    login("admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    select = re.search(r'<select name="action">(.*?)</select>', page, re.S).group(1)
    assert 'value="login_failed"' in select and 'value="user_changed"' in select
    assert 'value="loyalty.points_adjusted"' in select     # a plugin's action, as stored
    users = re.search(r'<select name="user">(.*?)</select>', page, re.S).group(1)
    assert "(sales2)" in users


def test_any_action_is_rendered(client, login, run):
    sales = user(run, "sales")
    _add(run, [
        dict(action="customer.reveal", user=sales.id, entity="customer", entity_id=7,
             field="phone", at=utcnow()),
        dict(action="loyalty.points_adjusted", user=sales.id, entity="loyalty_card",
             entity_id=3, field="points", old="10", new="25", at=utcnow()),
        dict(action="session_expired", user=sales.id, entity="user", entity_id=sales.id,
             field="reason", new="idle", at=utcnow()),
    ])
    login("admin")
    body = client.get("/admin/audit").get_data(as_text=True)
    assert "revealed a sensitive value" in body and 'href="/customers/7"' in body
    assert "loyalty.points_adjusted" in body and "loyalty_card" in body and "25" in body
    assert "session ended" in body and "no activity for too long" in body
    assert f'href="/admin/users/{sales.id}/edit">Sales One</a>' in body


def test_values_are_escaped(client, login, sign_in):
    sign_in("<script>alert(1)</script>", "wrong-pass-1")
    login("admin")
    body = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_works_without_javascript(client, login, run):
    """Plain links and a GET form: the filter form and the page links are real URLs."""
    login("admin")
    body = client.get("/admin/audit").get_data(as_text=True)
    form = re.search(r'<form id="audit-filters"[^>]*>', body).group(0)
    assert 'action="/admin/audit"' in form and 'method="get"' in form
    assert 'type="submit"' in body


def test_page_query_count_is_fixed(client, login, run, app):
    """Rows and their users in one query, whatever the page size."""
    from crm.db import database
    sales = user(run, "sales")
    _add(run, [dict(action="update", user=sales.id, entity="customer", entity_id=n,
                    at=utcnow()) for n in range(60)])
    login("admin")
    statements = []
    database.obj.query_hooks.append(lambda event: statements.append(event.sql))
    try:
        client.get("/admin/audit?action=update", headers=htmx("audit-results"))
        few = len(statements)
        statements.clear()
        client.get("/admin/audit?action=update&page=2", headers=htmx("audit-results"))
    finally:
        database.obj.query_hooks.pop()
    assert len(statements) == few
    assert sum("audit_log" in s for s in statements) == 1
