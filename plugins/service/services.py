"""The service desk's domain logic (no Flask): numbering, the status workflow, SLA deadlines in
business hours, the periodic SLA check with warnings and escalation, and the reads the pages use.

Every write runs inside ``database.atomic()`` together with the ticket's history row, so a
ticket is never half-changed.  Status changes are ``UPDATE ... WHERE version = expected``: a
stale form gets ``Conflict`` instead of overwriting somebody else's change.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from peewee import JOIN, IntegrityError, fn

from crm import access
from crm.accounts.models import User
from crm.customers.models import Customer
from crm.db import database, is_postgres, utcnow
from crm.i18n import N_
from crm.notifications import notify

from .models import (CAUSES, OPEN_STATUSES, PRIORITIES, TYPES, CalendarDay, SlaPolicy, Ticket,
                     TicketEvent, TicketSequence)
from .workdays import WorkCalendar, parse_clock

# Targets in business hours: (first response, resolution).  An administrator's rows in
# service_sla_policy replace them cell by cell.
DEFAULT_SLA = {
    "urgent": (2, 8),
    "high": (4, 16),
    "normal": (24, 40),
    "low": (24, 72),
}
DEFAULT_SLA_TABLE = {(t, p): DEFAULT_SLA[p] for t in TYPES for p in PRIORITIES}
MAX_SLA_HOURS = 2000


class Conflict(Exception):
    """The ticket changed since the form was loaded (another version or another status)."""

    def __init__(self, ticket):
        super().__init__("stale ticket")
        self.ticket = ticket


@dataclass(frozen=True)
class Settings:
    number_pattern: str = "FK{year:04d}{month:02d}{seq:04d}"
    timezone: str = "Asia/Shanghai"
    work_start: str = "09:00"
    work_end: str = "18:00"
    warn_minutes: int = 120      # warn the assignee this many working minutes before a deadline

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(config.get("SERVICE_TICKET_NUMBER_PATTERN", cls.number_pattern),
                   config.get("BABEL_DEFAULT_TIMEZONE", cls.timezone),
                   config.get("SERVICE_WORKDAY_START", cls.work_start),
                   config.get("SERVICE_WORKDAY_END", cls.work_end),
                   int(config.get("SERVICE_SLA_WARN_MINUTES", cls.warn_minutes)))


def write_transaction():
    """A transaction that writes: on SQLite ``BEGIN IMMEDIATE`` takes the write lock first (with
    the busy timeout) so a read-then-write never fails with "database is locked" when another
    writer committed in between; on PostgreSQL a plain transaction (row locks and the version
    checks do the work).  Nested, it is a savepoint."""
    return database.atomic() if is_postgres() else database.atomic("IMMEDIATE")


# -- the calendar and the SLA table -------------------------------------------------------------

def load_calendar(settings: Settings) -> WorkCalendar:
    """The working calendar: the official one plus the administrator's overrides (one query)."""
    overrides = dict(CalendarDay.select(CalendarDay.day, CalendarDay.workday).tuples())
    return WorkCalendar(overrides, parse_clock(settings.work_start, dt.time(9, 0)),
                        parse_clock(settings.work_end, dt.time(18, 0)), settings.timezone)


def calendar_overrides() -> list[CalendarDay]:
    return list(CalendarDay.select().order_by(CalendarDay.day.desc()))


def set_calendar_day(day: dt.date, workday: bool, note: str = "") -> None:
    with database.atomic():
        (CalendarDay.insert(day=day, workday=workday, note=note)
         .on_conflict(conflict_target=[CalendarDay.day],
                      update={CalendarDay.workday: workday, CalendarDay.note: note})
         .execute())


def delete_calendar_day(day: dt.date) -> int:
    with database.atomic():
        return CalendarDay.delete().where(CalendarDay.day == day).execute()


def sla_table() -> dict:
    """{(type, priority): (response_hours, resolve_hours)}: defaults, then the admin's rows."""
    table = dict(DEFAULT_SLA_TABLE)
    for row in SlaPolicy.select():
        table[(row.type, row.priority)] = (row.response_hours, row.resolve_hours)
    return table


