"""Lifecycle segments and RFM scores (no Flask).

``refresh(now)`` rebuilds ``insights_customer_score`` for every live customer in SQL: one
``INSERT ... SELECT`` computes the facts (purchases, spend, first and last purchase, last
contact, activities in the recent window and in the three windows before), the RFM quintiles
with the window function ``NTILE(5)`` (SQLite >= 3.25 and PostgreSQL), and the rule that
decides the segment; an ``UPDATE`` maps that rule to its segment; the day's segment sizes per
owner are written to ``insights_segment_snapshot``.  Reads (sizes, a segment's customers, a
customer's score) start from ``crm.access.scoped_customers``.

Automatic tags: in the same transaction each segment but "other" is mirrored as an ordinary
tag, named in the business language ("分群：高价值" / "Segment: High value"), added to the
customers now in the segment and removed from those no longer in it (``_sync_tags``, two
set-based statements per segment).  The tag of a segment is remembered by id in
``insights_setting`` (``tag_<segment>``), so a renamed tag stays the segment's.  These tags
are derived data: they are not audited per customer, they do not change a customer's version,
and a tag removed by hand comes back at the next refresh while the customer is in the segment.

The rules, first match wins (thresholds are settings an administrator tunes):

1. new: created, or first purchase, within ``new_days``;
2. churn_risk: at least ``churn_min_previous`` activities in the three windows of
   ``churn_window_days`` before the recent one, and the recent window has dropped by at least
   ``churn_drop_pct`` % against their average;
3. dormant: no purchase and no contact (and not created) for ``dormant_days``;
4. high_value: R+F+M >= ``high_value_rfm``, or spend >= ``high_value_spend_yuan`` (0: off);
5. potential: activities (not notes) but never a purchase;
6. active: a purchase or a contact within ``dormant_days``;
7. other: the rest (no purchase, no activity, neither new nor dormant yet).
"""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_pgettext
from peewee import JOIN, fn

from crm import access
from crm.accounts.models import User
from crm.customers.models import Customer, CustomerTag, Tag
from crm.db import database, is_postgres, utcnow
from crm.i18n import _l

from .models import CustomerScore, SegmentSnapshot, Setting

SEGMENTS = ("new", "active", "potential", "high_value", "churn_risk", "dormant", "other")

SEGMENT_LABELS = {
    "new": lazy_pgettext("segment", "New"),          # not the core's "New" (新建)
    "active": lazy_pgettext("segment", "Active"),    # not the core's "Active" (启用)
    "potential": _l("Potential"),
    "high_value": _l("High value"),
    "churn_risk": _l("Churn risk"),
    "dormant": _l("Dormant"),
    "other": _l("Other"),
}

# reason (the rule that matched) -> segment
REASON_SEGMENT = {
    "created_recently": "new",
    "first_purchase_recently": "new",
    "activity_drop": "churn_risk",
    "no_purchase_or_contact": "dormant",
    "top_rfm": "high_value",
    "spend_above": "high_value",
    "engaged_no_purchase": "potential",
    "recent_purchase": "active",
    "recent_contact": "active",
    "none": "other",
}

DEFAULTS = {
    "new_days": 30,
    "dormant_days": 180,
    "high_value_rfm": 13,
    "high_value_spend_yuan": 0,
    "churn_window_days": 90,
    "churn_drop_pct": 50,
    "churn_min_previous": 6,
    "lead_conversion_days": 90,     # the lead conversion KPI (kpis.py), not a segment rule
}

SETTING_LABELS = {
    "new_days": (_l("New: created or first purchase within (days)"), 1, 3650),
    "dormant_days": (_l("Dormant: no purchase or contact for (days)"), 7, 3650),
    "high_value_rfm": (_l("High value: R+F+M at least (3 to 15)"), 3, 15),
    "high_value_spend_yuan": (_l("High value: or spent at least (yuan; 0: off)"), 0, 10**9),
    "churn_window_days": (_l("Churn risk: length of the recent window (days)"), 7, 365),
    "churn_drop_pct": (_l("Churn risk: drop against the previous windows' average (%)"), 1, 100),
    "churn_min_previous": (_l("Churn risk: at least this many activities before (history)"),
                           1, 10000),
    "lead_conversion_days": (_l("Lead conversion: a purchase or a won deal within (days of "
                                "the customer's creation)"), 1, 3650),
}


