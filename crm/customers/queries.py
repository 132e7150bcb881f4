"""Reading customers: the filtered, sorted, paginated list (a fixed number of queries whatever
the page size) and the data of the customer page."""
from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field

from peewee import JOIN, fn

from crm.accounts.models import User
from crm.customers import search_index
from crm.customers.models import Customer, CustomerTag, Tag
from crm.customers.search import normalise_query
from crm.db import utcnow

SORTS = {
    "recent": (Customer.created_at.desc(), Customer.id.desc()),
    "name": (Customer.name.asc(), Customer.id.asc()),
    "number": (Customer.number.asc(),),
    "contacted": (Customer.last_contacted_at.desc(nulls="LAST"), Customer.id.desc()),
    "stale": (Customer.last_contacted_at.asc(nulls="FIRST"), Customer.id.asc()),
    "value": (Customer.value_class.asc(), Customer.id.desc()),
}


@dataclass
class Filters:
    q: str = ""
    owner: int | None = None
    tag: int | None = None
    value_class: str = ""
    region: str = ""
    industry: str = ""
    stale_days: int | None = None
    sort: str = "recent"
    page: int = 1
    extra: dict = field(default_factory=dict)            # plugin filters: name -> value text
    plugin_filters: list = field(default_factory=list)   # their ListFilter descriptors
    errors: list = field(default_factory=list)           # messages of values that were ignored

    @classmethod
    def from_args(cls, args, plugin_filters=()) -> "Filters":
        """The list's filters from the query string; ``plugin_filters`` are the ListFilters of
        ``crm_customer_list_filters``, read from ``x_<name>`` arguments."""
        def as_int(name, low=None):
            try:
                value = int(args.get(name, ""))
            except ValueError:
                return None
            return value if low is None or value >= low else None
        sort = args.get("sort", "recent")
        extra = {f.name: (args.get("x_" + f.name) or "").strip()[:100] for f in plugin_filters}
        return cls(extra={k: v for k, v in extra.items() if v},
                   plugin_filters=list(plugin_filters),
                   q=(args.get("q") or "").strip()[:100], owner=as_int("owner", 1),
                   tag=as_int("tag", 1), value_class=(args.get("value_class") or "")[:1],
                   region=(args.get("region") or "").strip()[:100],
                   industry=(args.get("industry") or "").strip()[:100],
                   stale_days=as_int("stale", 1), sort=sort if sort in SORTS else "recent",
                   page=as_int("page", 1) or 1)

    def args(self, **override) -> dict:
        """Query-string arguments for links (empty values left out)."""
        values = dict(q=self.q, owner=self.owner, tag=self.tag, value_class=self.value_class,
                      region=self.region, industry=self.industry, stale=self.stale_days,
                      sort=None if self.sort == "recent" else self.sort, page=self.page)
        values.update({"x_" + k: v for k, v in self.extra.items()})
        values.update(override)
        if values.get("page") == 1:
            values["page"] = None
        return {k: v for k, v in values.items() if v not in (None, "")}

    @property
    def active(self) -> bool:
        return any([self.q, self.owner, self.tag, self.value_class, self.region, self.industry,
                    self.stale_days, self.extra])


@dataclass
class Page:
    rows: list
    total: int
    page: int
    per_page: int
    tags: dict = field(default_factory=dict)        # customer id -> [Tag]
    columns: list = field(default_factory=list)     # plugin Column descriptors
    column_values: dict = field(default_factory=dict)   # column name -> {customer id: value}

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def page_numbers(self, around: int = 2) -> list:
        """1 … 4 5 [6] 7 8 … 20, with None for the gaps."""
        wanted = {1, self.pages} | set(range(max(1, self.page - around),
                                             min(self.pages, self.page + around) + 1))
        out, last = [], 0
        for n in sorted(wanted):
            if n - last > 1:
                out.append(None)
            out.append(n)
            last = n
        return out


LOOKUP_LIMIT = 20


def lookup_scope(scope, q: str):
    """The counter's look-up (users without ``customer.browse``): ``scope`` narrowed by a real
    term, or None when the term is too short to be one (a single letter or digit would list
    every customer: every number starts with "C2026...").  A real term is 4+ digits (the last 4
    of a phone), 2+ Chinese characters or letters (a name, pinyin, initials), or a whole
    customer number (letters and digits: matched exactly, not as a prefix)."""
    compact = "".join((q or "").split())
    if not compact:
        return None
    if compact.isdigit():
        return apply_filters(scope, Filters(q=compact)) if len(compact) >= 4 else None
    has_digit = any(ch.isdigit() for ch in compact)
    has_letter = any(ch.isascii() and ch.isalpha() for ch in compact)
    if has_digit and has_letter:
        return scope.where(fn.UPPER(Customer.number) == compact.upper())
    if len(compact) < 2:
        return None
    return apply_filters(scope, Filters(q=q))


