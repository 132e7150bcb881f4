"""Export of the customer list to CSV and XLSX: scope, filters, columns (plugins' included),
masking, consent, formula neutralisation, audit."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from crm import Column, hookimpl
from crm.audit.models import AuditLog
from crm.exports.services import neutralise
from tests.conftest import htmx


class ExportPlugin:
    """A list column, and (when ``mask`` is set) a vote that masks sensitive values for sales."""
    name = "exporttest"
    mask = False

    @hookimpl
    def crm_customer_list_columns(self, user):
        return [Column("points", "Points", lambda customers: {c.id: c.id * 10 for c in customers})]

    @hookimpl
    def crm_permission_allowed(self, user, action, resource):
        if self.mask and action == "customer.unmasked" and user.role == "sales":
            return False
        return None


@pytest.fixture
def plugin():
    ExportPlugin.mask = False
    return ExportPlugin()


@pytest.fixture
def plugins(plugin):
    return [plugin]


@pytest.fixture
def book(seed):
    return {
        "a": seed.customer("张伟", owner="sales", phone="13812345678", email="zw@example.com",
                           tags=["VIP"], consent_sms=True),
        "b": seed.customer("王芳", owner="sales", phone="13911112222",
                           address="=cmd|' /C calc'!A0", notes="+SUM(A1:A9)"),
        "c": seed.customer("李娜", owner="sales2", phone="13733334444"),
    }


def read_csv(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")                       # Excel reads UTF-8 Chinese
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_form_counts_and_offers_columns(client, login, book):
    login("sales")
    page = client.get("/customers/export?q=zw").get_data(as_text=True)
    assert "1 customer matches" in page
    assert 'value="x_points"' in page and 'name="q" value="zw"' in page
    listing = client.get("/customers", headers=htmx("results")).get_data(as_text=True)
    assert 'href="/customers/export"' in listing


def test_csv_honours_scope_filters_and_columns(client, login, seed, book):
    login("sales")
    rows = read_csv(client.get("/customers/export?format=csv"))
    assert rows[0][:3] == ["Number", "Type", "Name"]
    names = {r[2] for r in rows[1:]}
    assert names == {"张伟", "王芳"}                       # not sales2's customer
    rows = read_csv(client.get("/customers/export?format=csv&q=zw&columns=name&columns=phone"
                               "&columns=tags&columns=x_points"))
    assert rows == [["Name", "Phone", "Tags", "Points"],
                    ["张伟", "138 1234 5678", "VIP", str(book["a"].id * 10)]]
    audit = seed.run(lambda: list(AuditLog.select().where(AuditLog.action == "customer.export")
                                  .order_by(AuditLog.id)))
    assert {(a.field, a.new) for a in audit if a.field in ("format", "rows")} >= {
        ("format", "csv"), ("rows", "1"), ("rows", "2")}


def test_formulas_are_neutralised(client, login, book):
    login("sales")
    rows = read_csv(client.get("/customers/export?format=csv&q=wf&columns=name&columns=address"
                               "&columns=notes"))
    assert rows[1] == ["王芳", "'=cmd|' /C calc'!A0", "'+SUM(A1:A9)"]
    assert neutralise("@x") == "'@x" and neutralise("-1") == "'-1" and neutralise("ok") == "ok"


def test_xlsx_cells_are_text_never_formulas(client, login, book):
    login("sales")
    response = client.get("/customers/export?format=xlsx&q=wf&columns=name&columns=address")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values == [["Name", "Address"], ["王芳", "=cmd|' /C calc'!A0"]]
    assert sheet["B2"].data_type == "s"


def test_masked_users_export_masked_values(client, login, plugin, book):
    plugin.mask = True
    login("sales")
    rows = read_csv(client.get("/customers/export?format=csv&q=zw&columns=phone&columns=email"))
    assert rows[1] == ["138****5678", "z***@example.com"]


def test_consent_filter(client, login, book):
    login("sales")
    rows = read_csv(client.get("/customers/export?format=csv&consent=sms&columns=name"))
    assert rows == [["Name"], ["张伟"]]


@pytest.mark.parametrize("role", ["service", "clerk"])
def test_roles_without_export(client, login, book, role):
    login(role)
    assert client.get("/customers/export").status_code == 403
    assert client.get("/customers/export?format=csv").status_code == 403
    listing = client.get("/customers?q=zw", headers=htmx("results")).get_data(as_text=True)
    assert "/customers/export" not in listing
