"""Recommendations: the nightly computation, the panel's read, next best actions, the
acceptance rate.  Domain logic only, no Flask.

The model (see docs/recommendations.md):

* ``bought(c)``: the products customer ``c`` bought (completed purchases before ``as_of``), each
  with the time of its last purchase.
* Item to item: ``sim(a, b) = together(a, b) / buyers(a)``, the share of the customers who bought
  ``a`` that bought ``b`` too ("customers who bought X often buy Y"), kept when ``together`` is
  at least ``min_support``.  Both counts are SQL aggregates (a self-join of the distinct
  customer-product pairs).
* Buy again: ``sim(a, a) = repeaters(a) / buyers(a)``, the share of a's buyers who bought it in
  two purchases or more (tea runs out; a teapot does not).
* Recency: a product the customer bought ``d`` days ago weighs ``w = 0.5 ** (d / half_life)``.
* ``score(c, b) = sum over a in bought(c) of w(c, a) * sim(a, b)``, over products not bought in
  the last ``exclude_days``; the reason is the ``a`` that contributes most.  The top ``top_n``
  per customer are stored; the panel reads the first five in one query.
* Fallback for customers without scores: the products bought by the most customers of their
  segment (``kind:value_class``) in the last ``popular_days`` (``*``: everybody, when the segment
  has none).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import math
import re
import time
from collections import defaultdict

from peewee import Case, DatabaseError, fn

from crm.customers.models import Customer
from crm.db import database, utcnow
from crm.purchases.models import Product, Purchase, PurchaseLine

from .models import Dismissed, Popular, Run, Score, Shown, Similarity

ALL = "*"


@dataclasses.dataclass(frozen=True)
class Settings:
    half_life_days: float = 90.0       # recency: a purchase this old weighs half
    exclude_days: int = 7              # never recommend what the customer bought this recently
    min_support: int = 2               # customers who bought both, for a similarity to count
    top_n: int = 10                    # scores kept per customer
    popular_days: int = 180            # the fallback's window
    show: int = 5                      # products in the panel
    dormant_days: int = 90             # no purchase for this long: dormant
    high_value_fen: int = 1_000_000    # lifetime spend that makes a customer high-value (¥10,000)
    high_value_classes: tuple = ("A", "B")
    anniversary_days: int = 7          # a founding anniversary within this many days: greet
    acceptance_days: int = 30          # a purchase within this many days accepts a recommendation

    @classmethod
    def from_config(cls, config) -> "Settings":
        values = {}
        for field in dataclasses.fields(cls):
            key = "RECOMMENDATIONS_" + field.name.upper()
            if key in config:
                value = config[key]
                if field.name == "high_value_classes":
                    if isinstance(value, str):     # "A,B" from a CRM_ environment variable
                        value = value.split(",")
                    value = tuple(v.strip() for v in value if v.strip())
                else:                              # numbers may come as text from the env
                    value = type(field.default)(value)
                values[field.name] = value
        return cls(**values)


def segment_of(kind: str, value_class: str) -> str:
    return f"{kind or ''}:{value_class or ''}"


def _as_datetime(value):
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


# -- the computation ---------------------------------------------------------------------------

# A line counts as bought unless all of it was returned (crm/purchases: refunds).
KEPT = PurchaseLine.returned_quantity < PurchaseLine.quantity


def _pairs_query(as_of: dt.datetime):
    """The distinct (customer_id, product_id) of completed purchases before ``as_of`` by
    customers who are not in the trash."""
    return (Purchase.select(Purchase.customer.alias("customer_id"),
                            PurchaseLine.product.alias("product_id"))
            .join(PurchaseLine, on=(PurchaseLine.purchase == Purchase.id))
            .join(Customer, on=(Customer.id == Purchase.customer))
            .where((Purchase.status == "completed") & (Purchase.purchased_at < as_of)
                   & KEPT & Customer.deleted_at.is_null())
            .distinct())


def customer_products(as_of: dt.datetime) -> list[tuple[int, int, dt.datetime, int]]:
    """``(customer_id, product_id, last purchased_at, purchases)`` for every product a customer
    bought (``purchases``: in how many purchases)."""
    query = (Purchase.select(Purchase.customer, PurchaseLine.product,
                             fn.MAX(Purchase.purchased_at), fn.COUNT(fn.DISTINCT(Purchase.id)))
             .join(PurchaseLine, on=(PurchaseLine.purchase == Purchase.id))
             .join(Customer, on=(Customer.id == Purchase.customer))
             .where((Purchase.status == "completed") & (Purchase.purchased_at < as_of)
                    & KEPT & Customer.deleted_at.is_null())
             .group_by(Purchase.customer, PurchaseLine.product)
             .tuples())
    return [(c, p, _as_datetime(last), n) for c, p, last, n in query]


def co_occurrence(as_of: dt.datetime) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """``buyers[a]`` (customers who bought a) and ``together[(a, b)]`` (customers who bought a
    and b, a != b), both SQL aggregates over the distinct customer-product pairs (kept in an
    indexed temporary table of this connection for the self-join)."""
    inner, params = _pairs_query(as_of).sql()
    tmp = "recommendations_tmp_pairs"
    database.execute_sql(f"DROP TABLE IF EXISTS {tmp}")
    database.execute_sql(f"CREATE TEMPORARY TABLE {tmp} AS {inner}", params)
    try:
        database.execute_sql(f"CREATE INDEX {tmp}_customer ON {tmp} (customer_id, product_id)")
        buyers = dict(database.execute_sql(
            f"SELECT product_id, COUNT(*) FROM {tmp} GROUP BY product_id").fetchall())
        together = {(a, b): n for a, b, n in database.execute_sql(
            f"SELECT x.product_id, y.product_id, COUNT(*) FROM {tmp} x "
            f"JOIN {tmp} y ON y.customer_id = x.customer_id AND y.product_id <> x.product_id "
            "GROUP BY x.product_id, y.product_id").fetchall()}
    finally:
        database.execute_sql(f"DROP TABLE {tmp}")
    return buyers, together


def similarities(buyers: dict[int, int], together: dict[tuple[int, int], int],
                 min_support: int, active: set[int] | None = None) -> dict:
    """``{(a, b): (together, together / buyers[a])}`` for pairs with enough support (``b``
    restricted to ``active`` products when given).  ``together[(a, a)]``, when given, is the
    number of customers who bought ``a`` in two purchases or more ("buy again")."""
    out = {}
    for (a, b), n in together.items():
        if n < min_support or not buyers.get(a) or (active is not None and b not in active):
            continue
        out[(a, b)] = (n, n / buyers[a])
    return out


def repeat_buyers(bought) -> dict[int, int]:
    """Per product, the customers who bought it in two purchases or more."""
    out: dict[int, int] = defaultdict(int)
    for _customer_id, product_id, _last, purchases in bought:
        if purchases >= 2:
            out[product_id] += 1
    return dict(out)


def recency_weight(days: float, half_life_days: float) -> float:
    return math.exp(-math.log(2) * max(days, 0.0) / half_life_days)


def score_customers(bought, sims, as_of: dt.datetime, settings: Settings):
    """Yield ``(customer_id, [(product_id, score, reason_product_id), ...])``, best first.

    ``bought`` is ``customer_products``' rows; ``sims`` is ``similarities``' result."""
    neighbours: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for (a, b), (_n, s) in sims.items():
        neighbours[a].append((b, s))
    by_customer: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
    for customer_id, product_id, last, _n in bought:
        by_customer[customer_id].append((product_id, last))
    recent_cut = as_of - dt.timedelta(days=settings.exclude_days)
    for customer_id in sorted(by_customer):
        items = by_customer[customer_id]
        recent = {p for p, last in items if last >= recent_cut}
        total: dict[int, float] = {}
        best: dict[int, tuple[float, int]] = {}
        for a, last in items:
            if a not in neighbours:
                continue
            w = recency_weight((as_of - last).total_seconds() / 86400, settings.half_life_days)
            for b, s in neighbours[a]:
                if b in recent:
                    continue
                v = w * s
                total[b] = total.get(b, 0.0) + v
                if b not in best or v > best[b][0] or (v == best[b][0] and a < best[b][1]):
                    best[b] = (v, a)
        if not total:
            continue
        top = heapq.nsmallest(settings.top_n, total.items(), key=lambda kv: (-kv[1], kv[0]))
        yield customer_id, [(b, v, best[b][1]) for b, v in top]


def popular_by_segment(as_of: dt.datetime, settings: Settings, active: set[int]):
    """``{segment: [(product_id, buyers), ...]}``, best first, ``*`` for everybody."""
    since = as_of - dt.timedelta(days=settings.popular_days)
    query = (Purchase.select(Customer.kind, Customer.value_class, PurchaseLine.product,
                             fn.COUNT(fn.DISTINCT(Purchase.customer)))
             .join(PurchaseLine, on=(PurchaseLine.purchase == Purchase.id))
             .join(Customer, on=(Customer.id == Purchase.customer))
             .where((Purchase.status == "completed") & (Purchase.purchased_at < as_of)
                    & (Purchase.purchased_at >= since) & KEPT & Customer.deleted_at.is_null())
             .group_by(Customer.kind, Customer.value_class, PurchaseLine.product)
             .tuples())
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for kind, value_class, product_id, buyers in query:
        if product_id not in active:
            continue
        counts[segment_of(kind, value_class)][product_id] += buyers
        counts[ALL][product_id] += buyers       # a customer is in one segment only: sums add up
    return {segment: heapq.nsmallest(settings.top_n, per.items(), key=lambda kv: (-kv[1], kv[0]))
            for segment, per in counts.items()}


def _insert(model, rows: list[dict], batch: int = 400) -> None:
    for start in range(0, len(rows), batch):
        model.insert_many(rows[start:start + batch]).execute()


def refresh(as_of: dt.datetime | None = None, settings: Settings | None = None) -> dict:
    """Recompute similarities, every customer's scores and the segments' popular products from
    the purchases before ``as_of`` (default: now), and replace the stored ones in one
    transaction (readers see the old set until it commits).  Returns counts and the time."""
    settings = settings or Settings()
    as_of = as_of or utcnow()
    started = time.perf_counter()
    on_sale = Product.active == True  # noqa: E712
    active = {pid for (pid,) in Product.select(Product.id).where(on_sale).tuples()}
    buyers, together = co_occurrence(as_of)
    bought = customer_products(as_of)
    for product_id, again in repeat_buyers(bought).items():
        together[(product_id, product_id)] = again
    sims = similarities(buyers, together, settings.min_support, active)
    now = utcnow()
    score_rows, customers = [], 0
    for customer_id, top in score_customers(bought, sims, as_of, settings):
        customers += 1
        score_rows.extend({"customer": customer_id, "product": b, "score": v,
                           "reason_product": a, "computed_at": now} for b, v, a in top)
    popular = popular_by_segment(as_of, settings, active)
    with database.atomic():
        Score.delete().execute()
        Similarity.delete().execute()
        Popular.delete().execute()
        _insert(Similarity, [{"product_a": a, "product_b": b, "together": n,
                              "score": s} for (a, b), (n, s) in sorted(sims.items())])
        _insert(Score, score_rows)
        _insert(Popular, [{"segment": segment, "product": pid, "buyers": n, "score": float(n)}
                          for segment, rows in sorted(popular.items()) for pid, n in rows])
        seconds = round(time.perf_counter() - started, 2)
        Run.create(started_at=now, as_of=as_of, seconds=seconds, customers=customers,
                   scores=len(score_rows), similarities=len(sims))
    return {"customers": customers, "scores": len(score_rows), "similarities": len(sims),
            "seconds": seconds}


def last_run():
    return Run.select().order_by(Run.id.desc()).first()


# -- the panel's read --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Recommendation:
    product_id: int
    name: str
    price_fen: int
    score: float
    source: str                    # "similar" (co-occurrence) or "popular" (segment fallback)
    reason_product_id: int | None
    reason_name: str | None
    share: float | None            # similar: of the buyers of the reason product, the share
    buyers: int                    # popular: customers of the segment who bought it
    segment: str
    shown: bool                    # already in the shown log


PANEL_SQL = """
SELECT r.product_id, p.name, p.price_fen, r.score, r.src, r.reason_product_id, rp.name,
       sim.score, r.buyers, r.segment, s.id
