"""The customer information sheet, the personal data export and anonymisation (PIPL)."""
from __future__ import annotations

import io
import json

from openpyxl import load_workbook

from crm.activities.models import Activity
from crm.audit.models import AuditLog
from crm.customers import privacy
from crm.customers.models import Contact, Customer
from crm.purchases.models import Purchase
from tests.conftest import htmx


def _customer(seed):
    customer = seed.customer("张伟", owner="sales", phone="13812345678", email="zw@example.com",
                             address="杭州市西湖区文三路1号", tags=["VIP"],
                             contacts=[{"name": "李雷", "mobile": "13912345678"}])
    seed.activity(customer.id, "sales", summary="电话回访，张先生家住文三路")
    product = seed.product("TEA-1", "Green tea", 1999)
    seed.purchase(customer.id, [(product.id, 3)], "sales")
    return customer


def test_the_sheet_as_page_and_workbook(client, login, seed):
    customer = _customer(seed)
    login("sales")
    page = client.get(f"/customers/{customer.id}/sheet").get_data(as_text=True)
    assert "Customer information sheet" in page and "138 1234 5678" in page and "李雷" in page
    assert client.get(f"/customers/{customer.id}/sheet", headers=htmx("main")).status_code == 200
    response = client.get(f"/customers/{customer.id}/sheet?format=xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    cells = {c.value for row in sheet.iter_rows() for c in row if c.value}
    assert {"张伟", customer.number, "138 1234 5678", "李雷", "59.97"} <= cells
    client.post("/logout")
    login("service")                   # masked on the sheet as on the page
    page = client.get(f"/customers/{customer.id}/sheet").get_data(as_text=True)
    assert "138****5678" in page and "138 1234 5678" not in page
    client.post("/logout")
    login("sales2")
    assert client.get(f"/customers/{customer.id}/sheet").status_code == 404


def test_personal_data_export(client, login, seed):
    customer = _customer(seed)
    login("sales")
    assert client.get(f"/customers/{customer.id}/personal-data").status_code == 403
    client.post("/logout")
    login("admin")
    response = client.get(f"/customers/{customer.id}/personal-data")
    data = json.loads(response.data)
    assert data["customer"]["phone"] == "+8613812345678"
    assert data["contacts"][0]["mobile"] == "+8613912345678"
    assert data["tags"] == ["VIP"] and len(data["purchases"]) == 1
    assert data["purchases"][0]["lines"][0]["quantity"] == 3
    assert any("文三路" in a["summary"] for a in data["activities"])
    assert seed.run(lambda: AuditLog.select().where(
        (AuditLog.action == "customer.export") & (AuditLog.entity_id == customer.id)).count()) == 1


def test_anonymise_erases_the_person_and_keeps_the_figures(client, login, seed):
    customer = _customer(seed)
    from crm.purchases import services as purchases
    from crm.purchases.models import PurchaseLine, PurchaseRefund
    purchase = seed.run(lambda: Purchase.get(Purchase.customer == customer.id))
    line = seed.run(lambda: PurchaseLine.get(PurchaseLine.purchase == purchase.id))
    seed.run(purchases.refund_purchase, purchase, seed.user("sales"), "张先生说文三路太远",
             {line.id: 1})
    exported = seed.run(lambda: privacy.personal_data(seed.get_customer(customer.id)))
    assert exported["purchases"][0]["refunds"][0]["reason"] == "张先生说文三路太远"
    assert exported["purchases"][0]["refunded_fen"] == 1999
    revenue = seed.run(lambda: sum(p.total_fen - p.refunded_fen for p in Purchase.select()))
    login("admin")
    response = client.post(f"/customers/{customer.id}/anonymise")
    assert response.status_code == 303
    stored = seed.get_customer(customer.id)
    assert stored.name == f"已匿名 {customer.number}"
    assert (stored.phone, stored.email, stored.address) == ("", "", "")
    assert stored.value_class == customer.value_class and stored.deleted_at is None
    contact = seed.run(lambda: Contact.get(Contact.customer == customer.id))
    assert (contact.name, contact.mobile) == ("—", "")
    assert seed.run(lambda: {a.summary for a in Activity.select()}) == {"—"}
    assert seed.run(lambda: sum(p.total_fen - p.refunded_fen for p in Purchase.select())) == \
        revenue
    assert seed.run(lambda: [r.reason for r in PurchaseRefund.select()]) == ["—"]
    assert seed.run(lambda: [r.amount_fen for r in PurchaseRefund.select()]) == [1999]
    assert not seed.run(lambda: AuditLog.select().where(
        AuditLog.new.contains("文三路") | AuditLog.old.contains("文三路")).count())
    history = seed.run(lambda: list(AuditLog.select().where(
        (AuditLog.entity_id == customer.id) & (AuditLog.field.in_(("phone", "name"))))))
    assert history and all(h.old in ("", "***") and h.new in ("", "***") for h in history)
    found = client.get("/customers?q=5678", headers=htmx("results")).get_data(as_text=True)
    assert f'href="/customers/{customer.id}"' not in found       # no longer found by phone
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "13812345678" not in page and "文三路" not in page
    assert seed.run(lambda: Customer.select().count()) == 1
    client.post("/logout")
    login("manager")
    assert client.post(f"/customers/{customer.id}/anonymise").status_code in (403, 404)
