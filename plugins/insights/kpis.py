"""KPIs: each one SQL aggregate over the user's scope for a period, grouped by the customers'
owner, department or current segment (no Python loop over rows).  No Flask here except the
labels.

Every KPI is a ratio ``numerator / denominator``: ``parts`` selects the two aggregates and
``compute`` groups them by the breakdown's column in the same query; the total is the sum of
the numerators over the sum of the denominators, which is exact because each customer is in
exactly one group (one owner, one department or none, at most one score row).  The
acquisition cost is grouped by channel by its own query (the spend per channel, joined to the
new customers per source).  A KPI that needs a plugin's table (service tickets, sales deals) is
offered only when the table is in the database: the plugin is never imported.  The lead
conversion and its funnel use the sales tables when they are there.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable
from zoneinfo import ZoneInfo

from peewee import JOIN, SQL, Case, NodeList, Table, fn

from crm import access
from crm.accounts.models import User
from crm.activities.models import Activity
from crm.customers import completeness
from crm.customers.models import Customer
from crm.db import database, is_postgres, utcnow
from crm.i18n import _l
from crm.purchases.models import Purchase

PERIODS = ("month", "last_month", "quarter", "12m")
PERIOD_LABELS = {"month": _l("This month"), "last_month": _l("Last month"),
                 "quarter": _l("This quarter"), "12m": _l("Last 12 months")}
DAYS_PER_MONTH = 365.25 / 12


# -- periods -------------------------------------------------------------------------------------

def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    key: str
    start: dt.datetime          # naive UTC, inclusive
    end: dt.datetime            # naive UTC, exclusive
    until: dt.datetime          # min(end, now): what has happened so far
    first_day: dt.date          # in the business time zone
    last_day: dt.date
    now: dt.datetime | None = None   # when it was computed (None: utcnow())

    @property
    def months(self) -> float:
        return max(0.0, (self.until - self.start).total_seconds() / 86400 / DAYS_PER_MONTH)


def _utc(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    local = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def period(key: str, timezone: str = "Asia/Shanghai", now: dt.datetime | None = None,
           previous: bool = False) -> Period:
    """The period ``key`` (months of the business time zone); with ``previous``, the period of
    the same length just before it."""
    now = now or utcnow()
    tz = ZoneInfo(timezone)
    today = now.replace(tzinfo=dt.timezone.utc).astimezone(tz).date()
    this_month = today.replace(day=1)
    if key == "last_month":
        first, months = _add_months(this_month, -1), 1
    elif key == "quarter":
        first, months = _add_months(this_month, -((today.month - 1) % 3)), 3
    elif key == "12m":
        first, months = _add_months(this_month, -11), 12
    else:
        key, first, months = "month", this_month, 1
    if previous:
        first = _add_months(first, -months)
    after = _add_months(first, months)
    start, end = _utc(first, tz), _utc(after, tz)
    return Period(key, start, end, min(end, max(start, now)), first,
                  after - dt.timedelta(days=1), now)


# -- plugins' tables -----------------------------------------------------------------------------

def tables() -> set[str]:
    """The tables of the database (its current schema on PostgreSQL)."""
    if is_postgres():
        schema = database.execute_sql("SELECT current_schema()").fetchone()[0]
        return set(database.get_tables(schema=schema))
    return set(database.get_tables())


Ticket = Table("service_ticket")
Deal = Table("sales_deal")
Stage = Table("sales_stage")


def _t(value: dt.datetime):
    """A datetime as the column stores it (text on SQLite), for columns without a model."""
    return value if is_postgres() else str(value)


def _count_if(condition):
    return fn.SUM(Case(None, [(condition, 1)], 0))


def _hours(start, end):
    if is_postgres():
        return NodeList((SQL("EXTRACT(EPOCH FROM"), end - start, SQL(")"))) / 3600.0
    return (fn.julianday(end) - fn.julianday(start)) * 24.0


# -- the KPIs ------------------------------------------------------------------------------------

UNRESTRICTED = ("admin", "service", "clerk")      # roles whose scope is every live customer


def _narrow(query, column, rules: dict):
    """For a restricted scope (a rep, a manager), the aggregate reads only the scope's rows
    (the index on customer_id), instead of every customer's before the join drops them."""
    ids = rules.get("scope_ids")
    return query.where(column.in_(ids)) if ids is not None else query

