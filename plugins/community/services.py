"""The community plugin's domain logic (no Flask): groups and their owners, members, events
with sign-up (capacity) and check-in (once per customer and event, a domain event for loyalty),
topics and replies written on a member's behalf, and moderation.

Writes run in a write transaction (``BEGIN IMMEDIATE`` on SQLite; on PostgreSQL the event row is
locked before its places are counted), so two sign-ups never take the last place twice.  A
refusal raises ``CommunityError`` with a translatable message for the form.
"""
from __future__ import annotations

import datetime as dt

from peewee import IntegrityError, fn

from crm.accounts.models import User
from crm.customers.models import Customer
from crm.db import database, is_postgres, utcnow
from crm.events.services import emit
from crm.i18n import _l

from .models import (ROLES, CommunityCheckin, CommunityEvent, CommunityGroup, CommunityMember,
                     CommunityOwner, CommunityReply, CommunitySignup, CommunityTopic)

CHECKED_IN = "community.checked_in"          # the domain event of a check-in
TOPIC_ACTIONS = ("pin", "unpin", "close", "reopen", "hide", "show")
REPLY_ACTIONS = ("hide", "show")


class CommunityError(Exception):
    """A refusal with a message for the person at the form (a lazy translatable string);
    ``field`` names the form field it belongs to, or "" for the whole form."""

    def __init__(self, message, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


class EventFull(CommunityError):
    """The event has no place left."""


class Conflict(CommunityError):
    """The record changed since the form was shown (its version moved on)."""


def write_transaction():
    """SQLite: ``BEGIN IMMEDIATE`` (nested: a savepoint); PostgreSQL: a plain transaction."""
    return database.atomic() if is_postgres() else database.atomic("IMMEDIATE")


# -- groups -------------------------------------------------------------------------------------

def _clean(text) -> str:
    return (text or "").strip()


def _require_open(group: CommunityGroup) -> None:
    if group.archived_at is not None:
        raise CommunityError(_l("This group is archived: it can no longer be changed."))


def _set_owners(group_id: int, owner_ids) -> None:
    wanted = {int(i) for i in owner_ids or ()}
    if wanted:
        active = {u for (u,) in User.select(User.id).where(User.id.in_(list(wanted))).tuples()}
        wanted &= active
    CommunityOwner.delete().where((CommunityOwner.group == group_id)
                                  & CommunityOwner.user.not_in(list(wanted) or [0])).execute()
    have = {u for (u,) in CommunityOwner.select(CommunityOwner.user)
            .where(CommunityOwner.group == group_id).tuples()}
    rows = [{"group": group_id, "user": u} for u in sorted(wanted - have)]
    if rows:
        CommunityOwner.insert_many(rows).execute()


def create_group(user, name: str, description: str = "", rules: str = "", owner_ids=(),
                 now=None) -> CommunityGroup:
    now = now or utcnow()
    name = _clean(name)
    if not name:
        raise CommunityError(_l("Give the group a name."), "name")
    with write_transaction():
        group = CommunityGroup.create(name=name, description=_clean(description),
                                      rules=_clean(rules), created_by=user.id, created_at=now,
                                      updated_at=now)
        _set_owners(group.id, owner_ids)
    return group


def update_group(group_id: int, version: int, name: str, description: str, rules: str,
                 owner_ids, now=None) -> CommunityGroup:
    now = now or utcnow()
    name = _clean(name)
    if not name:
        raise CommunityError(_l("Give the group a name."), "name")
    with write_transaction():
        group = CommunityGroup.get_by_id(group_id)
        _require_open(group)
        updated = (CommunityGroup.update(name=name, description=_clean(description),
                                         rules=_clean(rules), updated_at=now,
                                         version=CommunityGroup.version + 1)
                   .where((CommunityGroup.id == group_id) & (CommunityGroup.version == version))
                   .execute())
        if not updated:
            raise Conflict(_l("Somebody changed this group meanwhile. Here is what it is now; "
                              "please check and try again."))
        _set_owners(group_id, owner_ids)
    return CommunityGroup.get_by_id(group_id)


def archive_group(group_id: int, archived: bool = True, now=None) -> CommunityGroup:
    """Archive (read-only, off the list of groups) or bring back a group."""
    now = now or utcnow()
    with write_transaction():
        (CommunityGroup.update(archived_at=now if archived else None, updated_at=now,
                               version=CommunityGroup.version + 1)
         .where(CommunityGroup.id == group_id).execute())
    return CommunityGroup.get_by_id(group_id)


def owners(group_id: int) -> list:
    return list(User.select().join(CommunityOwner, on=(CommunityOwner.user == User.id))
                .where(CommunityOwner.group == group_id)
                .order_by(User.display_name, User.username))


def is_owner(user, group_id: int) -> bool:
    if user is None or not getattr(user, "id", None):
        return False
    return CommunityOwner.select().where((CommunityOwner.group == group_id)
                                         & (CommunityOwner.user == user.id)).exists()


def owned_group_ids(user) -> set:
    """Ids of the groups ``user`` is an owner of (one query)."""
    return {g for (g,) in CommunityOwner.select(CommunityOwner.group)
            .where(CommunityOwner.user == user.id).tuples()}


def groups(include_archived: bool = False):
    """The groups, by name, each with ``n_members`` and ``n_events_ahead`` (one query)."""
    members = (CommunityMember.select(fn.COUNT(CommunityMember.id))
               .where(CommunityMember.group == CommunityGroup.id))
    ahead = (CommunityEvent.select(fn.COUNT(CommunityEvent.id))
             .where((CommunityEvent.group == CommunityGroup.id)
                    & (CommunityEvent.starts_at >= utcnow())))
    query = CommunityGroup.select(CommunityGroup, members.alias("n_members"),
                                  ahead.alias("n_events_ahead"))
    if not include_archived:
        query = query.where(CommunityGroup.archived_at.is_null())
    return query.order_by(CommunityGroup.name, CommunityGroup.id)


# -- members ------------------------------------------------------------------------------------

def membership(group_id: int, customer_id: int) -> CommunityMember | None:
    return CommunityMember.get_or_none((CommunityMember.group == group_id)
                                       & (CommunityMember.customer == customer_id))


def add_member(group: CommunityGroup, customer, role: str, user, joined_on: dt.date,
               now=None) -> CommunityMember:
    if role not in ROLES:
        raise CommunityError(_l("Choose member or representative."), "role")
    with write_transaction():
        group = CommunityGroup.get_by_id(group.id)
        _require_open(group)
        if membership(group.id, customer.id) is not None:
            raise CommunityError(_l("%(name)s is already a member of this group.",
                                    name=customer.name), "number")
        try:
            with database.atomic():
                return CommunityMember.create(group=group.id, customer=customer.id, role=role,
                                              joined_on=joined_on, added_by=user.id,
                                              created_at=now or utcnow())
        except IntegrityError:
            raise CommunityError(_l("%(name)s is already a member of this group.",
                                    name=customer.name), "number") from None


def set_role(group: CommunityGroup, customer_id: int, role: str) -> CommunityMember:
    if role not in ROLES:
        raise CommunityError(_l("Choose member or representative."), "role")
    with write_transaction():
        _require_open(CommunityGroup.get_by_id(group.id))
        member = membership(group.id, customer_id)
        if member is None:
            raise CommunityError(_l("This customer is not a member of the group."))
        CommunityMember.update(role=role).where(CommunityMember.id == member.id).execute()
    return membership(group.id, customer_id)


def remove_member(group: CommunityGroup, customer_id: int) -> bool:
    """Take a customer out of the group (their sign-ups, check-ins and posts stay)."""
    with write_transaction():
        _require_open(CommunityGroup.get_by_id(group.id))
        return bool(CommunityMember.delete().where((CommunityMember.group == group.id)
                                                   & (CommunityMember.customer == customer_id))
                    .execute())


def members(group_id: int, scope, limit: int | None = None) -> list:
    """The group's members among the customers of ``scope`` (a subquery of customer ids), the
    representatives first, then by join date; each with its ``customer``."""
    query = (CommunityMember.select(CommunityMember, Customer)
             .join(Customer)
             .where((CommunityMember.group == group_id) & CommunityMember.customer.in_(scope))
             .order_by(CommunityMember.role.desc(), CommunityMember.joined_on,
                       CommunityMember.id))
    if limit:
        query = query.limit(limit)
    return list(query)


def member_count(group_id: int, scope=None) -> int:
    query = CommunityMember.select().where(CommunityMember.group == group_id)
    if scope is not None:
        query = query.where(CommunityMember.customer.in_(scope))
    return query.count()


def customer_groups(customer_id: int) -> list:
    """The customer's memberships, each with its ``group`` (archived groups last)."""
    return list(CommunityMember.select(CommunityMember, CommunityGroup)
                .join(CommunityGroup)
                .where(CommunityMember.customer == customer_id)
                .order_by(CommunityGroup.archived_at.is_null(False), CommunityGroup.name))


# -- events -------------------------------------------------------------------------------------

def create_event(group: CommunityGroup, user, title: str, starts_at: dt.datetime,
                 capacity: int = 0, location: str = "", description: str = "",
                 now=None) -> CommunityEvent:
    title = _clean(title)
    if not title:
        raise CommunityError(_l("Give the event a title."), "title")
    if capacity is None or capacity < 0:
        raise CommunityError(_l("The capacity is a number of places, 0 for no limit."),
                             "capacity")
    with write_transaction():
        _require_open(CommunityGroup.get_by_id(group.id))
        return CommunityEvent.create(group=group.id, title=title, starts_at=starts_at,
                                     capacity=int(capacity), location=_clean(location),
                                     description=_clean(description), created_by=user.id,
                                     created_at=now or utcnow())


def _lock_event(event_id: int) -> CommunityEvent:
    query = CommunityEvent.select().where(CommunityEvent.id == event_id)
    if is_postgres():
        query = query.for_update()
    return query.get()


def taken(event_id: int) -> int:
    """Places taken: sign-ups that are not cancelled."""
    return (CommunitySignup.select().where((CommunitySignup.event == event_id)
                                           & CommunitySignup.cancelled_at.is_null()).count())


def sign_up(event: CommunityEvent, customer, user, now=None) -> tuple[CommunitySignup, bool]:
    """Register the customer for the event: ``(signup, True)``, or the sign-up they already
    have and False.  Refused when the event has started, its group is archived, or every
    place is taken (``EventFull``).  A cancelled sign-up is taken back."""
    now = now or utcnow()
    with write_transaction():
        event = _lock_event(event.id)
        _require_open(CommunityGroup.get_by_id(event.group_id))
        if event.starts_at <= now:
            raise CommunityError(_l("Sign-up is closed: the event has started."))
        existing = CommunitySignup.get_or_none((CommunitySignup.event == event.id)
                                               & (CommunitySignup.customer == customer.id))
        if existing is not None and existing.cancelled_at is None:
            return existing, False
        if event.capacity and taken(event.id) >= event.capacity:
            raise EventFull(_l("This event is full: all %(capacity)s places are taken. "
                               "Cancel a sign-up to free a place.", capacity=event.capacity))
        if existing is not None:
            (CommunitySignup.update(cancelled_at=None, signed_up_at=now, user=user.id)
             .where(CommunitySignup.id == existing.id).execute())
            return CommunitySignup.get_by_id(existing.id), True
        return CommunitySignup.create(event=event.id, customer=customer.id, signed_up_at=now,
                                      user=user.id), True


def cancel_signup(event: CommunityEvent, customer_id: int, now=None) -> bool:
    """Cancel the customer's sign-up (their place is free again); False when there was none."""
    now = now or utcnow()
    with write_transaction():
        return bool(CommunitySignup.update(cancelled_at=now)
                    .where((CommunitySignup.event == event.id)
                           & (CommunitySignup.customer == customer_id)
                           & CommunitySignup.cancelled_at.is_null()).execute())


def check_in(event: CommunityEvent, customer, user, now=None) -> tuple[CommunityCheckin, bool]:
    """Check the customer in at the event, signed up or walking in: ``(checkin, True)`` the
    first time, with the domain event ``community.checked_in`` (customer_id, checkin_id,
    event_id, group_id, user_id, walk_in) written in the same transaction; ``(checkin,
    False)`` and nothing else every later time."""
    now = now or utcnow()
    with write_transaction():
        event = _lock_event(event.id)
        _require_open(CommunityGroup.get_by_id(event.group_id))
        where = (CommunityCheckin.event == event.id) & (CommunityCheckin.customer == customer.id)
        existing = CommunityCheckin.get_or_none(where)
        if existing is not None:
            return existing, False
        signed_up = CommunitySignup.select().where(
            (CommunitySignup.event == event.id) & (CommunitySignup.customer == customer.id)
            & CommunitySignup.cancelled_at.is_null()).exists()
        try:
            with database.atomic():
                checkin = CommunityCheckin.create(event=event.id, customer=customer.id,
                                                  checked_in_at=now, walk_in=not signed_up,
                                                  user=user.id)
        except IntegrityError:       # a second desk checked them in at the same moment
            return CommunityCheckin.get(where), False
        emit(CHECKED_IN, customer_id=customer.id, checkin_id=checkin.id, event_id=event.id,
             group_id=event.group_id, user_id=user.id, walk_in=not signed_up)
    return checkin, True


def upcoming_events(group_id: int, now=None, limit: int = 20) -> list:
    now = now or utcnow()
    return list(CommunityEvent.select().where((CommunityEvent.group == group_id)
                                              & (CommunityEvent.starts_at > now))
                .order_by(CommunityEvent.starts_at, CommunityEvent.id).limit(limit))


def past_events(group_id: int, now=None, limit: int = 10) -> list:
    now = now or utcnow()
    return list(CommunityEvent.select().where((CommunityEvent.group == group_id)
                                              & (CommunityEvent.starts_at <= now))
                .order_by(CommunityEvent.starts_at.desc(), CommunityEvent.id.desc()).limit(limit))


def signups(event_id: int, scope) -> list:
    """The event's sign-ups (cancelled ones too) of the customers in ``scope``."""
    return list(CommunitySignup.select(CommunitySignup, Customer)
                .join(Customer)
                .where((CommunitySignup.event == event_id) & CommunitySignup.customer.in_(scope))
                .order_by(CommunitySignup.cancelled_at.is_null(False),
                          CommunitySignup.signed_up_at, CommunitySignup.id))


def checkins(event_id: int, scope) -> list:
    return list(CommunityCheckin.select(CommunityCheckin, Customer)
                .join(Customer)
                .where((CommunityCheckin.event == event_id)
                       & CommunityCheckin.customer.in_(scope))
                .order_by(CommunityCheckin.checked_in_at, CommunityCheckin.id))


def customer_events(customer_id: int, now=None, limit: int = 5) -> list:
    """The customer's upcoming sign-ups (not cancelled), each with its ``event``."""
    now = now or utcnow()
    return list(CommunitySignup.select(CommunitySignup, CommunityEvent)
                .join(CommunityEvent)
                .where((CommunitySignup.customer == customer_id)
                       & CommunitySignup.cancelled_at.is_null()
                       & (CommunityEvent.starts_at > now))
                .order_by(CommunityEvent.starts_at).limit(limit))


# -- topics and replies ---------------------------------------------------------------------------

def _check_author(group_id: int, customer) -> None:
    if customer is not None and membership(group_id, customer.id) is None:
        raise CommunityError(_l("Only a member of the group can be written for."), "customer")


def post_topic(group: CommunityGroup, user, customer, title: str, body: str,
               now=None) -> CommunityTopic:
    """A topic written by ``user`` on behalf of ``customer`` (a member or the group's
    representative; None: the staff member writes as themselves)."""
    now = now or utcnow()
    title, body = _clean(title), _clean(body)
    if not title:
        raise CommunityError(_l("Give the topic a title."), "title")
    with write_transaction():
        _require_open(CommunityGroup.get_by_id(group.id))
        _check_author(group.id, customer)
        return CommunityTopic.create(group=group.id, title=title, body=body, author=user.id,
                                     customer=customer.id if customer else None,
                                     created_at=now, last_reply_at=now)


def reply(topic: CommunityTopic, user, customer, body: str, now=None) -> CommunityReply:
    """A reply; refused on a closed or hidden topic."""
    now = now or utcnow()
    body = _clean(body)
    if not body:
        raise CommunityError(_l("Write the reply first."), "body")
    with write_transaction():
        topic = CommunityTopic.get_by_id(topic.id)
        _require_open(CommunityGroup.get_by_id(topic.group_id))
        if topic.closed:
            raise CommunityError(_l("This topic is closed: it takes no more replies."))
        if topic.hidden:
            raise CommunityError(_l("This topic is hidden: it takes no replies."))
        _check_author(topic.group_id, customer)
        created = CommunityReply.create(topic=topic.id, body=body, author=user.id,
                                        customer=customer.id if customer else None,
                                        created_at=now)
        (CommunityTopic.update(replies=CommunityTopic.replies + 1, last_reply_at=now)
         .where(CommunityTopic.id == topic.id).execute())
    return created


def moderate_topic(topic: CommunityTopic, action: str) -> CommunityTopic:
    """pin / unpin, close / reopen (replies), hide / show (from everybody but moderators)."""
    values = {"pin": {"pinned": True}, "unpin": {"pinned": False},
              "close": {"closed": True}, "reopen": {"closed": False},
              "hide": {"hidden": True}, "show": {"hidden": False}}.get(action)
    if values is None:
        raise CommunityError(_l("Unknown moderation action."))
    with write_transaction():
        _require_open(CommunityGroup.get_by_id(topic.group_id))
        CommunityTopic.update(**values).where(CommunityTopic.id == topic.id).execute()
    return CommunityTopic.get_by_id(topic.id)


def moderate_reply(item: CommunityReply, action: str) -> CommunityReply:
    if action not in REPLY_ACTIONS:
        raise CommunityError(_l("Unknown moderation action."))
    with write_transaction():
        topic = CommunityTopic.get_by_id(item.topic_id)
        _require_open(CommunityGroup.get_by_id(topic.group_id))
        (CommunityReply.update(hidden=action == "hide")
         .where(CommunityReply.id == item.id).execute())
    return CommunityReply.get_by_id(item.id)


def topics(group_id: int, include_hidden: bool = False, limit: int = 50) -> list:
    """Pinned topics first, then the most recently active."""
    query = CommunityTopic.select().where(CommunityTopic.group == group_id)
    if not include_hidden:
        query = query.where(CommunityTopic.hidden == False)  # noqa: E712
    return list(query.order_by(CommunityTopic.pinned.desc(), CommunityTopic.last_reply_at.desc(),
                               CommunityTopic.id.desc()).limit(limit))


def replies(topic_id: int, include_hidden: bool = False) -> list:
    query = CommunityReply.select().where(CommunityReply.topic == topic_id)
    if not include_hidden:
        query = query.where(CommunityReply.hidden == False)  # noqa: E712
    return list(query.order_by(CommunityReply.created_at, CommunityReply.id))


def names(customer_ids, scope) -> dict:
    """``{customer_id: name}`` of those customers inside ``scope`` (one query): the pages name
    only the customers the reader may see, and say "a member" for the others."""
    ids = sorted({i for i in customer_ids if i})
    if not ids:
        return {}
    return dict(Customer.select(Customer.id, Customer.name)
                .where(Customer.id.in_(ids) & Customer.id.in_(scope)).tuples())


def user_names(user_ids) -> dict:
    ids = sorted({i for i in user_ids if i})
    if not ids:
        return {}
    return {u.id: u.name for u in User.select(User.id, User.display_name, User.username)
            .where(User.id.in_(ids))}


def customer_by_number(number: str, scope):
    """The customer with this number (case and spaces ignored) inside ``scope``, else None."""
    number = (number or "").strip().upper().replace(" ", "")
    if not number:
        return None
    return Customer.select().where((Customer.number == number) & Customer.id.in_(scope)
                                   & Customer.deleted_at.is_null()).first()