def settings() -> dict:
    values = dict(DEFAULTS)
    values.update({k: v for k, v in Setting.select(Setting.key, Setting.value).tuples()
                   if k in DEFAULTS})
    return values


def save_settings(values: dict) -> None:
    now = utcnow()
    with database.atomic():
        for key, value in values.items():
            if key not in DEFAULTS:
                continue
            (Setting.insert(key=key, value=int(value), updated_at=now)
             .on_conflict(conflict_target=[Setting.key],
                          update={Setting.value: int(value), Setting.updated_at: now})
             .execute())


# -- the refresh ---------------------------------------------------------------------------------

def _sql(text: str, params: dict) -> tuple[str, list]:
    """``:name`` placeholders to the driver's positional ones (? or %s), with their values;
    datetimes as SQLite stores them (text) or as they are (PostgreSQL)."""
    mark = "%s" if is_postgres() else "?"
    values = []

    def sub(match):
        value = params[match.group(1)]
        if isinstance(value, dt.datetime) and not is_postgres():
            value = str(value)
        values.append(value)
        return mark
    return re.sub(r"(?<![:\w]):([a-z_]+)", sub, text), values


REFRESH_SQL = """
INSERT INTO insights_customer_score
  (customer_id, r, f, m, rfm, segment, reason, purchases, monetary_fen, first_purchase_at,
   last_purchase_at, last_contact_at, recent_activities, previous_activities, computed_at)
SELECT c.id, COALESCE(t.r, 0), COALESCE(t.f, 0), COALESCE(t.m, 0),
  COALESCE(t.r * 100 + t.f * 10 + t.m, 0), '',
  CASE
    WHEN c.created_at >= :new_since THEN 'created_recently'
    WHEN t.first_at >= :new_since THEN 'first_purchase_recently'
    WHEN COALESCE(a.previous, 0) >= :churn_min
         AND COALESCE(a.recent, 0) * 300 <= COALESCE(a.previous, 0) * (100 - :churn_drop)
      THEN 'activity_drop'
    WHEN COALESCE(t.last_at, :epoch) < :dormant_since
         AND COALESCE(c.last_contacted_at, :epoch) < :dormant_since
         AND c.created_at < :dormant_since THEN 'no_purchase_or_contact'
    WHEN t.r + t.f + t.m >= :hv_rfm THEN 'top_rfm'
    WHEN :hv_spend > 0 AND t.spend >= :hv_spend THEN 'spend_above'
    WHEN t.customer_id IS NULL AND COALESCE(a.total, 0) > 0 THEN 'engaged_no_purchase'
    WHEN t.last_at >= :dormant_since THEN 'recent_purchase'
    WHEN c.last_contacted_at >= :dormant_since THEN 'recent_contact'
    ELSE 'none'
  END,
  COALESCE(t.n, 0), COALESCE(t.spend, 0), t.first_at, t.last_at, c.last_contacted_at,
  COALESCE(a.recent, 0), COALESCE(a.previous, 0), :now
FROM customer c
LEFT JOIN insights_tmp_rfm t ON t.customer_id = c.id
LEFT JOIN insights_tmp_activity a ON a.customer_id = c.id
WHERE c.deleted_at IS NULL
"""