def _repurchase(scope, p: Period, rules: dict):
    bought = (Purchase.select(Purchase.customer.alias("cid"), fn.COUNT(Purchase.id).alias("n"))
              .where((Purchase.status == "completed") & (Purchase.purchased_at >= p.start)
                     & (Purchase.purchased_at < p.until))
              .group_by(Purchase.customer))
    bought = _narrow(bought, Purchase.customer, rules).alias("b")
    return (scope.select(_count_if(bought.c.n >= 2), fn.COUNT(bought.c.cid))
            .join(bought, on=(bought.c.cid == Customer.id)))


def _churn(scope, p: Period, rules: dict):
    window = dt.timedelta(days=rules["dormant_days"])
    base_from, end_from = p.start - window, p.until - window
    per = (Purchase.select(
        Purchase.customer.alias("cid"),
        _count_if(Purchase.purchased_at < p.start).alias("before"),
        _count_if(Purchase.purchased_at >= end_from).alias("after"))
        .where((Purchase.status == "completed") & (Purchase.purchased_at >= min(base_from,
                                                                                end_from))
               & (Purchase.purchased_at < p.until))
        .group_by(Purchase.customer))
    per = _narrow(per, Purchase.customer, rules).alias("w")
    return (scope.select(_count_if(per.c.after == 0), fn.COUNT(per.c.cid))
            .join(per, on=(per.c.cid == Customer.id))
            .where(per.c.before > 0))


def _clv(scope, p: Period, rules: dict):
    spent = (Purchase.select(Purchase.customer.alias("cid"),
                             fn.SUM(Purchase.total_fen - Purchase.refunded_fen).alias("fen"))
             .where((Purchase.status == "completed") & (Purchase.purchased_at < p.until))
             .group_by(Purchase.customer))
    spent = _narrow(spent, Purchase.customer, rules).alias("s")
    return (scope.select(fn.SUM(spent.c.fen), fn.COUNT(spent.c.cid))
            .join(spent, on=(spent.c.cid == Customer.id)))


PREDICTION_YEARS = 3      # the horizon of the predicted lifetime value


def _clv_predicted(scope, p: Period, rules: dict):
    """The yearly value of a buying customer (completed purchases in the 12 months up to the
    period's end ÷ customers with one of them) × PREDICTION_YEARS."""
    start = p.until - dt.timedelta(days=365)
    spent = (Purchase.select(Purchase.customer.alias("cid"),
                             fn.SUM(Purchase.total_fen - Purchase.refunded_fen).alias("fen"))
             .where((Purchase.status == "completed") & (Purchase.purchased_at >= start)
                    & (Purchase.purchased_at < p.until))
             .group_by(Purchase.customer))
    spent = _narrow(spent, Purchase.customer, rules).alias("y")
    return (scope.select(fn.SUM(spent.c.fen) * PREDICTION_YEARS, fn.COUNT(spent.c.cid))
            .join(spent, on=(spent.c.cid == Customer.id)))


def _interactions(scope, p: Period, rules: dict):
    acts = (Activity.select(Activity.customer.alias("cid"), fn.COUNT(Activity.id).alias("n"))
            .where((Activity.occurred_at >= p.start) & (Activity.occurred_at < p.until))
            .group_by(Activity.customer))
    acts = _narrow(acts, Activity.customer, rules).alias("a")
    return (scope.select(fn.SUM(fn.COALESCE(acts.c.n, 0)),
                         fn.COUNT(Customer.id))
            .join(acts, JOIN.LEFT_OUTER, on=(acts.c.cid == Customer.id))
            .where(Customer.created_at < p.until))


def _completeness(scope, p: Period, rules: dict):
    complete = None
    for _label, filled in completeness.REQUIRED.values():
        complete = filled() if complete is None else (complete & filled())
    return (scope.select(_count_if(complete), fn.COUNT(Customer.id))
            .where(Customer.created_at < p.until))


def _tickets(scope):
    return scope.join(Ticket, on=(Ticket.c.customer_id == Customer.id))


def _csat(scope, p: Period, rules: dict):
    return (_tickets(scope.select(_count_if(Ticket.c.satisfaction >= 4),
                                  fn.COUNT(Ticket.c.id)))
            .where(Ticket.c.satisfaction.is_null(False)
                   & (Ticket.c.closed_at >= _t(p.start)) & (Ticket.c.closed_at < _t(p.until))))


def _resolution(scope, p: Period, rules: dict):
    return (_tickets(scope.select(fn.SUM(_hours(Ticket.c.created_at, Ticket.c.resolved_at)),
                                  fn.COUNT(Ticket.c.id)))
            .where((Ticket.c.type == "complaint") & Ticket.c.resolved_at.is_null(False)
                   & (Ticket.c.resolved_at >= _t(p.start)) & (Ticket.c.resolved_at < _t(p.until))))


