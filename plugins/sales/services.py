"""The sales pipeline's domain logic (no Flask): deals, stage moves with entry rules and stage
history, stages an administrator configures, and the figures of the board, the list and the
dashboard cards.

Writes run in one transaction with their history rows; a deal's update is
``UPDATE ... WHERE version = expected`` so a stale form gets ``Conflict``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from peewee import JOIN, fn

from crm import access
from crm.accounts.models import User
from crm.customers.models import Customer
from crm.db import database, is_postgres, utcnow
from crm.i18n import N_
from crm.notifications import notify

from .models import Deal, DealProduct, Stage, StageHistory

DEAL_FIELDS = ("title", "amount_fen", "expected_close", "owner", "probability", "source",
               "contact", "notes")


class Conflict(Exception):
    """The deal changed since the form was loaded."""

    def __init__(self, deal):
        super().__init__("stale deal")
        self.deal = deal


class RuleError(Exception):
    """The stage's entry rules are not met: ``missing`` lists the rule codes."""

    def __init__(self, stage, missing):
        super().__init__(f"stage {stage.name}: missing {', '.join(missing)}")
        self.stage = stage
        self.missing = missing


def write_transaction():
    """SQLite: ``BEGIN IMMEDIATE`` (the write lock first, so read-then-write never fails
    with "database is locked"); PostgreSQL: a plain transaction.  Nested: a savepoint."""
    return database.atomic() if is_postgres() else database.atomic("IMMEDIATE")


def _id(value):
    return getattr(value, "id", value) or None


# -- stages -------------------------------------------------------------------------------------

def stages(active_only: bool = True) -> list[Stage]:
    query = Stage.select()
    if active_only:
        query = query.where(Stage.active == True)  # noqa: E712
    return list(query.order_by(Stage.position, Stage.id))


def save_stage(stage_id: int | None, values: dict) -> Stage:
    with write_transaction():
        if stage_id is None:
            return Stage.create(**values)
        Stage.update(**values).where(Stage.id == stage_id).execute()
        return Stage.get_by_id(stage_id)


def missing_for(stage: Stage, deal_values: dict, product_count: int) -> list[str]:
    """The entry rules of ``stage`` a deal with these values does not meet."""
    missing = []
    for rule in stage.rule_list:
        if rule == "amount" and not (deal_values.get("amount_fen") or 0) > 0:
            missing.append(rule)
        elif rule == "close_date" and not deal_values.get("expected_close"):
            missing.append(rule)
        elif rule == "products" and product_count < 1:
            missing.append(rule)
        elif rule == "reason" and not (deal_values.get("reason") or "").strip():
            missing.append(rule)
    return missing


# -- deals --------------------------------------------------------------------------------------

def _set_products(deal_id: int, product_ids) -> None:
    DealProduct.delete().where(DealProduct.deal == deal_id).execute()
    for product_id in dict.fromkeys(product_ids or []):
        DealProduct.create(deal=deal_id, product=product_id)


def create_deal(customer, user, data: dict, stage: Stage, product_ids=(),
                now: dt.datetime | None = None) -> Deal:
    """A new deal in ``stage`` (its entry rules apply, like a move)."""
    now = now or utcnow()
    values = {k: _id(data.get(k)) if k in ("owner", "contact") else data.get(k)
              for k in DEAL_FIELDS if k in data}
    missing = missing_for(stage, dict(values, reason=data.get("reason")), len(product_ids))
    if missing:
        raise RuleError(stage, missing)
    with write_transaction():
        deal = Deal.create(customer=customer.id, stage=stage.id, stage_entered_at=now,
                           created_by=_id(user), created_at=now, updated_at=now,
                           reason=data.get("reason") or "",
                           closed_at=now if stage.kind != "open" else None, **values)
        _set_products(deal.id, product_ids)
        entry = StageHistory.create(deal=deal.id, stage=stage.id, entered_at=now, user=_id(user))
        notify_entry(deal, stage, user, entry.id)
    return deal