# Staged in temporary tables with a unique index: SQLite builds no automatic index on a
# subquery with window functions, and a LEFT JOIN to it would scan it once per customer.
RFM_SQL = """
CREATE TEMPORARY TABLE insights_tmp_rfm AS
SELECT p.customer_id, p.n, p.spend, p.first_at, p.last_at,
  NTILE(5) OVER (ORDER BY p.last_at, p.customer_id) AS r,
  NTILE(5) OVER (ORDER BY p.n, p.customer_id) AS f,
  NTILE(5) OVER (ORDER BY p.spend, p.customer_id) AS m
FROM (SELECT customer_id, COUNT(*) AS n, SUM(total_fen - refunded_fen) AS spend,
             MIN(purchased_at) AS first_at, MAX(purchased_at) AS last_at
      FROM purchase WHERE status = 'completed' AND purchased_at <= :now
      GROUP BY customer_id) p
"""

ACTIVITY_SQL = """
CREATE TEMPORARY TABLE insights_tmp_activity AS
SELECT customer_id,
  SUM(CASE WHEN occurred_at >= :recent_since THEN 1 ELSE 0 END) AS recent,
  SUM(CASE WHEN occurred_at >= :history_since AND occurred_at < :recent_since
           THEN 1 ELSE 0 END) AS previous,
  COUNT(*) AS total
FROM activity WHERE kind <> 'note' AND occurred_at <= :now
GROUP BY customer_id
"""
TEMP_TABLES = ("insights_tmp_rfm", "insights_tmp_activity")


def refresh(now: dt.datetime | None = None, day: dt.date | None = None) -> dict:
    """Rebuild every customer's score and segment, and the day's snapshot of the sizes.
    Returns {segment: customers}."""
    now = now or utcnow()
    day = day or now.date()
    rules = settings()
    window = dt.timedelta(days=rules["churn_window_days"])
    params = {
        "now": now,
        "epoch": dt.datetime(1900, 1, 1),
        "new_since": now - dt.timedelta(days=rules["new_days"]),
        "dormant_since": now - dt.timedelta(days=rules["dormant_days"]),
        "recent_since": now - window,
        "history_since": now - 4 * window,
        "churn_min": rules["churn_min_previous"],
        "churn_drop": rules["churn_drop_pct"],
        "hv_rfm": rules["high_value_rfm"],
        "hv_spend": rules["high_value_spend_yuan"] * 100,
    }
    mapping = " ".join(f"WHEN '{reason}' THEN '{segment}'"
                       for reason, segment in REASON_SEGMENT.items())
    for table in TEMP_TABLES:
        database.execute_sql(f"DROP TABLE IF EXISTS {table}")
    try:
        database.execute_sql(*_sql(RFM_SQL, params))
        database.execute_sql(*_sql(ACTIVITY_SQL, params))
        for table in TEMP_TABLES:
            database.execute_sql(f"CREATE UNIQUE INDEX {table}_customer ON {table} (customer_id)")
        with database.atomic():
            database.execute_sql("DELETE FROM insights_customer_score")
            database.execute_sql(*_sql(REFRESH_SQL, params))
            database.execute_sql(f"UPDATE insights_customer_score SET segment = "
                                 f"CASE reason {mapping} ELSE 'other' END")
            _sync_tags()
            SegmentSnapshot.delete().where(SegmentSnapshot.day == day).execute()
            database.execute_sql(*_sql(
                "INSERT INTO insights_segment_snapshot (day, segment, owner_id, customers) "
                "SELECT :day, s.segment, COALESCE(c.owner_id, 0), COUNT(*) "
                "FROM insights_customer_score s JOIN customer c ON c.id = s.customer_id "
                "GROUP BY s.segment, COALESCE(c.owner_id, 0)",
                {"day": day.isoformat() if not is_postgres() else day}))
    finally:
        for table in TEMP_TABLES:
            database.execute_sql(f"DROP TABLE IF EXISTS {table}")
    return dict(CustomerScore.select(CustomerScore.segment, fn.COUNT(CustomerScore.customer_id))
                .group_by(CustomerScore.segment).tuples())


TAGGED = tuple(s for s in SEGMENTS if s != "other")