def _sla(scope, p: Period, rules: dict):
    return (_tickets(scope.select(_count_if(Ticket.c.resolved_at <= Ticket.c.resolve_due),
                                  fn.COUNT(Ticket.c.id)))
            .where(Ticket.c.resolve_due.is_null(False) & Ticket.c.resolved_at.is_null(False)
                   & (Ticket.c.resolved_at >= _t(p.start)) & (Ticket.c.resolved_at < _t(p.until))))


def _surveys(scope, p: Period, kind: str, score):
    from .models import Survey
    return (scope.select(fn.SUM(score), fn.COUNT(Survey.id))
            .join(Survey, on=(Survey.customer == Customer.id))
            .where((Survey.kind == kind) & Survey.answered_at.is_null(False)
                   & (Survey.answered_at >= p.start) & (Survey.answered_at < p.until)))


def _nps(scope, p: Period, rules: dict):
    from .models import Survey
    promoter_minus_detractor = Case(None, [(Survey.score >= 9, 1), (Survey.score <= 6, -1)], 0)
    return _surveys(scope, p, "nps", promoter_minus_detractor)


def _survey_csat(scope, p: Period, rules: dict):
    from .models import Survey
    return _surveys(scope, p, "csat", Case(None, [(Survey.score >= 4, 1)], 0))


def _win(scope, p: Period, rules: dict):
    return (scope.select(_count_if(Stage.c.kind == "won"), fn.COUNT(Deal.c.id))
            .join(Deal, on=(Deal.c.customer_id == Customer.id))
            .join(Stage, on=(Stage.c.id == Deal.c.stage_id))
            .where(Stage.c.kind.in_(("won", "lost")) & Deal.c.closed_at.is_null(False)
                   & (Deal.c.closed_at >= _t(p.start)) & (Deal.c.closed_at < _t(p.until))))


# -- customer acquisition cost -------------------------------------------------------------------

def _cac(scope, p: Period, rules: dict):
    """Per channel that has spend in the period's months: (spend in fen, new customers of the
    scope created in the period with that source, the channel), in one statement: the spend
    grouped by channel, LEFT JOIN the new customers grouped by source."""
    from .models import MarketingSpend as S
    spend = (S.select(S.channel.alias("channel"), fn.SUM(S.amount_fen).alias("fen"))
             .where((S.month >= p.first_day) & (S.month <= p.last_day))
             .group_by(S.channel)).alias("sp")
    new = (scope.select(Customer.source.alias("source"), fn.COUNT(Customer.id).alias("n"))
           .where((Customer.created_at >= p.start) & (Customer.created_at < p.until))
           .group_by(Customer.source)).alias("nc")
    return (S.select(spend.c.fen, fn.COALESCE(new.c.n, 0), spend.c.channel)
            .from_(spend)
            .join(new, JOIN.LEFT_OUTER, on=(new.c.source == spend.c.channel)))


# -- lead conversion and the funnel --------------------------------------------------------------

def _plus_days(column, days: int):
    """``column`` + ``days`` days, as the column is stored (text on SQLite)."""
    if is_postgres():
        return column + SQL("INTERVAL '1 day'") * int(days)
    return fn.datetime(column, f"+{int(days)} days")


def _exists(query):
    return fn.EXISTS(query)


def _steps(p: Period, rules: dict, present: set[str]) -> dict:
    """The conditions of the funnel's steps for one customer (correlated EXISTS on indexed
    columns), each within ``lead_conversion_days`` of its creation and before now."""
    days = int(rules.get("lead_conversion_days", 90))
    now = p.now or utcnow()
    deadline = _plus_days(Customer.created_at, days)

    def window(column, t=lambda v: v):
        return (column >= Customer.created_at) & (column < deadline) & (column < t(now))

    steps = {
        "contacted": _exists(Activity.select(SQL("1")).where(
            (Activity.customer == Customer.id) & (Activity.kind != "note")
            & window(Activity.occurred_at))),
        "bought": _exists(Purchase.select(SQL("1")).where(
            (Purchase.customer == Customer.id) & (Purchase.status == "completed")
            & window(Purchase.purchased_at))),
    }
    if {"sales_deal", "sales_stage"} <= present:
        steps["deal"] = _exists(Deal.select(SQL("1")).where(
            (Deal.c.customer_id == Customer.id) & window(Deal.c.created_at, _t)))
        steps["won"] = _exists(Deal.select(SQL("1"))
                               .join(Stage, on=(Stage.c.id == Deal.c.stage_id))
                               .where((Deal.c.customer_id == Customer.id)
                                      & (Stage.c.kind == "won")
                                      & Deal.c.closed_at.is_null(False)
                                      & window(Deal.c.closed_at, _t)))
    steps["converted"] = (steps["bought"] | steps["won"]) if "won" in steps else steps["bought"]
    return steps


