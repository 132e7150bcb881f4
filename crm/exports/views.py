"""``/customers/export``: pick the columns and the format, then download the filtered list.

The filters are the customer list's own (``?q=...&owner=...``), so "Export" on the list
exports exactly what the list shows, inside the user's scope.  Every export is audited.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, request, stream_with_context
from flask_login import current_user, login_required

from crm import access
from crm.audit import services as audit
from crm.customers import queries
from crm.exports import services
from crm.plugins import host
from crm.web.htmx import render

bp = Blueprint("exports", __name__, url_prefix="/customers/export")

FORMATS = ("csv", "xlsx")
XLSX_MAX_ROWS = 100_000      # XLSX is built in memory; beyond this, CSV (streamed)


@bp.before_request
@login_required
def _signed_in():
    return None


@bp.route("")
def export():
    access.require(current_user, "customer.export")
    filters = queries.Filters.from_args(request.args, host().collect(
        "crm_customer_list_filters", user=current_user))
    plugin_columns = host().collect("crm_customer_list_columns", user=current_user)
    fmt = request.args.get("format", "")
    consent = request.args.get("consent", "")
    scope = services.consented(queries.apply_filters(access.scoped_customers(current_user),
                                                     filters), consent)
    if fmt not in FORMATS:
        return render("exports/form.html", filters=filters, consent=consent,
                      columns=services.available_columns(plugin_columns),
                      total=scope.count(), xlsx_max=XLSX_MAX_ROWS)
    columns = services.select_columns(request.args.getlist("columns"), plugin_columns)
    if not columns:
        abort(400)
    total = scope.count()
    audit.record("customer.export", current_user, "customer", None,
                 [("format", "", fmt), ("rows", "", total),
                  ("filters", "", " ".join(f"{k}={v}" for k, v in filters.args().items())
                   + (f" consent={consent}" if consent else ""))])
    table = services.rows(scope, columns, current_user, plugin_columns)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx" and total <= XLSX_MAX_ROWS:
        body = services.xlsx_bytes(table)
        response = Response(body, mimetype="application/vnd.openxmlformats-officedocument."
                                            "spreadsheetml.sheet")
        name = f"customers-{stamp}.xlsx"
    else:
        response = Response(stream_with_context(services.csv_chunks(table)),
                            mimetype="text/csv")
        response.charset = "utf-8"
        name = f"customers-{stamp}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