FROM (SELECT product_id, score, reason_product_id, 0 AS src, 0 AS buyers, '' AS segment
        FROM recommendations_score WHERE customer_id = {p}
      UNION ALL
      SELECT product_id, score, CAST(NULL AS INTEGER), 1, buyers, segment
        FROM recommendations_popular
       WHERE segment = (CASE WHEN EXISTS (SELECT 1 FROM recommendations_popular
                                           WHERE segment = {p}) THEN {p} ELSE '*' END)
         AND NOT EXISTS (SELECT 1 FROM recommendations_score WHERE customer_id = {p})) r
JOIN product p ON p.id = r.product_id
LEFT JOIN product rp ON rp.id = r.reason_product_id
LEFT JOIN recommendations_similarity sim
       ON sim.product_a_id = r.reason_product_id AND sim.product_b_id = r.product_id
LEFT JOIN recommendations_shown s ON s.customer_id = {p} AND s.product_id = r.product_id
WHERE p.active = {p}
  AND NOT EXISTS (SELECT 1 FROM purchase pu JOIN purchase_line pl ON pl.purchase_id = pu.id
                   WHERE pu.customer_id = {p} AND pu.status = 'completed'
                     AND pu.purchased_at >= {p} AND pu.purchased_at < {p}
                     AND pl.product_id = r.product_id AND pl.returned_quantity < pl.quantity)