def update_deal(deal_id: int, version: int, user, data: dict, product_ids=None,
                now: dt.datetime | None = None) -> Deal:
    """Change a deal's fields (not its stage); the current stage's rules still hold."""
    now = now or utcnow()
    with write_transaction():
        deal = Deal.get_by_id(deal_id)
        if deal.version != version:
            raise Conflict(deal)
        values = {k: _id(data.get(k)) if k in ("owner", "contact") else data.get(k)
                  for k in DEAL_FIELDS if k in data}
        if "reason" in data:
            values["reason"] = data["reason"] or ""
        count = (len(product_ids) if product_ids is not None
                 else DealProduct.select().where(DealProduct.deal == deal_id).count())
        current = {f: getattr(deal, f) for f in ("amount_fen", "expected_close", "reason")}
        missing = missing_for(deal.stage, dict(current, **values), count)
        if missing:
            raise RuleError(deal.stage, missing)
        updated = (Deal.update(updated_at=now, version=Deal.version + 1, **values)
                   .where((Deal.id == deal_id) & (Deal.version == version)).execute())
        if not updated:
            raise Conflict(Deal.get_by_id(deal_id))
        if product_ids is not None:
            _set_products(deal_id, product_ids)
        return Deal.get_by_id(deal_id)


def move(deal_id: int, version: int, user, stage: Stage, extra: dict | None = None,
         now: dt.datetime | None = None) -> Deal:
    """Move a deal to ``stage``: its entry rules must hold (``extra`` may bring the missing
    amount, close date or reason in the same step); the history row of the stage it leaves
    gets its end, a new one starts; entering a won/lost stage closes the deal."""
    now = now or utcnow()
    extra = {k: v for k, v in (extra or {}).items() if v not in (None, "")}
    with write_transaction():
        deal = Deal.get_by_id(deal_id)
        if deal.version != version:
            raise Conflict(deal)
        if deal.stage_id == stage.id:
            return deal
        current = {f: getattr(deal, f) for f in ("amount_fen", "expected_close", "reason")}
        count = DealProduct.select().where(DealProduct.deal == deal_id).count()
        missing = missing_for(stage, dict(current, **extra), count)
        if missing:
            raise RuleError(stage, missing)
        values = dict(extra, stage=stage.id, stage_entered_at=now, updated_at=now,
                      version=Deal.version + 1,
                      closed_at=now if stage.kind != "open" else None)
        updated = (Deal.update(**values)
                   .where((Deal.id == deal_id) & (Deal.version == version)).execute())
        if not updated:
            raise Conflict(Deal.get_by_id(deal_id))
        (StageHistory.update(left_at=now)
         .where((StageHistory.deal == deal_id) & StageHistory.left_at.is_null()).execute())
        entry = StageHistory.create(deal=deal_id, stage=stage.id, entered_at=now, user=_id(user))
        deal = Deal.get_by_id(deal_id)
        notify_entry(deal, stage, user, entry.id)
        return deal


def notify_entry(deal: Deal, stage: Stage, user, entry_id: int) -> int:
    """Notify the people with the stage's ``notify_role`` who can see the deal's customer
    (a manager: the customers of their departments) that ``deal`` entered ``stage``; the
    one who moved it is left out.  Through the core's public ``crm.notifications``."""
    if not stage.notify_role:
        return 0
    people = [u for u in User.select().where((User.role == stage.notify_role)
                                             & (User.is_active == True))  # noqa: E712
              if u.id != _id(user) and access.scoped_customers(u).where(
                  Customer.id == deal.customer_id).exists()]
    return notify(people, N_("Deal %(title)s entered the stage %(stage)s"),
                  url=f"/sales/deals/{deal.id}", kind="sales.stage",
                  key=f"sales.stage:{entry_id}", title=deal.title, stage=stage.name)


def history(deal: Deal, now: dt.datetime | None = None) -> list[dict]:
    """The deal's stays in each stage, oldest first, with the time spent (to now if current)."""
    now = now or utcnow()
    rows = (StageHistory.select(StageHistory, Stage, User)
            .join(Stage).switch(StageHistory).join(User, JOIN.LEFT_OUTER)
            .where(StageHistory.deal == deal.id)
            .order_by(StageHistory.entered_at, StageHistory.id))
    return [{"stage": r.stage, "entered_at": r.entered_at, "left_at": r.left_at,
             "user": r.user if r.user_id else None,
             "duration": (r.left_at or now) - r.entered_at} for r in rows]


def product_ids(deal: Deal) -> list[int]:
    return [p for (p,) in DealProduct.select(DealProduct.product)
            .where(DealProduct.deal == deal.id).tuples()]


