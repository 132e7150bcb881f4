"""In-app notifications (crm/notifications/): notify, the list, open and mark read, the header's
badge with its ETag (a poll that finds nothing new is a 304), idempotency keys, languages."""
from __future__ import annotations

from crm.i18n import N_
from crm.notifications import notify, notify_role
from crm.notifications.models import Notification
from tests.conftest import htmx


def _notes(seed, username):
    user = seed.user(username)
    return seed.run(lambda: list(Notification.select().where(Notification.user == user.id)
                                 .order_by(Notification.id)))


def test_notify_with_a_key_is_idempotent_and_skips_inactive_people(seed):
    from crm.accounts.models import User
    sales, sales2 = seed.user("sales"), seed.user("sales2")
    seed.run(lambda: User.update(is_active=False).where(User.id == sales2.id).execute())
    made = seed.run(notify, [sales, sales2.id, sales.id], N_("Deal %(title)s entered the stage "
                                                             "%(stage)s"),
                    url="/x", key="k1", title="大单", stage="合同签订")
    assert made == 1
    assert seed.run(notify, [sales], "again", key="k1") == 0
    assert seed.run(notify, [sales], "no key") == 1
    assert seed.run(notify, [sales], "no key") == 1
    assert [n.message for n in _notes(seed, "sales")][1:] == ["no key", "no key"]
    assert _notes(seed, "sales2") == []


def test_notify_role(seed):
    assert seed.run(notify_role, "manager", "hello") == 1
    assert len(_notes(seed, "manager")) == 1 and _notes(seed, "admin") == []


def test_the_list_translates_when_shown(client, login, seed, app):
    sales = seed.user("sales")
    seed.run(notify, [sales], N_("Deal %(title)s entered the stage %(stage)s"),
             url="/followups", title="大单", stage="合同签订")
    login("sales")
    body = client.get("/notifications").get_data(as_text=True)
    assert "Deal 大单 entered the stage 合同签订" in body and "unread" in body
    from crm.accounts.models import User
    seed.run(lambda: User.update(locale="zh_CN").where(User.id == sales.id).execute())
    body = client.get("/notifications").get_data(as_text=True)
    assert "大单" in body and "Deal 大单 entered" not in body and "合同签订" in body


def test_open_marks_read_and_follows_the_link(client, login, seed):
    sales = seed.user("sales")
    seed.run(notify, [sales], "look", url="/followups")
    seed.run(notify, [sales], "evil", url="https://evil.example/")
    login("sales")
    first, evil = _notes(seed, "sales")
    response = client.post(f"/notifications/{first.id}/open")
    assert response.status_code == 303 and response.headers["Location"] == "/followups"
    assert _notes(seed, "sales")[0].read_at is not None
    # a link that leaves the site is never followed
    response = client.post(f"/notifications/{evil.id}/open")
    assert response.headers["Location"] == "/notifications"


def test_another_persons_notification_is_404(client, login, seed):
    seed.run(notify, [seed.user("sales2")], "theirs", url="/followups")
    [theirs] = _notes(seed, "sales2")
    login("sales")
    assert client.post(f"/notifications/{theirs.id}/open").status_code == 404
    client.post("/notifications/read")
    assert _notes(seed, "sales2")[0].read_at is None


def test_mark_all_read_and_unread_filter(client, login, seed):
    sales = seed.user("sales")
    for i in range(3):
        seed.run(notify, [sales], f"note {i}")
    login("sales")
    assert "note 2" in client.get("/notifications?unread=1").get_data(as_text=True)
    response = client.post("/notifications/read")
    assert response.status_code == 303
    assert all(n.read_at for n in _notes(seed, "sales"))
    assert "note 2" not in client.get("/notifications?unread=1").get_data(as_text=True)
    assert "note 2" in client.get("/notifications").get_data(as_text=True)


def test_badge_counts_and_answers_304_when_nothing_changed(client, login, seed):
    sales = seed.user("sales")
    login("sales")
    page = client.get("/followups").get_data(as_text=True)
    assert 'id="notif-badge"' in page and 'class="badge"' not in page
    seed.run(notify, [sales], "one")
    seed.run(notify, [sales], "two")
    first = client.get("/notifications/badge", headers=htmx("notif-badge"))
    body = first.get_data(as_text=True)
    assert first.status_code == 200 and '<span class="badge">2' in body and "<html" not in body
    assert len(first.data) < 600
    etag = first.headers["ETag"]
    again = client.get("/notifications/badge", headers=dict(htmx("notif-badge"),
                                                            **{"If-None-Match": etag}))
    assert again.status_code == 304 and again.data == b""
    seed.run(notify, [sales], "three")
    changed = client.get("/notifications/badge", headers=dict(htmx("notif-badge"),
                                                              **{"If-None-Match": etag}))
    assert changed.status_code == 200 and '<span class="badge">3' in changed.get_data(as_text=True)


def test_the_badge_without_htmx_goes_to_the_list(client, login):
    login("sales")
    response = client.get("/notifications/badge")
    assert response.status_code == 303 and response.headers["Location"] == "/notifications"


def test_signed_out_the_badge_asks_to_sign_in(client):
    assert client.get("/notifications/badge").status_code in (302, 401)
    assert client.get("/notifications").status_code == 302