def save_sla_table(values: dict) -> None:
    """``values``: {(type, priority): (response, resolve)}, validated by the caller."""
    with database.atomic():
        for (ticket_type, priority), (response, resolve) in values.items():
            (SlaPolicy.insert(type=ticket_type, priority=priority, response_hours=response,
                              resolve_hours=resolve)
             .on_conflict(conflict_target=[SlaPolicy.type, SlaPolicy.priority],
                          update={SlaPolicy.response_hours: response,
                                  SlaPolicy.resolve_hours: resolve})
             .execute())


def deadlines(ticket_type: str, priority: str, start: dt.datetime, calendar: WorkCalendar,
              table: dict | None = None) -> tuple[dt.datetime, dt.datetime]:
    """(first response due, resolution due) for a ticket opened at ``start`` (naive UTC)."""
    table = table if table is not None else sla_table()
    response, resolve = table.get((ticket_type, priority), DEFAULT_SLA["normal"])
    return calendar.add_hours(start, response), calendar.add_hours(start, resolve)


# -- numbering ------------------------------------------------------------------------------------

def next_value(period: str) -> int:
    """The next value of the period's counter, unique under concurrency: the counter row is
    updated (and so locked) inside the caller's transaction; the first ticket of a month
    inserts the row, and a concurrent insert of the same row falls back to the update."""
    with write_transaction():
        where = TicketSequence.period == period
        if not TicketSequence.update(value=TicketSequence.value + 1).where(where).execute():
            try:
                with database.atomic():
                    TicketSequence.insert(period=period, value=1).execute()
                return 1
            except IntegrityError:
                TicketSequence.update(value=TicketSequence.value + 1).where(where).execute()
        return TicketSequence.select(TicketSequence.value).where(where).scalar()


def next_number(settings: Settings, now_utc: dt.datetime | None = None) -> str:
    """FK + year + month + sequence; the month is the business time zone's."""
    now_utc = now_utc or utcnow()
    local = now_utc.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(settings.timezone))
    seq = next_value(f"{local.year:04d}{local.month:02d}")
    return settings.number_pattern.format(year=local.year, month=local.month, seq=seq)


# -- the workflow -------------------------------------------------------------------------------

TICKET_FIELDS = ("contact", "type", "channel", "priority", "subject", "content", "product")


def _id(value):
    return getattr(value, "id", value) or None


def _event(ticket_id, user, kind, note="", from_status="", to_status="", at=None):
    TicketEvent.create(ticket=ticket_id, user=_id(user), kind=kind, note=note or "",
                       from_status=from_status, to_status=to_status, at=at or utcnow())


def create_ticket(customer, user, data: dict, settings: Settings,
                  now: dt.datetime | None = None) -> Ticket:
    """Open a ticket: its number, its SLA deadlines and its first history row, together."""
    now = now or utcnow()
    with write_transaction():
        number = next_number(settings, now)
        calendar = load_calendar(settings)
        response_due, resolve_due = deadlines(data["type"], data["priority"], now, calendar)
        values = {k: _id(data.get(k)) if k in ("contact", "product") else data.get(k)
                  for k in TICKET_FIELDS}
        assignee = _id(data.get("assignee"))
        ticket = Ticket.create(
            number=number, customer=customer.id, created_by=_id(user),
            created_at=now, updated_at=now, response_due=response_due, resolve_due=resolve_due,
            assignee=assignee, status="assigned" if assignee else "new", **values)
        _event(ticket.id, user, "created", to_status=ticket.status, at=now)
        if assignee:
            _event(ticket.id, user, "assigned", note=_user_name(assignee), at=now)
    return ticket


def _user_name(user_id) -> str:
    user = User.get_or_none(User.id == _id(user_id))
    return user.name if user else ""