def _created_in(p: Period):
    return (Customer.created_at >= p.start) & (Customer.created_at < p.until)


def _lead_conversion(scope, p: Period, rules: dict):
    converted = _steps(p, rules, rules.get("tables") or set())["converted"]
    return scope.select(_count_if(converted), fn.COUNT(Customer.id)).where(_created_in(p))


FUNNEL_LABELS = {"created": _l("New customers"), "contacted": _l("Contacted"),
                 "deal": _l("Deal opened"), "converted": _l("Bought or won a deal")}


def funnel(user, p: Period, rules: dict, present: set[str] | None = None) -> list:
    """The lead funnel of the customers created in ``p`` in ``user``'s scope, in one query:
    [(step, customers)], each step counting the customers who reached it *or a later one*
    within ``lead_conversion_days`` of their creation (so it narrows): created; contacted (an
    activity other than a note); a deal opened (only with the sales plugin's tables);
    converted (a completed purchase or a won deal: the numerator of the lead conversion)."""
    present = tables() if present is None else present
    steps = _steps(p, rules, present)
    names = ["contacted"] + (["deal"] if "deal" in steps else []) + ["converted"]
    flags = (access.scoped_customers(user, Customer.id,
                                     *(steps[n].alias(n) for n in names))
             .where(_created_in(p))).alias("f")
    reached, counts = None, []
    for name in reversed(names):          # a step is reached when it or a later one is
        flag = getattr(flags.c, name)
        reached = flag if reached is None else (reached | flag)
        counts.append(_count_if(reached))
    row = (Customer.select(fn.COUNT(SQL("*")), *reversed(counts)).from_(flags)
           .tuples().first())
    values = [int(v or 0) for v in row]
    return list(zip(["created"] + names, values))


@dataclass(frozen=True)
class Kpi:
    key: str
    label: object
    formula: object
    data: object
    unit: str                    # percent, money (fen), rate (per customer per month), hours
    better: str                  # "up" or "down"
    parts: Callable
    needs: tuple = ()            # tables that must exist
    per_month: bool = False
    by: str = ""                 # a fixed breakdown (parts are grouped already): channel
    whole_base: bool = False     # only for the users who see every customer
    optional: bool = False       # uses plugins' tables when they exist (rules["tables"])
    extra: dict = field(default_factory=dict)

    def value(self, num, den, p: Period):
        if not den:
            return None
        value = float(num or 0) / float(den)
        if self.unit in ("percent", "index"):
            return 100.0 * value
        if self.per_month:
            return value / p.months if p.months else None
        return value