def probability(deal: Deal, stage: Stage | None = None) -> int:
    stage = stage or deal.stage
    return deal.probability if deal.probability is not None else stage.probability


def is_stuck(deal: Deal, stage: Stage, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return (stage.kind == "open" and stage.stuck_days > 0
            and deal.stage_entered_at < now - dt.timedelta(days=stage.stuck_days))


# -- reads --------------------------------------------------------------------------------------

def scoped_deals(user):
    """The deals on the customers ``user`` sees (crm.access.scoped_customers)."""
    return Deal.select().where(Deal.customer.in_(access.scoped_customers(user, Customer.id)))


def deal_for(user, deal_id: int) -> Deal | None:
    return scoped_deals(user).where(Deal.id == deal_id).first()


@dataclass
class Filters:
    stage: int | None = None
    owner: str = ""          # a user id or "me"
    status: str = ""         # open, won, lost
    stuck: bool = False
    customer: int | None = None
    q: str = ""
    page: int = 1

    def args(self, **changes) -> dict:
        values = {"stage": self.stage, "owner": self.owner, "status": self.status,
                  "stuck": "1" if self.stuck else "", "customer": self.customer, "q": self.q,
                  "page": self.page}
        values.update(changes)
        return {k: v for k, v in values.items()
                if v not in ("", None, False) and not (k == "page" and v == 1)}

    @property
    def active(self) -> bool:
        return bool(self.stage or self.owner or self.status or self.stuck or self.customer)


def _with_joins(query):
    Owner = User.alias()
    return (query.select_extend(Stage, Customer.id, Customer.name, Owner.id, Owner.username,
                                Owner.display_name)
            .join(Stage, on=(Deal.stage == Stage.id))
            .switch(Deal).join(Customer, on=(Deal.customer == Customer.id))
            .switch(Deal).join(Owner, JOIN.LEFT_OUTER, on=(Deal.owner == Owner.id),
                               attr="owner_user"))


def _stuck_condition(now):
    """Open deals whose stage's stuck threshold has passed (portable SQL: the threshold is a
    per-stage number of days, so the cut-off is computed per stage)."""
    conditions = None
    for stage in stages(active_only=False):
        if stage.kind != "open" or stage.stuck_days <= 0:
            continue
        term = (Deal.stage == stage.id) & (
            Deal.stage_entered_at < now - dt.timedelta(days=stage.stuck_days))
        conditions = term if conditions is None else (conditions | term)
    return conditions if conditions is not None else (Deal.id.is_null())


def search(user, filters: Filters, page_size: int, now: dt.datetime | None = None) -> dict:
    now = now or utcnow()
    query = scoped_deals(user)
    if filters.stage:
        query = query.where(Deal.stage == filters.stage)
    if filters.owner == "me":
        query = query.where(Deal.owner == user.id)
    elif filters.owner.isdigit():
        query = query.where(Deal.owner == int(filters.owner))
    if filters.status:
        query = query.where(Deal.stage.in_(Stage.select(Stage.id)
                                           .where(Stage.kind == filters.status)))
    if filters.stuck:
        query = query.where(_stuck_condition(now))
    if filters.customer:
        query = query.where(Deal.customer == filters.customer)
    if filters.q:
        query = query.where(Deal.title.contains(filters.q))
    total = query.count()
    amount = query.select(fn.COALESCE(fn.SUM(Deal.amount_fen), 0)).scalar() or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, filters.page), pages)
    rows = list(_with_joins(query).order_by(Deal.updated_at.desc(), Deal.id.desc())
                .paginate(page, page_size))
    return {"rows": rows, "total": total, "amount": amount, "page": page, "pages": pages}


def board(user, owner: str = "", per_column: int = 50, now: dt.datetime | None = None) -> list:
    """[(stage, deals, count, amount)] for every active stage; closed stages show the deals
    closed in the last 30 days."""
    now = now or utcnow()
    columns = []
    base = scoped_deals(user)
    if owner == "me":
        base = base.where(Deal.owner == user.id)
    elif owner.isdigit():
        base = base.where(Deal.owner == int(owner))
    for stage in stages():
        query = base.where(Deal.stage == stage.id)
        if stage.kind != "open":
            query = query.where(Deal.closed_at >= now - dt.timedelta(days=30))
        count = query.count()
        amount = query.select(fn.COALESCE(fn.SUM(Deal.amount_fen), 0)).scalar() or 0
        deals = list(_with_joins(query).order_by(Deal.stage_entered_at, Deal.id)
                     .limit(per_column))
        columns.append((stage, deals, count, amount))
    return columns