def _change(ticket_id: int, version: int, user, allowed: tuple, kind: str, values: dict,
            note: str = "", now: dt.datetime | None = None) -> Ticket:
    """Apply ``values`` if the ticket is still at ``version`` and in one of ``allowed``."""
    now = now or utcnow()
    with write_transaction():
        ticket = Ticket.get_by_id(ticket_id)
        if ticket.version != version or ticket.status not in allowed:
            raise Conflict(ticket)
        values = dict(values, updated_at=now, version=Ticket.version + 1)
        to_status = values.get("status", ticket.status)
        if to_status in ("in_progress", "resolved") and ticket.responded_at is None:
            values["responded_at"] = now          # the first response stops that clock
        updated = (Ticket.update(**values)
                   .where((Ticket.id == ticket_id) & (Ticket.version == version)).execute())
        if not updated:
            raise Conflict(Ticket.get_by_id(ticket_id))
        _event(ticket_id, user, kind, note, ticket.status if to_status != ticket.status else "",
               to_status if to_status != ticket.status else "", now)
        return Ticket.get_by_id(ticket_id)


def assign(ticket_id, version, user, assignee_id, now=None) -> Ticket:
    ticket = Ticket.get_by_id(ticket_id)
    values = {"assignee": assignee_id}
    if ticket.status == "new":
        values["status"] = "assigned"
    return _change(ticket_id, version, user, OPEN_STATUSES, "assigned", values,
                   _user_name(assignee_id), now)


def start(ticket_id, version, user, now=None) -> Ticket:
    ticket = Ticket.get_by_id(ticket_id)
    values = {"status": "in_progress"}
    if ticket.assignee_id is None:
        values["assignee"] = user.id           # taking a new ticket assigns it to oneself
    return _change(ticket_id, version, user, ("new", "assigned"), "status", values, "", now)


def resolve(ticket_id, version, user, resolution: str, cause: str = "", now=None) -> Ticket:
    now = now or utcnow()
    values = {"status": "resolved", "resolution": resolution.strip(), "resolved_at": now}
    if cause:
        values["cause"] = cause
    return _change(ticket_id, version, user, OPEN_STATUSES, "status", values, "", now)


def close(ticket_id, version, user, resolution: str, followup_channel: str, followup_note: str,
          satisfaction: int, now=None) -> Ticket:
    """Close a resolved ticket: requires the resolution, the follow-up (回访) and the
    customer's satisfaction (1-5), which feeds CSAT."""
    if not (resolution or "").strip() or not (followup_note or "").strip():
        raise ValueError("closing requires a resolution and a follow-up")
    if satisfaction not in (1, 2, 3, 4, 5):
        raise ValueError("satisfaction is 1 to 5")
    now = now or utcnow()
    values = {"status": "closed", "resolution": resolution.strip(),
              "followup_channel": followup_channel, "followup_note": followup_note.strip(),
              "followup_by": user.id, "followup_at": now, "satisfaction": satisfaction,
              "closed_at": now}
    return _change(ticket_id, version, user, ("resolved",), "status", values,
                   followup_note.strip(), now)


def reopen(ticket_id, version, user, reason: str, settings: Settings, now=None) -> Ticket:
    """Back to work: a new resolution deadline from now; the close's fields are cleared (the
    history keeps them)."""
    now = now or utcnow()
    ticket = Ticket.get_by_id(ticket_id)
    calendar = load_calendar(settings)
    _response_due, resolve_due = deadlines(ticket.type, ticket.priority, now, calendar)
    values = {"status": "assigned" if ticket.assignee_id else "new", "resolve_due": resolve_due,
              "resolved_at": None, "closed_at": None, "satisfaction": None,
              "followup_note": "", "followup_channel": "", "followup_by": None,
              "followup_at": None, "resolve_warned_at": None, "resolve_breached_at": None,
              "reopened": Ticket.reopened + 1}
    return _change(ticket_id, version, user, ("resolved", "closed"), "reopened", values,
                   reason.strip(), now)


