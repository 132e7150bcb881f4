"""The customer information sheet (客户信息档案表: printable page and XLSX), the personal data
export of one customer, and anonymisation.  Routes on the customers blueprint."""
from __future__ import annotations

import io
import json

from flask import Response, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm import access
from crm.accounts.models import User
from crm.activities import queries as activity_queries
from crm.audit import services as audit
from crm.customers import masking, privacy
from crm.customers.models import Contact, CustomerTag, Tag
from crm.customers.views import bp
from crm.purchases import queries as purchase_queries
from crm.web.htmx import render, see_other


def _sheet_context(customer) -> dict:
    owner = User.get_or_none(User.id == customer.owner_id) if customer.owner_id else None
    contacts = list(Contact.select().where(Contact.customer == customer.id)
                    .order_by(Contact.is_primary.desc(), Contact.id))
    tags = [t.name for t in Tag.select().join(CustomerTag)
            .where(CustomerTag.customer == customer.id).order_by(Tag.name)]
    return dict(customer=customer, owner=owner, contacts=contacts, tags=tags,
                activities=activity_queries.timeline(customer, 1, 20).items,
                purchases=purchase_queries.for_customer(customer, 20))


def _shown(customer, field, value, contact=None) -> str:
    """A sensitive value as this user may see it (full or masked), as text."""
    if not value:
        return ""
    if masking.mode(current_user, customer) == "plain":
        return masking.display(field, value)
    return masking.mask(field, value)


@bp.route("/<int:customer_id>/sheet")
def sheet(customer_id: int):
    """客户信息档案表: a page made for printing, or (``?format=xlsx``) the same as a workbook."""
    customer = access.get_customer_or_404(current_user, customer_id)
    ctx = _sheet_context(customer)
    if request.args.get("format") == "xlsx":
        audit.record("customer.export", current_user, "customer", customer.id,
                     [("format", "", "sheet.xlsx")])
        response = Response(_sheet_xlsx(ctx), mimetype="application/vnd.openxmlformats-"
                                                        "officedocument.spreadsheetml.sheet")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="customer-{customer.number}.xlsx"')
        response.headers["Cache-Control"] = "no-store"
        return response
    return render("customers/sheet.html", shown=_shown, **ctx)


def _sheet_xlsx(ctx) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from crm.customers.forms import CHANNEL_LABELS, VALUE_LABELS
    c = ctx["customer"]
    book = Workbook()
    ws = book.active
    ws.title = _("Customer information sheet")[:31]
    bold = Font(bold=True)

    def put(*values, strong=False):
        ws.append([str(v) if v is not None else "" for v in values])
        if strong:
            for cell in ws[ws.max_row]:
                cell.font = bold
        for cell in ws[ws.max_row]:
            cell.data_type = "s"

    put(_("Customer information sheet"), strong=True)
    for label, value in (
            (_("Number"), c.number), (_("Name"), c.name),
            (_("Type"), _("Company") if c.kind == "company" else _("Person")),
            (_("Industry"), c.industry), (_("Size"), c.size), (_("Region"), c.region),
            (_("Founded on"), c.founded_on.isoformat() if c.founded_on else ""),
            (_("Value class"), VALUE_LABELS.get(c.value_class, c.value_class)),
            (_("Owner"), ctx["owner"].name if ctx["owner"] else ""),
            (_("Source"), c.source), (_("Preferred channel"), CHANNEL_LABELS.get(c.preferred_channel, c.preferred_channel)),
            (_("Phone"), _shown(c, "phone", c.phone)), (_("E-mail"), _shown(c, "email", c.email)),
            (_("Address"), c.address), (_("Tags"), ", ".join(ctx["tags"])),
            (_("Created"), c.created_at.strftime("%Y-%m-%d")),
            (_("Last contact"), c.last_contacted_at.strftime("%Y-%m-%d")
             if c.last_contacted_at else "")):
        put(label, value)
    put()
    put(_("Contacts"), strong=True)
    put(_("Name"), _("Title"), _("Mobile"), _("Phone"), _("E-mail"), strong=True)
    for p in ctx["contacts"]:
        put(p.name, p.title, _shown(c, "mobile", p.mobile), _shown(c, "phone", p.phone),
            _shown(c, "email", p.email))
    put()
    put(_("Recent activities"), strong=True)
    for a in ctx["activities"]:
        put(a.occurred_at.strftime("%Y-%m-%d %H:%M"), a.kind, a.summary, a.outcome)
    put()
    purchases = ctx["purchases"]
    put(_("Purchases"), strong=True)
    put(_("Count"), purchases.count, _("Total (yuan)"), f"{purchases.total_fen / 100:.2f}")
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 36
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@bp.route("/<int:customer_id>/personal-data")
def personal_data(customer_id: int):
    """Everything the CRM holds about one customer, as JSON (a personal data request)."""
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "customer.personal_data", customer)
    audit.record("customer.export", current_user, "customer", customer.id,
                 [("format", "", "personal-data.json")])
    body = json.dumps(privacy.personal_data(customer), ensure_ascii=False, indent=1, default=str)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="personal-data-{customer.number}.json"')
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:customer_id>/anonymise", methods=["POST"])
def anonymise(customer_id: int):
    customer = access.get_customer_or_404(current_user, customer_id, include_deleted=True)
    access.require(current_user, "customer.anonymise", customer)
    privacy.anonymise(customer, current_user)
    flash(_("The customer's personal data was erased; the record stays for the figures."),
          "success")
    return see_other(url_for("customers.detail", customer_id=customer.id)
                     if customer.deleted_at is None else url_for("customers.trash"))