def apply_filters(query, filters: Filters):
    searched = search_index.condition(normalise_query(filters.q))
    if searched is not None:
        query = query.where(searched)
    if filters.owner:
        query = query.where(Customer.owner == filters.owner)
    if filters.tag:
        query = query.where(Customer.id.in_(
            CustomerTag.select(CustomerTag.customer).where(CustomerTag.tag == filters.tag)))
    if filters.value_class:
        query = query.where(Customer.value_class == filters.value_class)
    if filters.region:
        query = query.where(Customer.region == filters.region)
    if filters.industry:
        query = query.where(Customer.industry == filters.industry)
    if filters.stale_days:
        cutoff = utcnow() - dt.timedelta(days=filters.stale_days)
        query = query.where(Customer.last_contacted_at.is_null() |
                            (Customer.last_contacted_at < cutoff))
    for descriptor in filters.plugin_filters:
        value = filters.extra.get(descriptor.name)
        if value:
            condition = _plugin_condition(descriptor, value, filters)
            if condition is not None:
                query = query.where(condition)
    return query


def _plugin_condition(descriptor, value: str, filters: Filters):
    """A plugin filter's expression, or None: a ValueError shows its message, anything else
    is recorded as the plugin's failure and the list is shown without that filter."""
    from peewee import Node
    try:
        condition = descriptor.where(value)
        if condition is not None and not isinstance(condition, Node):
            raise TypeError(f"returned {type(condition).__name__}, expected an expression")
        return condition
    except ValueError as exc:
        message = f"{descriptor.label}: {exc.args[0] if exc.args else exc}"
    except Exception as exc:  # noqa: BLE001 - a plugin's filter never breaks the list
        from flask import has_app_context
        if has_app_context():
            from crm.plugins import host
            host().record_failure(descriptor.plugin or descriptor.name,
                                  f"ListFilter.where({descriptor.name})", exc)
        from crm.i18n import _l
        message = str(_l("The filter “%(label)s” could not be applied.", label=descriptor.label))
    if message not in filters.errors:
        filters.errors.append(message)
    return None


def list_page(scope, filters: Filters, per_page: int, columns=()) -> Page:
    """One count, one page query (owner joined), one tags query, one query per plugin column."""
    filtered = apply_filters(scope, filters)
    total = filtered.count()
    pages = max(1, math.ceil(total / per_page))
    page = min(filters.page, pages)
    Owner = User.alias()
    rows = list(filtered.select_extend(Owner.id, Owner.display_name, Owner.username)
                .join(Owner, JOIN.LEFT_OUTER, on=(Customer.owner == Owner.id), attr="owner")
                .order_by(*SORTS[filters.sort]).paginate(page, per_page))
    result = Page(rows, total, page, per_page, columns=list(columns))
    if rows:
        ids = [c.id for c in rows]
        for customer_id, tag_id, tag_name in (CustomerTag.select(CustomerTag.customer, Tag.id,
                                                                 Tag.name)
                                              .join(Tag).where(CustomerTag.customer.in_(ids))
                                              .order_by(Tag.name).tuples()):
            result.tags.setdefault(customer_id, []).append((tag_id, tag_name))
        for column in result.columns:
            result.column_values[column.name] = column.load(rows) or {}
    return result


# The filter selects' regions and industries (the values in use, most used first) take two
# GROUP BYs over the user's whole scope: ~100 ms of a 200 ms list page at 100,000 customers.
# They change rarely, so each process keeps them CHOICES_SECONDS per (database, user);
# customer writes in this process clear them at once (forget_choices, called by the services),
# other processes catch up within the period.
CHOICES_SECONDS = 120
_choices: dict = {}


def forget_choices() -> None:
    _choices.clear()


def _used_values(scope, key) -> tuple[list, list]:
    now = time.monotonic()
    hit = _choices.get(key) if key is not None else None
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    regions = [r for (r,) in scope.select(Customer.region).where(Customer.region != "")
               .group_by(Customer.region).order_by(fn.COUNT(Customer.id).desc())
               .limit(50).tuples()]
    industries = [i for (i,) in scope.select(Customer.industry).where(Customer.industry != "")
                  .group_by(Customer.industry).order_by(fn.COUNT(Customer.id).desc())
                  .limit(50).tuples()]
    if key is not None:
        if len(_choices) > 1000:
            _choices.clear()
        _choices[key] = (now + CHOICES_SECONDS, regions, industries)
    return regions, industries


def filter_choices(scope, cache_key=None):
    """Values offered by the filter selects: owners, tags, regions and industries in use.
    ``cache_key`` (the user's id) lets regions and industries come from the cache above."""
    owners = list(User.select(User.id, User.display_name, User.username)
                  .where(User.is_active == True).order_by(User.username))  # noqa: E712
    tags = list(Tag.select().order_by(Tag.name).limit(200))
    key = None if cache_key is None else (id(Customer._meta.database.obj), cache_key)
    regions, industries = _used_values(scope, key)
    return owners, tags, regions, industries