def edit(ticket_id, version, user, data: dict, settings: Settings, now=None) -> Ticket:
    """Change the ticket's description; a new type or priority moves the deadlines that are
    still running (counted from the ticket's opening)."""
    ticket = Ticket.get_by_id(ticket_id)
    values = {k: _id(data.get(k)) if k in ("contact", "product") else data.get(k)
              for k in TICKET_FIELDS}
    changed = [k for k in TICKET_FIELDS if getattr(ticket, k + "_id" if k in ("contact", "product")
                                                   else k) != values[k]]
    if {"type", "priority"} & set(changed):
        response_due, resolve_due = deadlines(values["type"], values["priority"],
                                              ticket.created_at, load_calendar(settings))
        if ticket.responded_at is None:
            values["response_due"] = response_due
        if ticket.resolved_at is None and not ticket.reopened:
            values["resolve_due"] = resolve_due
    return _change(ticket_id, version, user, OPEN_STATUSES + ("resolved",), "edited", values,
                   ", ".join(changed), now)


def comment(ticket_id: int, user, note: str, handler: bool, now=None) -> None:
    """A note on the ticket; the first note of somebody who handles tickets is its response."""
    now = now or utcnow()
    with write_transaction():
        _event(ticket_id, user, "comment", note.strip(), at=now)
        if handler:
            (Ticket.update(responded_at=now)
             .where((Ticket.id == ticket_id) & Ticket.responded_at.is_null()
                    & Ticket.status.in_(OPEN_STATUSES)).execute())


# -- the SLA check (a periodic job) -------------------------------------------------------------

def escalation_target(person_id: int | None, customer_id: int | None = None) -> int | None:
    """The manager of ``person_id``'s department, or of the nearest department above it that
    has one, who can see the ticket's customer; else an administrator."""
    person = User.get_or_none(User.id == person_id) if person_id else None
    chain = access.department_ancestors(person.department_id) if person else []
    if chain:
        managers = list(User.select()
                        .where((User.role == "manager") & (User.is_active == True)  # noqa: E712
                               & User.department.in_(chain)).order_by(User.id))
        for dept in chain:
            for manager in managers:
                if manager.department_id != dept or manager.id == person_id:
                    continue
                if customer_id is None or access.scoped_customers(manager).where(
                        Customer.id == customer_id).exists():
                    return manager.id
    admin = (User.select(User.id).where((User.role == "admin") & (User.is_active == True))  # noqa
             .order_by(User.id).first())
    return admin.id if admin else None


def warn_before(table: dict, ticket, target: str, settings: Settings) -> int:
    """Working minutes before a deadline when the assignee is warned: ``warn_minutes``, but
    at most a quarter of the target (a 2-hour target warns 30 minutes before)."""
    response, resolve = table.get((ticket.type, ticket.priority), DEFAULT_SLA["normal"])
    hours = response if target == "response" else resolve
    return min(settings.warn_minutes, hours * 60 // 4)


WARNED = {"response": N_("Ticket %(number)s needs a first response by %(due)s"),
          "resolve": N_("Ticket %(number)s must be resolved by %(due)s")}
BREACHED = {"response": N_("Ticket %(number)s missed its first-response target: escalated"),
            "resolve": N_("Ticket %(number)s missed its resolution target: escalated")}


def format_due(due: dt.datetime, settings: Settings) -> str:
    """A deadline (naive UTC) as local "YYYY-MM-DD HH:MM" in the service's time zone."""
    return (due.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(settings.timezone))
            .strftime("%Y-%m-%d %H:%M"))