def tag_name(segment: str) -> str:
    """The automatic tag of a segment, in the business language (tags are data, not UI)."""
    from flask import current_app, has_app_context
    from flask_babel import force_locale, gettext
    locale = current_app.config["BABEL_DEFAULT_LOCALE"] if has_app_context() else "en"
    with force_locale(locale):
        return gettext("Segment: %(name)s", name=str(SEGMENT_LABELS[segment]))[:50]


def segment_tags() -> dict[str, int]:
    """{segment: tag id}: the tag remembered for each segment, made when missing."""
    remembered = {k[len("tag_"):]: v for k, v in Setting.select(Setting.key, Setting.value)
                  .where(Setting.key.startswith("tag_")).tuples()}
    existing = {t.id for t in Tag.select(Tag.id).where(Tag.id.in_(list(remembered.values())))} \
        if remembered else set()
    tags = {}
    for segment in TAGGED:
        tag_id = remembered.get(segment)
        if tag_id not in existing:
            name = tag_name(segment)
            tag = Tag.get_or_none(Tag.name == name) or Tag.create(name=name)
            tag_id = tag.id
            (Setting.insert(key=f"tag_{segment}", value=tag_id, updated_at=utcnow())
             .on_conflict(conflict_target=[Setting.key],
                          update={Setting.value: tag_id, Setting.updated_at: utcnow()})
             .execute())
        tags[segment] = tag_id
    return tags


def _sync_tags() -> None:
    """Each segment's tag on exactly the customers now in it (see the module's doc)."""
    for segment, tag_id in segment_tags().items():
        members = CustomerScore.select(CustomerScore.customer_id).where(
            CustomerScore.segment == segment)
        CustomerTag.delete().where((CustomerTag.tag == tag_id)
                                   & CustomerTag.customer.not_in(members)).execute()
        have = CustomerTag.select(CustomerTag.customer).where(CustomerTag.tag == tag_id)
        CustomerTag.insert_from(
            CustomerScore.select(CustomerScore.customer_id, tag_id).where(
                (CustomerScore.segment == segment) & CustomerScore.customer_id.not_in(have)),
            fields=[CustomerTag.customer, CustomerTag.tag]).execute()
    from crm.customers.queries import forget_choices
    forget_choices()        # the list's tag filter offers them


# -- reads (scoped) ------------------------------------------------------------------------------

def scored(user):
    """The scoped customers joined to their score (customers without one are left out)."""
    return (access.scoped_customers(user, Customer.id, Customer.number, Customer.name,
                                    Customer.owner, CustomerScore.segment, CustomerScore.reason,
                                    CustomerScore.r, CustomerScore.f, CustomerScore.m,
                                    CustomerScore.purchases, CustomerScore.monetary_fen,
                                    CustomerScore.last_purchase_at,
                                    CustomerScore.last_contact_at,
                                    CustomerScore.recent_activities,
                                    CustomerScore.previous_activities,
                                    CustomerScore.computed_at)
            .join(CustomerScore, on=(CustomerScore.customer_id == Customer.id)))


def sizes(user) -> dict:
    """{segment: customers} over the user's scope (live: today's scores)."""
    rows = dict(access.scoped_customers(user, CustomerScore.segment, fn.COUNT(Customer.id))
                .join(CustomerScore, on=(CustomerScore.customer_id == Customer.id))
                .group_by(CustomerScore.segment).tuples())
    return {s: rows.get(s, 0) for s in SEGMENTS}


def visible_owners(user):
    """The owners whose customers the user sees by ownership (for the history of sizes,
    which is kept per owner): None for everybody."""
    if user.role in ("admin", "service", "clerk"):
        return None
    if user.role == "manager":
        depts = access.department_subtree(user.department_id)
        ids = [u for (u,) in User.select(User.id).where(User.department.in_(depts)).tuples()] \
            if depts else []
        return sorted(set(ids) | {user.id})
    return [user.id]


