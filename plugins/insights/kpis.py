"""KPIs: each one SQL aggregate over the user's scope for a period, grouped by the customers'
owner (no Python loop over rows).  No Flask here except the labels.

Every KPI is a ratio ``numerator / denominator`` computed per owner in one grouped query
(``parts``); the total is the sum of the numerators over the sum of the denominators, which is
exact because each customer has one owner.  A KPI that needs a plugin's table (service tickets,
sales deals) is offered only when the table is in the database: the plugin is never imported.
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
                  after - dt.timedelta(days=1))


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
    return (scope.select(Customer.owner, _count_if(bought.c.n >= 2), fn.COUNT(bought.c.cid))
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
    return (scope.select(Customer.owner, _count_if(per.c.after == 0), fn.COUNT(per.c.cid))
            .join(per, on=(per.c.cid == Customer.id))
            .where(per.c.before > 0))


def _clv(scope, p: Period, rules: dict):
    spent = (Purchase.select(Purchase.customer.alias("cid"),
                             fn.SUM(Purchase.total_fen).alias("fen"))
             .where((Purchase.status == "completed") & (Purchase.purchased_at < p.until))
             .group_by(Purchase.customer))
    spent = _narrow(spent, Purchase.customer, rules).alias("s")
    return (scope.select(Customer.owner, fn.SUM(spent.c.fen), fn.COUNT(spent.c.cid))
            .join(spent, on=(spent.c.cid == Customer.id)))


def _interactions(scope, p: Period, rules: dict):
    acts = (Activity.select(Activity.customer.alias("cid"), fn.COUNT(Activity.id).alias("n"))
            .where((Activity.occurred_at >= p.start) & (Activity.occurred_at < p.until))
            .group_by(Activity.customer))
    acts = _narrow(acts, Activity.customer, rules).alias("a")
    return (scope.select(Customer.owner, fn.SUM(fn.COALESCE(acts.c.n, 0)),
                         fn.COUNT(Customer.id))
            .join(acts, JOIN.LEFT_OUTER, on=(acts.c.cid == Customer.id))
            .where(Customer.created_at < p.until))


def _completeness(scope, p: Period, rules: dict):
    complete = None
    for _label, filled in completeness.REQUIRED.values():
        complete = filled() if complete is None else (complete & filled())
    return (scope.select(Customer.owner, _count_if(complete), fn.COUNT(Customer.id))
            .where(Customer.created_at < p.until))


def _tickets(scope):
    return scope.join(Ticket, on=(Ticket.c.customer_id == Customer.id))


def _csat(scope, p: Period, rules: dict):
    return (_tickets(scope.select(Customer.owner, _count_if(Ticket.c.satisfaction >= 4),
                                  fn.COUNT(Ticket.c.id)))
            .where(Ticket.c.satisfaction.is_null(False)
                   & (Ticket.c.closed_at >= _t(p.start)) & (Ticket.c.closed_at < _t(p.until))))


def _resolution(scope, p: Period, rules: dict):
    return (_tickets(scope.select(Customer.owner,
                                  fn.SUM(_hours(Ticket.c.created_at, Ticket.c.resolved_at)),
                                  fn.COUNT(Ticket.c.id)))
            .where((Ticket.c.type == "complaint") & Ticket.c.resolved_at.is_null(False)
                   & (Ticket.c.resolved_at >= _t(p.start)) & (Ticket.c.resolved_at < _t(p.until))))


def _sla(scope, p: Period, rules: dict):
    return (_tickets(scope.select(Customer.owner,
                                  _count_if(Ticket.c.resolved_at <= Ticket.c.resolve_due),
                                  fn.COUNT(Ticket.c.id)))
            .where(Ticket.c.resolve_due.is_null(False) & Ticket.c.resolved_at.is_null(False)
                   & (Ticket.c.resolved_at >= _t(p.start)) & (Ticket.c.resolved_at < _t(p.until))))


def _surveys(scope, p: Period, kind: str, score):
    from .models import Survey
    return (scope.select(Customer.owner, fn.SUM(score), fn.COUNT(Survey.id))
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
    return (scope.select(Customer.owner, _count_if(Stage.c.kind == "won"), fn.COUNT(Deal.c.id))
            .join(Deal, on=(Deal.c.customer_id == Customer.id))
            .join(Stage, on=(Stage.c.id == Deal.c.stage_id))
            .where(Stage.c.kind.in_(("won", "lost")) & Deal.c.closed_at.is_null(False)
                   & (Deal.c.closed_at >= _t(p.start)) & (Deal.c.closed_at < _t(p.until))))


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
        _l("purchases (total_fen, status completed) of the customers in your scope"),
        "money", "up", _clv),
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
)
BY_KEY = {k.key: k for k in KPIS}


def available(present: set[str] | None = None) -> list[Kpi]:
    present = tables() if present is None else present
    return [k for k in KPIS if all(t in present for t in k.needs)]


@dataclass
class Result:
    kpi: Kpi
    value: float | None
    num: float
    den: float
    by_owner: dict              # owner id (None: nobody) -> (value, num, den)


def compute(kpi: Kpi, user, p: Period, rules: dict) -> Result:
    """One KPI for ``user``'s scope over ``p``: one grouped query."""
    scope = access.scoped_customers(user)
    ids = None if user.role in UNRESTRICTED else access.scoped_customers(user, Customer.id)
    rows = list(kpi.parts(scope, p, dict(rules, scope_ids=ids)).group_by(Customer.owner)
                .tuples())
    by_owner = {owner: (kpi.value(num, den, p), float(num or 0), float(den or 0))
                for owner, num, den in rows}
    num = sum(v[1] for v in by_owner.values())
    den = sum(v[2] for v in by_owner.values())
    return Result(kpi, kpi.value(num, den, p), num, den, by_owner)


def value(key: str, user, p: Period, rules: dict) -> float | None:
    return compute(BY_KEY[key], user, p, rules).value


def owner_names(ids) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return {u: (d or n) for u, d, n in User.select(User.id, User.display_name, User.username)
            .where(User.id.in_(ids)).tuples()}


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