def check_sla(settings: Settings, now: dt.datetime | None = None) -> dict:
    """Warn before each running deadline and escalate each missed one, once per target.

    Safe to run concurrently or twice: each flag is set by ``UPDATE ... WHERE flag IS NULL``
    and the history row is written only by the run whose update hit."""
    now = now or utcnow()
    calendar = load_calendar(settings)
    table = sla_table()
    counts = {"warned": 0, "breached": 0}
    pending = (Ticket.select().where(
        Ticket.status.in_(OPEN_STATUSES)
        & (Ticket.resolve_breached_at.is_null()
           | (Ticket.responded_at.is_null() & Ticket.response_breached_at.is_null()))))
    for ticket in pending:
        targets = [("resolve", ticket.resolve_due)]
        if ticket.responded_at is None:
            targets.insert(0, ("response", ticket.response_due))
        for target, due in targets:
            if due is None:
                continue
            warned = getattr(Ticket, f"{target}_warned_at")
            breached = getattr(Ticket, f"{target}_breached_at")
            if getattr(ticket, f"{target}_breached_at") is not None:
                continue
            with write_transaction():
                if now >= due:
                    manager = escalation_target(ticket.assignee_id or ticket.created_by_id,
                                                ticket.customer_id)
                    hit = (Ticket.update({breached: now, Ticket.escalated_to: manager,
                                          Ticket.escalated_at: now})
                           .where((Ticket.id == ticket.id) & breached.is_null()).execute())
                    if hit:
                        _event(ticket.id, None, "breached", target, at=now)
                        _event(ticket.id, None, "escalated", _user_name(manager), at=now)
                        counts["breached"] += 1
                        people = [p for p in (ticket.assignee_id, manager) if p]
                        notify(people, BREACHED[target], url=f"/service/tickets/{ticket.id}",
                               kind="service.sla", key=f"service.breached:{ticket.id}:{target}",
                               number=ticket.number)
                elif (getattr(ticket, f"{target}_warned_at") is None
                      and calendar.minutes_between(now, due)
                      <= warn_before(table, ticket, target, settings)):
                    hit = (Ticket.update({warned: now})
                           .where((Ticket.id == ticket.id) & warned.is_null()).execute())
                    if hit:
                        _event(ticket.id, None, "warned", target, at=now)
                        counts["warned"] += 1
                        # the assignee, else whoever opened it (a new, unassigned ticket)
                        person = ticket.assignee_id or ticket.created_by_id
                        notify([person] if person else [], WARNED[target],
                               url=f"/service/tickets/{ticket.id}", kind="service.sla",
                               key=f"service.warned:{ticket.id}:{target}", number=ticket.number,
                               due=format_due(due, settings))
    return counts


def sla_state(ticket: Ticket, now: dt.datetime | None = None) -> str:
    """"ok", "at_risk" (warned) or "breached" for the running targets of an open ticket."""
    if ticket.status not in OPEN_STATUSES:
        return "done"
    now = now or utcnow()
    running = [(ticket.resolve_due, ticket.resolve_warned_at)]
    if ticket.responded_at is None:
        running.append((ticket.response_due, ticket.response_warned_at))
    if any(due is not None and now >= due for due, _w in running):
        return "breached"
    if any(warned is not None for _d, warned in running):
        return "at_risk"
    return "ok"


# -- reads ------------------------------------------------------------------------------------

@dataclass
class Filters:
    status: str = ""          # a status, or "open"
    type: str = ""
    priority: str = ""
    assignee: str = ""        # a user id, "me" or "none"
    sla: str = ""             # "at_risk" or "breached"
    escalated: bool = False   # escalated to the signed-in user
    customer: int | None = None
    q: str = ""
    page: int = 1

    def args(self, **changes) -> dict:
        values = {"status": self.status, "type": self.type, "priority": self.priority,
                  "assignee": self.assignee, "sla": self.sla,
                  "escalated": "me" if self.escalated else "", "customer": self.customer,
                  "q": self.q, "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None) and not (k == "page"
                                                                                and v == 1)}

    @property
    def active(self) -> bool:
        return bool(self.status or self.type or self.priority or self.assignee or self.sla
                    or self.escalated or self.customer)


def scoped_tickets(user):
    """The tickets of the customers ``user`` sees (crm.access.scoped_customers)."""
    return Ticket.select().where(Ticket.customer.in_(access.scoped_customers(user, Customer.id)))