def history(user, days: int = 90, today: dt.date | None = None) -> dict:
    """{segment: [(day, customers), ...]} from the daily snapshots over ``days`` days, summed
    over the owners the user sees (a customer shared with the user is counted in today's sizes
    only: the snapshots are kept per owner)."""
    today = today or utcnow().date()
    query = (SegmentSnapshot.select(SegmentSnapshot.day, SegmentSnapshot.segment,
                                    fn.SUM(SegmentSnapshot.customers))
             .where(SegmentSnapshot.day > today - dt.timedelta(days=days)))
    owners = visible_owners(user)
    if owners is not None:
        query = query.where(SegmentSnapshot.owner_id.in_(owners or [-1]))
    out: dict = {s: [] for s in SEGMENTS}
    for day, segment, customers in (query.group_by(SegmentSnapshot.day, SegmentSnapshot.segment)
                                    .order_by(SegmentSnapshot.day).tuples()):
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        out.setdefault(segment, []).append((day, int(customers or 0)))
    return out


def members(user, segment: str):
    """The customers of ``segment`` in the user's scope, best RFM first."""
    Owner = User.alias()
    return (scored(user).select_extend(Owner.display_name, Owner.username)
            .join(Owner, JOIN.LEFT_OUTER, on=(Customer.owner == Owner.id))
            .where(CustomerScore.segment == segment)
            .order_by(CustomerScore.rfm.desc(), CustomerScore.monetary_fen.desc(), Customer.id))


def score_of(customer_id: int):
    return CustomerScore.get_or_none(CustomerScore.customer_id == customer_id)


def days_since(when, now: dt.datetime) -> int | None:
    if when is None:
        return None
    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when)
    return max(0, (now - when).days)


def reason_text(score, rules: dict | None = None) -> str:
    """Why the customer is in its segment, in the reader's language, with the facts."""
    from flask_babel import gettext as _
    rules = rules or settings()
    now = score.computed_at
    if score.reason == "created_recently":
        return _("Created within the last %(days)s days.", days=rules["new_days"])
    if score.reason == "first_purchase_recently":
        return _("First purchase within the last %(days)s days.", days=rules["new_days"])
    if score.reason == "activity_drop":
        average = score.previous_activities / 3
        return _("%(recent)s activities in the last %(window)s days against %(average)s on "
                 "average in the windows before (a drop of at least %(drop)s%%).",
                 recent=score.recent_activities, window=rules["churn_window_days"],
                 average=f"{average:.1f}", drop=rules["churn_drop_pct"])
    if score.reason == "no_purchase_or_contact":
        last = [d for d in (days_since(score.last_purchase_at, now),
                            days_since(score.last_contact_at, now)) if d is not None]
        if last:
            return _("No purchase or contact for %(days)s days (the rule: %(limit)s).",
                     days=min(last), limit=rules["dormant_days"])
        return _("Never bought nor contacted, created more than %(limit)s days ago.",
                 limit=rules["dormant_days"])
    if score.reason == "top_rfm":
        return _("R+F+M = %(sum)s, at least %(limit)s.", sum=score.r + score.f + score.m,
                 limit=rules["high_value_rfm"])
    if score.reason == "spend_above":
        return _("Spent %(spent)s yuan, at least %(limit)s.", spent=score.monetary_fen // 100,
                 limit=rules["high_value_spend_yuan"])
    if score.reason == "engaged_no_purchase":
        return _("Activities logged but no purchase yet.")
    if score.reason == "recent_purchase":
        return _("Bought within the last %(days)s days.", days=rules["dormant_days"])
    if score.reason == "recent_contact":
        return _("Contacted within the last %(days)s days.", days=rules["dormant_days"])
    return _("No purchase and no activity yet.")


def timeline(history: dict) -> tuple[list, list]:
    """``history`` on one axis for a line chart: (the days, [(segment, [customers per day])]),
    0 on a day a segment had no snapshot row (nobody in it that day)."""
    days = sorted({day for points in history.values() for day, _n in points})
    series = []
    for segment in SEGMENTS:
        points = dict(history.get(segment) or ())
        if points:
            series.append((segment, [points.get(day, 0) for day in days]))
    return days, series