def customer_deals(customer) -> list[Deal]:
    return list(_with_joins(Deal.select().where(Deal.customer == customer.id))
                .order_by(Deal.updated_at.desc(), Deal.id.desc()).limit(20))


def owners() -> list[User]:
    return list(User.select().where((User.is_active == True)  # noqa: E712
                                    & User.role.in_(("admin", "manager", "sales")))
                .order_by(User.display_name, User.username))


# -- figures --------------------------------------------------------------------------------------

def _month(date: dt.date) -> str:
    return f"{date.year:04d}-{date.month:02d}"


def forecast(user, months: int = 3, today: dt.date | None = None) -> dict:
    """Weighted amount (amount × probability) of the open deals by expected close month and
    owner, for this month and the next ``months - 1``; overdue expected dates count in this
    month, deals without a date are listed apart."""
    today = today or dt.date.today()
    keys, year, month = [], today.year, today.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        month += 1
        if month == 13:
            year, month = year + 1, 1
    rows = (scoped_deals(user).select(Deal.amount_fen, Deal.probability, Deal.expected_close,
                                      Deal.owner, Stage.probability)
            .join(Stage, on=(Deal.stage == Stage.id)).where(Stage.kind == "open").tuples())
    table: dict = {}
    undated = 0
    for amount, own_probability, close, owner_id, stage_probability in rows:
        weighted = amount * (own_probability if own_probability is not None
                             else stage_probability) // 100
        if close is None:
            undated += weighted
            continue
        key = max(_month(close), keys[0])
        if key not in keys:
            continue
        table.setdefault(owner_id, {k: 0 for k in keys})[key] += weighted
    names = {u.id: u.name for u in User.select().where(User.id.in_(list(table) or [0]))}
    by_owner = sorted(((names.get(o, "—"), cells) for o, cells in table.items()),
                      key=lambda item: item[0])
    totals = {k: sum(cells[k] for _n, cells in by_owner) for k in keys}
    return {"months": keys, "by_owner": by_owner, "totals": totals, "undated": undated}


def pipeline_figures(user, days: int = 180, now: dt.datetime | None = None) -> dict:
    """Conversion from each open stage to the next (share of the deals that reached a stage
    and went on to a later open stage or won), the win rate and the average days to close of
    the deals closed in the last ``days`` days."""
    now = now or utcnow()
    ordered = stages(active_only=False)
    position = {s.id: i for i, s in enumerate(ordered)}
    kind = {s.id: s.kind for s in ordered}
    deal_ids = scoped_deals(user).select(Deal.id)
    reached: dict = {}
    for deal_id, stage_id in (StageHistory.select(StageHistory.deal, StageHistory.stage)
                              .where(StageHistory.deal.in_(deal_ids)).tuples()):
        reached.setdefault(deal_id, set()).add(stage_id)
    open_stages = [s for s in ordered if s.kind == "open" and s.active]
    conversion = []
    for i, stage in enumerate(open_stages):
        entered = [d for d, seen in reached.items() if stage.id in seen]
        onward = [d for d in entered
                  if any((position[s] > position[stage.id] and kind[s] == "open")
                         or kind[s] == "won" for s in reached[d])]
        conversion.append({"stage": stage, "entered": len(entered), "onward": len(onward),
                           "rate": round(100 * len(onward) / len(entered)) if entered else None})
    closed = list(scoped_deals(user).select(Deal.created_at, Deal.closed_at, Stage.kind)
                  .join(Stage, on=(Deal.stage == Stage.id))
                  .where(Deal.closed_at >= now - dt.timedelta(days=days),
                         Stage.kind.in_(("won", "lost"))).tuples())
    won = [(c, e) for c, e, k in closed if k == "won"]
    lost = len(closed) - len(won)
    days_to_close = [(e - c).total_seconds() / 86400 for c, e in won]
    return {"conversion": conversion, "won": len(won), "lost": lost, "days": days,
            "win_rate": round(100 * len(won) / len(closed)) if closed else None,
            "avg_days": round(sum(days_to_close) / len(days_to_close), 1)
            if days_to_close else None}


def local_today(timezone: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(timezone)).date()
