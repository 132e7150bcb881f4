"""Reading the audit trail: the admin's audit log page (filters, newest first, pages)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import JOIN, fn

from crm.accounts.models import User
from crm.audit.models import AuditLog

PER_PAGE = 50
MAX_PAGE = 10_000


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass
class AuditFilters:
    action: str = ""
    user: int | None = None          # rows by this user, or about them (entity "user")
    since: dt.date | None = None     # dates in the viewer's time zone, both included
    until: dt.date | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args) -> "AuditFilters":
        return cls(action=(args.get("action") or "").strip()[:32], user=_int(args.get("user")),
                   since=_date(args.get("since")), until=_date(args.get("until")),
                   page=min(_int(args.get("page")) or 1, MAX_PAGE))

    @property
    def active(self) -> bool:
        return bool(self.action or self.user or self.since or self.until)

    def args(self, **override) -> dict:
        """The query-string of these filters (empty values left out), for links."""
        values = {"action": self.action, "user": self.user,
                  "since": self.since.isoformat() if self.since else None,
                  "until": self.until.isoformat() if self.until else None, "page": self.page}
        values.update(override)
        return {k: v for k, v in values.items()
                if v not in (None, "") and not (k == "page" and v == 1)}


@dataclass
class AuditPage:
    rows: list
    page: int
    has_next: bool
    per_page: int = PER_PAGE
    users: dict = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def filtered(filters: AuditFilters, to_utc=lambda d: d):
    """The rows matching ``filters``; ``to_utc`` turns a local midnight into stored UTC."""
    query = AuditLog.select()
    if filters.action:
        query = query.where(AuditLog.action == filters.action)
    if filters.user:
        query = query.where((AuditLog.user == filters.user) |
                            ((AuditLog.entity == "user") & (AuditLog.entity_id == filters.user)))
    if filters.since:
        query = query.where(AuditLog.at >= to_utc(dt.datetime.combine(filters.since,
                                                                     dt.time())))
    if filters.until:
        query = query.where(AuditLog.at < to_utc(dt.datetime.combine(
            filters.until + dt.timedelta(days=1), dt.time())))
    return query


def audit_page(filters: AuditFilters, to_utc=lambda d: d, per_page: int = PER_PAGE) -> AuditPage:
    """One page, newest first, with each row's user (one query) -- no count of the whole log:
    "newer / older" links need only one row more than the page."""
    query = (filtered(filters, to_utc)
             .select(AuditLog, User.id, User.username, User.display_name)
             .join(User, JOIN.LEFT_OUTER, on=(AuditLog.user == User.id), attr="actor")
             .order_by(AuditLog.at.desc(), AuditLog.id.desc())
             .offset((filters.page - 1) * per_page).limit(per_page + 1))
    rows = list(query)
    return AuditPage(rows[:per_page], filters.page, len(rows) > per_page, per_page)


def subject_names(rows) -> dict:
    """The usernames of the users the rows are about (entity "user"), one query."""
    ids = {r.entity_id for r in rows if r.entity == "user" and r.entity_id}
    if not ids:
        return {}
    return {u.id: u.name for u in User.select(User.id, User.username, User.display_name)
            .where(User.id.in_(ids))}


def actions_in_use() -> list[str]:
    """The distinct actions in the log, by a loose index scan of (action, at): one index seek
    per action, not a scan of the whole log (it grows with every change of every record)."""
    found, current = [], None
    while True:
        query = AuditLog.select(fn.MIN(AuditLog.action))
        if current is not None:
            query = query.where(AuditLog.action > current)
        current = query.scalar()
        if current is None or len(found) > 200:
            return found
        found.append(current)


def user_choices() -> list:
    return list(User.select(User.id, User.username, User.display_name).order_by(User.username))
