"""Customer lists to CSV and XLSX: the user's scope and filters, the columns they pick (plugin
columns included), sensitive values masked as on screen, consent honoured, and every cell that
a spreadsheet would run as a formula neutralised.

Rows are read in batches of ``BATCH`` (one query for the customers with their owner, one for
their tags, one per plugin column), so an export of 100,000 customers streams in constant
memory.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from peewee import JOIN

from crm.accounts.models import User
from crm.customers import masking
from crm.customers.models import Customer, CustomerTag, Tag
from crm.i18n import _l

BATCH = 1000

CONSENT_FIELDS = {"phone": "consent_phone", "sms": "consent_sms", "email": "consent_email",
                  "wechat": "consent_wechat"}


@dataclass(frozen=True)
class ExportColumn:
    name: str
    label: object                       # a lazy string
    value: Callable                     # (customer, context) -> str | int | None
    default: bool = True


def _flag(value: bool) -> str:
    return "Y" if value else "N"


def _owner(c, ctx):
    return c.owner.name if c.owner and c.owner.id else ""


CORE_COLUMNS = [
    ExportColumn("number", _l("Number"), lambda c, ctx: c.number),
    ExportColumn("kind", _l("Type"), lambda c, ctx: c.kind),
    ExportColumn("name", _l("Name"), lambda c, ctx: c.name),
    ExportColumn("phone", _l("Phone"), lambda c, ctx: ctx.sensitive(c, "phone", c.phone)),
    ExportColumn("email", _l("E-mail"), lambda c, ctx: ctx.sensitive(c, "email", c.email)),
    ExportColumn("industry", _l("Industry"), lambda c, ctx: c.industry),
    ExportColumn("size", _l("Size"), lambda c, ctx: c.size),
    ExportColumn("region", _l("Region"), lambda c, ctx: c.region),
    ExportColumn("founded_on", _l("Founded on"),
                 lambda c, ctx: c.founded_on.isoformat() if c.founded_on else ""),
    ExportColumn("value_class", _l("Value class"), lambda c, ctx: c.value_class),
    ExportColumn("owner", _l("Owner"), _owner),
    ExportColumn("source", _l("Source"), lambda c, ctx: c.source),
    ExportColumn("preferred_channel", _l("Preferred channel"), lambda c, ctx: c.preferred_channel),
    ExportColumn("tags", _l("Tags"), lambda c, ctx: ", ".join(ctx.tags.get(c.id, []))),
    ExportColumn("address", _l("Address"), lambda c, ctx: c.address, default=False),
    ExportColumn("notes", _l("Notes"), lambda c, ctx: c.notes, default=False),
    ExportColumn("consent_phone", _l("Consent to calls"), lambda c, ctx: _flag(c.consent_phone),
                 default=False),
    ExportColumn("consent_sms", _l("Consent to SMS"), lambda c, ctx: _flag(c.consent_sms),
                 default=False),
    ExportColumn("consent_email", _l("Consent to e-mail"), lambda c, ctx: _flag(c.consent_email),
                 default=False),
    ExportColumn("consent_wechat", _l("Consent to WeChat"),
                 lambda c, ctx: _flag(c.consent_wechat), default=False),
    ExportColumn("last_contacted_at", _l("Last contact"),
                 lambda c, ctx: c.last_contacted_at.strftime("%Y-%m-%d %H:%M")
                 if c.last_contacted_at else ""),
    ExportColumn("created_at", _l("Created"),
                 lambda c, ctx: c.created_at.strftime("%Y-%m-%d %H:%M"), default=False),
]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def neutralise(value):
    """A cell a spreadsheet must show as text: anything that would start a formula (``=cmd|...``,
    ``+1``, ``-2``, ``@SUM``) gets a leading apostrophe (OWASP's CSV-injection advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Context:
    """What a batch's cells need: the user's masking mode per customer, tags, plugin values."""

    def __init__(self, user, plugin_columns):
        self.user = user
        self.plugin_columns = plugin_columns
        self.tags: dict = {}
        self.plugin_values: dict = {}

    def load(self, customers: list) -> None:
        ids = [c.id for c in customers]
        self.tags = {}
        for customer_id, name in (CustomerTag.select(CustomerTag.customer, Tag.name)
                                  .join(Tag).where(CustomerTag.customer.in_(ids))
                                  .order_by(Tag.name).tuples()):
            self.tags.setdefault(customer_id, []).append(name)
        self.plugin_values = {col.name: col.load(customers) or {} for col in self.plugin_columns}

    def sensitive(self, customer, field: str, value: str) -> str:
        if not value:
            return ""
        if masking.mode(self.user, customer) == "plain":
            return masking.display(field, value)
        return masking.mask(field, value)


def available_columns(plugin_columns) -> list[ExportColumn]:
    extra = [ExportColumn("x_" + col.name, col.label,
                          (lambda name: lambda c, ctx: ctx.plugin_values[name].get(c.id, ""))(
                              col.name), default=False)
             for col in plugin_columns]
    return CORE_COLUMNS + extra


def select_columns(names: Iterable[str], plugin_columns) -> list[ExportColumn]:
    columns = available_columns(plugin_columns)
    wanted = [n for n in names if n]
    if not wanted:
        return [c for c in columns if c.default]
    by_name = {c.name: c for c in columns}
    return [by_name[n] for n in wanted if n in by_name]


def consented(query, channel: str | None):
    """Only the customers who agreed to be contacted on ``channel`` (phone, sms, email, wechat)."""
    if channel in CONSENT_FIELDS:
        query = query.where(getattr(Customer, CONSENT_FIELDS[channel]) == True)  # noqa: E712
    return query


def rows(query, columns: list[ExportColumn], user, plugin_columns) -> Iterator[list]:
    """The header row, then one row per customer of ``query`` (already scoped and filtered),
    in id order, read by keyset pagination in batches."""
    yield [str(col.label) for col in columns]
    ctx = _Context(user, [p for p in plugin_columns if any(c.name == "x_" + p.name
                                                          for c in columns)])
    Owner = User.alias()
    last_id = 0
    while True:
        batch = list(query.select_extend(Owner.id, Owner.display_name, Owner.username)
                     .join(Owner, JOIN.LEFT_OUTER, on=(Customer.owner == Owner.id), attr="owner")
                     .where(Customer.id > last_id).order_by(Customer.id).limit(BATCH))
        if not batch:
            return
        ctx.load(batch)
        for customer in batch:
            yield [_cell(col.value(customer, ctx)) for col in columns]
        last_id = batch[-1].id


def _cell(value):
    if value is None:
        return ""
    return value if isinstance(value, (int, float)) else str(value)


def csv_chunks(table: Iterable[list]) -> Iterator[str]:
    """CSV text in chunks, UTF-8 with a BOM so that Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    for i, row in enumerate(table, 1):
        writer.writerow([neutralise(v) for v in row])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(table: Iterable[list], title: str = "Customers") -> bytes:
    """An XLSX workbook (openpyxl, write-only: constant memory per row).  Strings are written
    as text cells, so nothing is ever a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    for row in table:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
