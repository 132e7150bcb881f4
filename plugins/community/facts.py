"""Engagement figures of the community, for this plugin's pages and for other plugins.

A public, read-only API (no Flask; call it inside an app context with a database connection).
Other plugins import it lazily and guard the import, since the community plugin may be absent:

    try:
        from plugins.community.facts import engagement
    except ImportError:
        engagement = None

The window is the last ``days`` days (90 by default) up to ``now`` (naive UTC, default now):

* a customer's **activity** in the window: sign-ups made in it (not cancelled), check-ins made
  in it, and topics and replies written on their behalf in it;
* an **active member** is a member of a group (not archived) with some activity in the window;
* **events held**: events that started in the window (``starts_at`` in it, not in the future);
* **attendance rate** = check-ins / sign-ups (not cancelled); for the summary, of the events
  held in the window.  Walk-ins count as check-ins without a sign-up, so the rate can pass 1.
  None when there is no sign-up.

Every function runs a fixed number of queries whatever the number of customers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from peewee import fn

from crm.db import utcnow

from .models import (CommunityCheckin, CommunityEvent, CommunityGroup, CommunityMember,
                     CommunityReply, CommunitySignup, CommunityTopic)

WINDOW_DAYS = 90


def _rate(checkins: int, signups: int) -> Optional[float]:
    return None if not signups else checkins / signups


@dataclass(frozen=True)
class Engagement:
    """One customer's figures over the window."""
    customer_id: int
    groups: int = 0              # groups (not archived) the customer is a member of
    signups: int = 0             # sign-ups made in the window, not cancelled
    checkins: int = 0            # check-ins in the window
    posts: int = 0               # topics and replies written on their behalf in the window
    last_active_at: Optional[dt.datetime] = None

    @property
    def active(self) -> bool:
        """A member of a group with some activity in the window."""
        return self.groups > 0 and (self.signups + self.checkins + self.posts) > 0

    @property
    def attendance_rate(self) -> Optional[float]:
        return _rate(self.checkins, self.signups)


@dataclass(frozen=True)
class Summary:
    """Figures of a set of groups over the window, for the customers of a scope."""
    members: int = 0             # distinct customers who are members of the groups
    active_members: int = 0      # of them, those with activity in those groups in the window
    events_held: int = 0         # events of the groups that started in the window
    signups: int = 0             # sign-ups (not cancelled) for the events held
    checkins: int = 0            # check-ins at the events held (walk-ins included)
    days: int = WINDOW_DAYS

    @property
    def attendance_rate(self) -> Optional[float]:
        return _rate(self.checkins, self.signups)


def _window(now, days):
    now = now or utcnow()
    return now - dt.timedelta(days=days), now


def _counts(query, customer_field, time_field) -> tuple[dict, dict]:
    counts, latest = {}, {}
    for customer_id, count, last in query.select(customer_field, fn.COUNT(customer_field),
                                                 fn.MAX(time_field)).group_by(
            customer_field).tuples():
        counts[customer_id] = count
        latest[customer_id] = last
    return counts, latest


