"""Notify people, read and count their notifications.

    from crm.i18n import N_
    from crm.notifications import notify
    notify([deal.owner_id], N_("Deal %(title)s entered %(stage)s"), url=f"/sales/deals/{deal.id}",
           kind="sales.stage", key=f"deal-stage:{deal.id}:{stage.id}", title=deal.title,
           stage=stage.name)

``message`` is a msgid marked with ``N_`` (extracted into the catalogues, translated when it
is shown); the keyword arguments fill its ``%(name)s`` placeholders and must be JSON values.
``key`` makes a notification idempotent per user: a periodic job that runs twice notifies
once.  Inactive users are skipped.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from flask_babel import gettext
from peewee import fn

from crm.accounts.models import User
from crm.db import database, utcnow
from crm.notifications.models import Notification

PAGE = 50


def _user_ids(users: Iterable) -> list[int]:
    ids = []
    for user in users:
        uid = user if isinstance(user, int) else getattr(user, "id", None)
        if uid and uid not in ids:
            ids.append(uid)
    return ids


def notify(users: Iterable, message: str, *, url: str = "", kind: str = "",
           key: str | None = None, **params) -> int:
    """Notify each of ``users`` (User objects or ids); the number of notifications made."""
    ids = _user_ids(users)
    if not ids:
        return 0
    active = [uid for (uid,) in User.select(User.id).where(
        User.id.in_(ids) & (User.is_active == True)).tuples()]  # noqa: E712
    if not active:
        return 0
    now = utcnow()
    payload = json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)
    rows = [{"user": uid, "kind": kind[:40], "message": str(message)[:255], "params": payload,
             "url": url[:500], "key": key, "created_at": now} for uid in active]
    made = 0
    with database.atomic():
        for row in rows:
            if key is None:
                Notification.insert(row).execute()
                made += 1
            else:       # the rows written: 0 when this user already has this key
                made += Notification.insert(row).on_conflict_ignore().as_rowcount().execute()
    return made


def notify_role(role: str, message: str, *, department_ids: Iterable[int] | None = None,
                **kwargs) -> int:
    """Notify every active user with ``role`` (in ``department_ids`` when given)."""
    query = User.select(User.id).where((User.role == role) & (User.is_active == True))  # noqa
    if department_ids is not None:
        query = query.where(User.department.in_(list(department_ids)))
    return notify([uid for (uid,) in query.tuples()], message, **kwargs)


def badge_state(user) -> tuple[int, int]:
    """(unread, newest unread id): what the header's badge shows and its ETag is made of."""
    count, newest = (Notification.select(fn.COUNT(Notification.id), fn.MAX(Notification.id))
                     .where((Notification.user == user.id) & Notification.read_at.is_null())
                     .tuples().get())
    return count or 0, newest or 0


def unread_count(user) -> int:
    return badge_state(user)[0]


@dataclass
class Shown:
    id: int
    text: str
    url: str
    kind: str
    created_at: object
    read: bool


def text_of(notification: Notification) -> str:
    """The message in the current language with its parameters (never raises on a bad one)."""
    try:
        params = json.loads(notification.params or "{}")
    except ValueError:
        params = {}
    translated = gettext(notification.message)
    try:
        return translated % params if params else translated
    except (KeyError, ValueError, TypeError):
        return notification.message


def latest(user, page: int = 1, unread_only: bool = False) -> tuple[list[Shown], bool]:
    """One page of ``user``'s notifications, newest first, and whether there is another."""
    query = Notification.select().where(Notification.user == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_null())
    rows = list(query.order_by(Notification.id.desc()).offset((page - 1) * PAGE).limit(PAGE + 1))
    return ([Shown(n.id, text_of(n), n.url, n.kind, n.created_at, n.read_at is not None)
             for n in rows[:PAGE]], len(rows) > PAGE)


def get_own(user, notification_id: int) -> Notification | None:
    return Notification.get_or_none((Notification.id == notification_id)
                                    & (Notification.user == user.id))


def mark_read(user, notification_id: int | None = None) -> int:
    """Mark one notification (or all of them) of ``user`` read; the number changed."""
    query = Notification.update(read_at=utcnow()).where(
        (Notification.user == user.id) & Notification.read_at.is_null())
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return query.execute()