KPIS = (
    Kpi("repurchase_rate", _l("Repurchase rate"),
        _l("customers with 2 or more completed purchases in the period ÷ customers with at "
           "least one completed purchase in the period × 100%"),
        _l("purchases (status completed, purchased_at) of the customers in your scope"),
        "percent", "up", _repurchase),
    Kpi("churn_rate", _l("Churn rate"),
        _l("customers who bought in the dormancy window (dormant_days) before the period "
           "starts and did not buy in the dormancy window before its end (today for the "
           "current period) ÷ the customers who bought in the first window × 100%"),
        _l("completed purchases; the dormancy window is the segments' dormant_days setting"),
        "percent", "down", _churn),
    Kpi("clv", _l("Customer lifetime value"),
        _l("total of the completed purchases up to the period's end ÷ customers with at least "
           "one of them (historical average revenue per buying customer)"),
        _l("purchases (net of refunds, status completed) of the customers in your scope"),
        "money", "up", _clv),
    Kpi("clv_predicted", _l("Predicted lifetime value"),
        _l("completed purchases in the 12 months up to the period's end ÷ customers with at "
           "least one of them (the yearly value of a buying customer) × 3 years: a simple "
           "prediction that assumes the next three years look like the last one"),
        _l("purchases (net of refunds, status completed, purchased_at) of the customers in "
           "your scope"),
        "money", "up", _clv_predicted),
    Kpi("interaction_frequency", _l("Interaction frequency"),
        _l("activities in the period ÷ customers created before the period's end ÷ months "
           "of the period elapsed"),
        _l("activities (every kind, purchases included) of the customers in your scope"),
        "rate", "up", _interactions, per_month=True),
    Kpi("completeness", _l("Data completeness"),
        _l("customers with every required field filled (name, owner, phone or e-mail, "
           "industry, region) ÷ customers created before the period's end × 100%"),
        _l("the customers' current fields (crm/customers/completeness.py)"),
        "percent", "up", _completeness),
    Kpi("csat", _l("CSAT"),
        _l("tickets closed in the period rated 4 or 5 ÷ tickets closed in the period with a "
           "rating × 100%"),
        _l("service tickets (satisfaction 1-5 recorded at close, closed_at)"),
        "percent", "up", _csat, needs=("service_ticket",)),
    Kpi("win_rate", _l("Win rate"),
        _l("deals closed won in the period ÷ deals closed won or lost in the period × 100%"),
        _l("sales deals (closed_at) and the kind of their stage (won, lost)"),
        "percent", "up", _win, needs=("sales_deal", "sales_stage")),
    Kpi("complaint_resolution_hours", _l("Complaint resolution time"),
        _l("average of (resolved_at − created_at) in hours over the complaints resolved in "
           "the period (calendar hours)"),
        _l("service tickets of type complaint (created_at, resolved_at)"),
        "hours", "down", _resolution, needs=("service_ticket",)),
    Kpi("sla_compliance", _l("SLA compliance"),
        _l("tickets resolved in the period by their resolution deadline ÷ tickets resolved in "
           "the period that had one × 100%"),
        _l("service tickets (resolved_at, resolve_due)"),
        "percent", "up", _sla, needs=("service_ticket",)),

    Kpi("nps", _l("NPS"),
        _l("(answers 9 or 10 − answers 0 to 6) ÷ answers of the NPS surveys answered in the "
           "period × 100 (from −100 to 100)"),
        _l("the NPS short links sent from the customer page (insights_survey)"),
        "index", "up", _nps),
    Kpi("survey_csat", _l("Survey CSAT"),
        _l("answers 4 or 5 ÷ answers of the CSAT surveys answered in the period × 100%"),
        _l("the CSAT short links sent from the customer page (insights_survey)"),
        "percent", "up", _survey_csat),
    Kpi("cac", _l("Customer acquisition cost"),
        _l("marketing spend of the period's months for a channel ÷ customers created in the "
           "period with that source; in total, the spend of every channel ÷ the new customers "
           "of the channels that had spend"),
        _l("the marketing spend entered per channel and month (/insights/spend) and the "
           "customers' source; shown to those who see every customer"),
        "money", "down", _cac, by="channel", whole_base=True),
    Kpi("lead_conversion", _l("Lead conversion rate"),
        _l("customers created in the period who made a completed purchase or won a deal "
           "within lead_conversion_days (90) of their creation ÷ customers created in the "
           "period × 100%"),
        _l("the customers' created_at, their completed purchases and (with the sales "
           "plugin) their won deals; recent customers may still convert"),
        "percent", "up", _lead_conversion, optional=True),
)
BY_KEY = {k.key: k for k in KPIS}

BREAKDOWNS = ("owner", "department", "segment")
BREAKDOWN_LABELS = {"owner": _l("By owner"), "department": _l("By department"),
                    "segment": _l("By segment"), "channel": _l("By channel")}


def whole_base(user) -> bool:
    """Whether ``user`` sees every live customer (the scope of admin, service and clerk)."""
    return getattr(user, "role", None) in UNRESTRICTED


def available(present: set[str] | None = None, user=None) -> list[Kpi]:
    """The KPIs whose tables exist; for a ``user`` who does not see the whole customer base,
    without those that only make sense over it (the acquisition cost: spend is not attributed
    to customers)."""
    present = tables() if present is None else present
    return [k for k in KPIS if all(t in present for t in k.needs)
            and not (k.whole_base and user is not None and not whole_base(user))]


@dataclass
class Result:
    kpi: Kpi
    value: float | None
    num: float
    den: float
    groups: dict                # group key (None: none) -> (value, num, den)
    by: str = "owner"           # what the groups are: owner, department, segment, channel

    @property
    def by_owner(self) -> dict:
        return self.groups if self.by == "owner" else {}