def ticket_for(user, ticket_id: int) -> Ticket | None:
    """The ticket if its customer is in ``user``'s scope, else None (the view answers 404)."""
    return scoped_tickets(user).where(Ticket.id == ticket_id).first()


def search(user, filters: Filters, page_size: int, now: dt.datetime | None = None):
    now = now or utcnow()
    query = scoped_tickets(user)
    if filters.status == "open":
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif filters.status:
        query = query.where(Ticket.status == filters.status)
    if filters.type:
        query = query.where(Ticket.type == filters.type)
    if filters.priority:
        query = query.where(Ticket.priority == filters.priority)
    if filters.assignee == "me":
        query = query.where(Ticket.assignee == user.id)
    elif filters.assignee == "none":
        query = query.where(Ticket.assignee.is_null())
    elif filters.assignee.isdigit():
        query = query.where(Ticket.assignee == int(filters.assignee))
    if filters.escalated:
        query = query.where(Ticket.escalated_to == user.id)
    if filters.customer:
        query = query.where(Ticket.customer == filters.customer)
    if filters.q:
        term = filters.q.strip()
        query = query.where(Ticket.number.startswith(term.upper()) | Ticket.subject.contains(term))
    if filters.sla:
        running_resolve = Ticket.status.in_(OPEN_STATUSES)
        response_late = Ticket.responded_at.is_null() & (Ticket.response_due <= now)
        resolve_late = Ticket.resolve_due <= now
        if filters.sla == "breached":
            query = query.where(running_resolve & (response_late | resolve_late))
        else:
            warned = ((Ticket.responded_at.is_null() & Ticket.response_warned_at.is_null(False))
                      | Ticket.resolve_warned_at.is_null(False))
            query = query.where(running_resolve & warned & ~(response_late | resolve_late))
    total = query.count()
    pages = max(1, -(-total // page_size))
    page = min(max(1, filters.page), pages)
    Assignee = User.alias()
    rows = list(query.select_extend(Customer.id, Customer.name, Customer.number,
                                    Assignee.id, Assignee.display_name, Assignee.username)
                .join(Customer, on=(Ticket.customer == Customer.id))
                .switch(Ticket).join(Assignee, JOIN.LEFT_OUTER, on=(Ticket.assignee == Assignee.id),
                                     attr="assignee_user")
                .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                .paginate(page, page_size))
    return {"rows": rows, "total": total, "page": page, "pages": pages,
            "has_next": page < pages}


def customer_tickets(customer, limit: int = 10) -> tuple[list, int, int]:
    """The customer's latest tickets, how many they have, and how many are open."""
    query = Ticket.select().where(Ticket.customer == customer.id)
    rows = list(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))
    counts = dict(Ticket.select(Ticket.status, fn.COUNT(Ticket.id))
                  .where(Ticket.customer == customer.id).group_by(Ticket.status).tuples())
    return rows, sum(counts.values()), sum(counts.get(s, 0) for s in OPEN_STATUSES)


def history(ticket: Ticket) -> list[TicketEvent]:
    return list(TicketEvent.select(TicketEvent, User).join(User, JOIN.LEFT_OUTER)
                .where(TicketEvent.ticket == ticket.id)
                .order_by(TicketEvent.at, TicketEvent.id))


def handlers(user_ids=None) -> list[User]:
    """Active users who may be assigned tickets (roles admin, manager, service)."""
    return list(User.select().where((User.is_active == True)  # noqa: E712
                                    & User.role.in_(("admin", "manager", "service")))
                .order_by(User.display_name, User.username))


def queue(user, now: dt.datetime | None = None) -> dict:
    """The figures of the "my tickets" card."""
    now = now or utcnow()
    mine = scoped_tickets(user).where(Ticket.assignee == user.id,
                                      Ticket.status.in_(OPEN_STATUSES))
    by_status = dict(mine.select(Ticket.status, fn.COUNT(Ticket.id))
                     .group_by(Ticket.status).tuples())
    late = ((Ticket.responded_at.is_null() & (Ticket.response_due <= now))
            | (Ticket.resolve_due <= now))
    unassigned = (scoped_tickets(user).where(Ticket.status == "new").count()
                  if user.role in ("admin", "manager", "service") else 0)
    escalated = (scoped_tickets(user).where((Ticket.escalated_to == user.id)
                                            & Ticket.status.in_(OPEN_STATUSES)).count())
    return {"by_status": by_status, "total": sum(by_status.values()),
            "breached": mine.where(late).count(), "unassigned": unassigned,
            "escalated": escalated}


def csat(user, days: int = 30, now: dt.datetime | None = None) -> dict:
    """Customer satisfaction over the tickets closed in the last ``days`` days: the average,
    the share of 4s and 5s (CSAT), per type."""
    now = now or utcnow()
    rows = list(scoped_tickets(user).select(Ticket.type, Ticket.satisfaction)
                .where((Ticket.closed_at >= now - dt.timedelta(days=days))
                       & Ticket.satisfaction.is_null(False)).tuples())
    by_type: dict = {}
    for ticket_type, score in rows:
        by_type.setdefault(ticket_type, []).append(score)

    def summary(scores):
        return {"count": len(scores),
                "average": round(sum(scores) / len(scores), 1) if scores else None,
                "csat": round(100 * sum(1 for s in scores if s >= 4) / len(scores))
                if scores else None}
    return {"all": summary([s for _t, s in rows]),
            "by_type": {t: summary(v) for t, v in sorted(by_type.items())}, "days": days}


def month_keys(now_local: dt.date, months: int) -> list[str]:
    keys, year, month = [], now_local.year, now_local.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return list(reversed(keys))


def analysis(user, months: int, timezone: str, now: dt.datetime | None = None) -> dict:
    """Tickets by type per month, and complaints by product and by cause, over ``months``
    months (months of the business time zone)."""
    from crm.purchases.models import Product
    now = now or utcnow()
    tz = ZoneInfo(timezone)
    local_now = now.replace(tzinfo=dt.timezone.utc).astimezone(tz)
    keys = month_keys(local_now.date(), months)
    first = dt.datetime.strptime(keys[0] + "-01", "%Y-%m-%d").replace(tzinfo=tz)
    since = first.astimezone(dt.timezone.utc).replace(tzinfo=None)
    rows = list(scoped_tickets(user).select(Ticket.created_at, Ticket.type, Ticket.product,
                                            Ticket.cause)
                .where(Ticket.created_at >= since).tuples())
    by_month = {k: {t: 0 for t in TYPES} for k in keys}
    products: dict = {}
    causes: dict = {c: 0 for c in CAUSES}
    complaints_by_month = {k: 0 for k in keys}
    for created, ticket_type, product_id, cause in rows:
        key = created.replace(tzinfo=dt.timezone.utc).astimezone(tz).strftime("%Y-%m")
        if key in by_month and ticket_type in by_month[key]:
            by_month[key][ticket_type] += 1
        if ticket_type == "complaint":
            complaints_by_month[key] = complaints_by_month.get(key, 0) + 1
            products[product_id] = products.get(product_id, 0) + 1
            if cause:
                causes[cause] = causes.get(cause, 0) + 1
            else:
                causes.setdefault("", 0)
                causes[""] += 1
    names = dict(Product.select(Product.id, Product.name)
                 .where(Product.id.in_([p for p in products if p])).tuples()) if products else {}
    by_product = sorted(((names.get(pid, ""), count) for pid, count in products.items()),
                        key=lambda item: (-item[1], item[0]))
    peak = max([1] + [sum(counts.values()) for counts in by_month.values()])
    return {"months": keys, "by_month": by_month, "complaints_by_month": complaints_by_month,
            "peak": peak,
            "by_product": by_product,
            "by_cause": sorted(((c, n) for c, n in causes.items() if n), key=lambda i: -i[1]),
            "total": len(rows)}