def _as_datetime(value):
    """SQLite hands back aggregates (MAX) as text."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return value


def engagement(customer_ids, now=None, days: int = WINDOW_DAYS) -> dict[int, Engagement]:
    """``{customer_id: Engagement}`` for every id given (zeros for a customer without any)."""
    ids = sorted({int(i) for i in customer_ids or () if i})
    if not ids:
        return {}
    since, now = _window(now, days)
    groups = dict(CommunityMember.select(CommunityMember.customer, fn.COUNT(CommunityMember.id))
                  .join(CommunityGroup, on=(CommunityMember.group == CommunityGroup.id))
                  .where(CommunityMember.customer.in_(ids)
                         & CommunityGroup.archived_at.is_null())
                  .group_by(CommunityMember.customer).tuples())
    signups, last_s = _counts(CommunitySignup.select().where(
        CommunitySignup.customer.in_(ids) & CommunitySignup.cancelled_at.is_null()
        & (CommunitySignup.signed_up_at >= since) & (CommunitySignup.signed_up_at <= now)),
        CommunitySignup.customer, CommunitySignup.signed_up_at)
    checkins, last_c = _counts(CommunityCheckin.select().where(
        CommunityCheckin.customer.in_(ids) & (CommunityCheckin.checked_in_at >= since)
        & (CommunityCheckin.checked_in_at <= now)),
        CommunityCheckin.customer, CommunityCheckin.checked_in_at)
    topics, last_t = _counts(CommunityTopic.select().where(
        CommunityTopic.customer.in_(ids) & (CommunityTopic.created_at >= since)
        & (CommunityTopic.created_at <= now)),
        CommunityTopic.customer, CommunityTopic.created_at)
    replies, last_r = _counts(CommunityReply.select().where(
        CommunityReply.customer.in_(ids) & (CommunityReply.created_at >= since)
        & (CommunityReply.created_at <= now)),
        CommunityReply.customer, CommunityReply.created_at)
    out = {}
    for cid in ids:
        moments = [_as_datetime(m.get(cid)) for m in (last_s, last_c, last_t, last_r)]
        moments = [m for m in moments if m is not None]
        out[cid] = Engagement(cid, groups.get(cid, 0), signups.get(cid, 0),
                              checkins.get(cid, 0), topics.get(cid, 0) + replies.get(cid, 0),
                              max(moments) if moments else None)
    return out


def _ids(query) -> set:
    return {row[0] for row in query.tuples()}


def summary(customers=None, group_ids=None, now=None, days: int = WINDOW_DAYS) -> Summary:
    """The figures of ``group_ids`` (default: every group not archived) over the window,
    counting only the customers of ``customers`` (a subquery or a list of customer ids, such
    as ``crm.access.scoped_customers(user, Customer.id)``; None: every customer)."""
    since, now = _window(now, days)
    if group_ids is None:
        group_ids = [g for (g,) in CommunityGroup.select(CommunityGroup.id)
                     .where(CommunityGroup.archived_at.is_null()).tuples()]
    group_ids = list(group_ids)
    if not group_ids:
        return Summary(days=days)

    def scoped(query, field):
        return query.where(field.in_(customers)) if customers is not None else query

    members = _ids(scoped(CommunityMember.select(CommunityMember.customer).distinct()
                          .where(CommunityMember.group.in_(group_ids)),
                          CommunityMember.customer))
    in_groups_events = CommunityEvent.select(CommunityEvent.id).where(
        CommunityEvent.group.in_(group_ids))
    active = set()
    active |= _ids(scoped(CommunitySignup.select(CommunitySignup.customer).distinct().where(
        CommunitySignup.event.in_(in_groups_events) & CommunitySignup.cancelled_at.is_null()
        & (CommunitySignup.signed_up_at >= since) & (CommunitySignup.signed_up_at <= now)),
        CommunitySignup.customer))
    active |= _ids(scoped(CommunityCheckin.select(CommunityCheckin.customer).distinct().where(
        CommunityCheckin.event.in_(in_groups_events)
        & (CommunityCheckin.checked_in_at >= since) & (CommunityCheckin.checked_in_at <= now)),
        CommunityCheckin.customer))
    active |= _ids(scoped(CommunityTopic.select(CommunityTopic.customer).distinct().where(
        CommunityTopic.group.in_(group_ids) & (CommunityTopic.created_at >= since)
        & (CommunityTopic.created_at <= now)), CommunityTopic.customer))
    active |= _ids(scoped(CommunityReply.select(CommunityReply.customer).distinct()
                          .join(CommunityTopic, on=(CommunityReply.topic == CommunityTopic.id))
                          .where(CommunityTopic.group.in_(group_ids)
                                 & (CommunityReply.created_at >= since)
                                 & (CommunityReply.created_at <= now)), CommunityReply.customer))
    held = CommunityEvent.select(CommunityEvent.id).where(
        CommunityEvent.group.in_(group_ids) & (CommunityEvent.starts_at >= since)
        & (CommunityEvent.starts_at <= now))
    events_held = held.count()
    n_signups = scoped(CommunitySignup.select().where(
        CommunitySignup.event.in_(held) & CommunitySignup.cancelled_at.is_null()),
        CommunitySignup.customer).count()
    n_checkins = scoped(CommunityCheckin.select().where(CommunityCheckin.event.in_(held)),
                        CommunityCheckin.customer).count()
    return Summary(members=len(members), active_members=len(members & active),
                   events_held=events_held, signups=n_signups, checkins=n_checkins, days=days)