def _grouped(query, by: str):
    """The KPI's (numerator, denominator) query grouped by the customers' owner, department
    or current segment (a LEFT JOIN to insights_customer_score: at most one row per customer,
    so the groups still add up to the total)."""
    if by == "department":
        column = Customer.department
    elif by == "segment":
        from .models import CustomerScore
        query = query.join_from(Customer, CustomerScore, JOIN.LEFT_OUTER,
                                on=(CustomerScore.customer_id == Customer.id))
        column = CustomerScore.segment
    else:
        column = Customer.owner
    return query.select_extend(column).group_by(column)


def compute(kpi: Kpi, user, p: Period, rules: dict, by: str = "owner",
            present: set[str] | None = None) -> Result:
    """One KPI for ``user``'s scope over ``p``: one grouped query (by ``owner``,
    ``department`` or ``segment``; the acquisition cost is always by channel).  ``present``,
    the database's tables, is only looked up for a KPI that uses a plugin's table when it can
    (the lead conversion: won deals)."""
    scope = access.scoped_customers(user)
    ids = None if user.role in UNRESTRICTED else access.scoped_customers(user, Customer.id)
    extra = {"scope_ids": ids}
    if kpi.optional:
        extra["tables"] = tables() if present is None else present
    query = kpi.parts(scope, p, dict(rules, **extra))
    if kpi.by:
        by = kpi.by
    else:
        by = by if by in BREAKDOWNS else "owner"
        query = _grouped(query, by)
    groups = {key: (kpi.value(num, den, p), float(num or 0), float(den or 0))
              for num, den, key in query.tuples()}
    num = sum(v[1] for v in groups.values())
    den = sum(v[2] for v in groups.values())
    return Result(kpi, kpi.value(num, den, p), num, den, groups, by)


def value(key: str, user, p: Period, rules: dict) -> float | None:
    return compute(BY_KEY[key], user, p, rules).value


def owner_names(ids) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return {u: (d or n) for u, d, n in User.select(User.id, User.display_name, User.username)
            .where(User.id.in_(ids)).tuples()}


def department_names(ids) -> dict:
    from crm.accounts.models import Department
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return dict(Department.select(Department.id, Department.name)
                .where(Department.id.in_(ids)).tuples())


def group_names(by: str, keys) -> dict:
    """{group key: label} for a breakdown (names are looked up once for every KPI)."""
    if by == "department":
        return department_names(keys)
    if by == "segment":
        from .segments import SEGMENT_LABELS
        return {k: SEGMENT_LABELS[k] for k in keys if k in SEGMENT_LABELS}
    if by == "channel":
        return {k: channel_label(k) for k in keys}
    return owner_names(keys)


def channel_label(channel: str):
    from crm.customers.forms import SOURCE_LABELS
    return SOURCE_LABELS.get(channel, channel) if channel else SOURCE_LABELS[""]


def change(kpi: Kpi, now_value, before) -> dict | None:
    """The change against the previous period: points for percentages, else relative (%);
    ``good`` says whether it went the KPI's right way."""
    if now_value is None or before is None:
        return None
    delta = now_value - before
    if kpi.unit in ("percent", "index"):
        shown, relative = delta, False
    elif before:
        shown, relative = 100.0 * delta / abs(before), True
    else:
        return None
    good = None if abs(delta) < 1e-9 else ((delta > 0) == (kpi.better == "up"))
    return {"delta": shown, "relative": relative, "good": good}


def progress(kpi: Kpi, current, target) -> int | None:
    """Percent of the way to the target (capped at 100)."""
    if current is None or target is None:
        return None
    target = float(target)
    if kpi.better == "up":
        if target <= 0:
            return 100
        return max(0, min(100, round(100 * current / target)))
    if current <= target:
        return 100
    return max(0, min(100, round(100 * target / current))) if current else 100


def display_value(kpi: Kpi, value):
    """The value in the unit targets are set in: percent, yuan, per month, hours."""
    if value is None:
        return None
    if kpi.unit == "money":
        return value / 100.0
    return value


def settled(kpi: Kpi, p: Period, rules: dict, now: dt.datetime | None = None) -> bool:
    """Whether time alone can no longer change ``kpi`` over ``p``: the period is over (and, for
    the lead conversion, so is the conversion window of its last customers).  Late edits of
    past data (a backdated purchase, a reassignment, a spend entry) still can."""
    now = now or utcnow()
    end = p.end
    if kpi.key == "lead_conversion":
        end += dt.timedelta(days=int(rules.get("lead_conversion_days", 90)))
    return end <= now