ORDER BY r.src, r.score DESC, r.product_id
LIMIT {p}
"""


def recommendations_for(customer, now: dt.datetime | None = None,
                        settings: Settings | None = None) -> list[Recommendation]:
    """The customer's recommendations, in one query: their precomputed scores, else their
    segment's popular products; never an inactive product or one bought in the last
    ``exclude_days`` (a purchase since the last refresh counts at once)."""
    settings = settings or Settings()
    now = now or utcnow()
    segment = segment_of(customer.kind, customer.value_class)
    sql = PANEL_SQL.format(p=database.param)
    since = now - dt.timedelta(days=settings.exclude_days)
    params = (customer.id, segment, segment, customer.id, customer.id, True, customer.id, since,
              now, settings.show)
    out = []
    for (pid, name, price, score, src, reason_id, reason_name, share, buyers, seg,
         shown_id) in database.execute_sql(sql, params).fetchall():
        out.append(Recommendation(pid, name, price or 0, float(score),
                                  "popular" if src else "similar", reason_id, reason_name,
                                  None if share is None else float(share), buyers or 0,
                                  seg or "", shown_id is not None))
    return out


def log_shown(customer_id: int, recommendations, now: dt.datetime | None = None,
              settings: Settings | None = None) -> int:
    """Record the first showing of each recommendation (for the acceptance rate)."""
    settings = settings or Settings()
    now = now or utcnow()
    new = [{"customer": customer_id, "product": r.product_id, "shown_at": now,
            "window_ends_at": now + dt.timedelta(days=settings.acceptance_days)}
           for r in recommendations if not r.shown]
    if not new:
        return 0
    Shown.insert_many(new).on_conflict_ignore().execute()
    return len(new)


# -- next best actions -------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class NextAction:
    key: str            # stored when dismissed; a new occasion has a new key
    kind: str           # complaint | winback | anniversary
    facts: dict         # what the explanation shows


ACTION_KEY = re.compile(r"^(complaint|winback|anniversary):[0-9A-Za-z\-]{1,40}$")

# The rules the data supports; a birthday greeting needs a birthday, which the core's customer
# has not (and a plugin never alters core tables): that rule is skipped, and the panel says so.
BIRTHDAYS_AVAILABLE = False


def valid_action_key(key: str) -> bool:
    return bool(ACTION_KEY.match(key or ""))


def open_complaint(customer_id: int):
    """The oldest open complaint of the customer in the service plugin's table, read with raw
    SQL only when that table exists (the service plugin's code is never imported).  None when
    there is none, or no such table."""
    sql = ("SELECT id, number, subject, created_at FROM service_ticket "
           f"WHERE customer_id = {database.param} AND type = 'complaint' "
           "AND status IN ('new', 'assigned', 'in_progress') ORDER BY created_at, id LIMIT 1")
    try:
        with database.atomic():        # a savepoint: on PostgreSQL a failed statement
            row = database.execute_sql(sql, (customer_id,)).fetchone()   # would abort the rest
    except DatabaseError:
        return None                    # the service plugin's table is not there
    if row is None:
        return None
    return {"id": row[0], "number": row[1], "subject": row[2], "created_at": _as_datetime(row[3])}


def purchase_summary(customer_id: int) -> tuple[int, int, dt.datetime | None]:
    """(completed purchases, lifetime spend in fen, last purchase time) of the customer."""
    row = (Purchase.select(fn.COUNT(Purchase.id),
                           fn.SUM(Purchase.total_fen - Purchase.refunded_fen),
                           fn.MAX(Purchase.purchased_at))
           .where((Purchase.customer == customer_id) & (Purchase.status == "completed"))
           .tuples().first())
    count, spend, last = row or (0, 0, None)
    return count or 0, spend or 0, _as_datetime(last)


def next_anniversary(founded_on: dt.date, today: dt.date) -> dt.date:
    for year in (today.year, today.year + 1):
        try:
            day = founded_on.replace(year=year)
        except ValueError:                      # 29 February in a common year
            day = dt.date(year, 2, 28)
        if day >= today:
            return day
    raise AssertionError("unreachable")


def next_actions(customer, today: dt.date, now: dt.datetime | None = None,
                 settings: Settings | None = None, include_dismissed: bool = False):
    """The next best actions for the customer, most urgent first, each with the facts that
    explain it, minus those dismissed for this customer."""
    settings = settings or Settings()
    now = now or utcnow()
    actions = []
    complaint = open_complaint(customer.id)
    if complaint:
        age = max(0, (now - complaint["created_at"]).days) if complaint["created_at"] else 0
        actions.append(NextAction(f"complaint:{complaint['id']}", "complaint",
                                  dict(complaint, days=age)))
    count, spend, last = purchase_summary(customer.id)
    if count and last is not None:
        idle = (now - last).days
        high = customer.value_class in settings.high_value_classes or \
            spend >= settings.high_value_fen
        if idle >= settings.dormant_days and high:
            actions.append(NextAction(f"winback:{last.date().isoformat()}", "winback",
                                      {"days": idle, "spend_fen": spend, "purchases": count,
                                       "value_class": customer.value_class,
                                       "last": last}))
    if customer.kind == "company" and customer.founded_on:
        day = next_anniversary(customer.founded_on, today)
        if (day - today).days <= settings.anniversary_days:
            actions.append(NextAction(f"anniversary:{day.isoformat()}", "anniversary",
                                      {"date": day, "years": day.year - customer.founded_on.year,
                                       "days": (day - today).days}))
    if include_dismissed or not actions:
        return actions
    dismissed = {a for (a,) in Dismissed.select(Dismissed.action)
                 .where(Dismissed.customer == customer.id).tuples()}
    return [a for a in actions if a.key not in dismissed]


def dismiss(customer_id: int, user_id: int | None, key: str) -> None:
    (Dismissed.insert(customer=customer_id, action=key, user=user_id, dismissed_at=utcnow())
     .on_conflict_ignore().execute())


# -- the dashboard card ------------------------------------------------------------------------

def acceptance(customer_ids=None, limit: int = 5):
    """The products shown most often and the acceptance rate: a shown recommendation is
    accepted when the customer bought that product (a completed purchase) after it was first
    shown and before its window ended.  ``customer_ids`` (a subquery of the user's scoped
    customers, or None for all) limits what is counted.

    Returns ``(rows, shown, accepted)`` with rows ``(product_id, name, shown, accepted)``."""
    bought = (Purchase.select(Purchase.id)
              .join(PurchaseLine, on=(PurchaseLine.purchase == Purchase.id))
              .where((Purchase.customer == Shown.customer)
                     & (PurchaseLine.product == Shown.product) & KEPT
                     & (Purchase.status == "completed")
                     & (Purchase.purchased_at >= Shown.shown_at)
                     & (Purchase.purchased_at < Shown.window_ends_at)))
    accepted = fn.SUM(Case(None, [(fn.EXISTS(bought), 1)], 0))
    query = (Shown.select(Shown.product, Product.name, fn.COUNT(Shown.id).alias("shown"),
                          accepted.alias("accepted"))
             .join(Product, on=(Product.id == Shown.product)))
    if customer_ids is not None:
        query = query.where(Shown.customer.in_(customer_ids))
    rows = [(pid, name, shown, int(acc or 0)) for pid, name, shown, acc in
            query.group_by(Shown.product, Product.name)
            .order_by(fn.COUNT(Shown.id).desc(), Shown.product).tuples()]
    total_shown = sum(r[2] for r in rows)
    total_accepted = sum(r[3] for r in rows)
    return rows[:limit], total_shown, total_accepted
