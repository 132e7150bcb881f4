"""Personal data (China's PIPL): everything about one customer, and anonymising one.

``personal_data(customer)`` gathers what the core holds about a customer (profile, contacts,
activities, purchases with lines, tags, the audit trail) as plain JSON-ready data; plugins add
theirs when they receive the ``customer.anonymised`` event or, for the export, through
``crm_customer_panels`` data they show on the page (documented gap: no export hook yet).

``anonymise(customer, user)`` removes the person from the record without breaking aggregates:
names, phones, e-mails, WeChat ids, addresses, notes and activity texts are cleared or replaced,
while the customer row, its number, value class, region, industry, dates, activity kinds and
purchases (amounts, products) stay, so counts, revenue and KPIs over the past do not change.
The audit trail keeps who anonymised whom and when; personal values in earlier audit rows are
blanked too.  One transaction.
"""
from __future__ import annotations

from crm.activities.models import Activity
from crm.audit import services as audit
from crm.audit.models import AuditLog
from crm.customers import services
from crm.customers.models import Contact, Customer, CustomerTag, Tag
from crm.db import database, utcnow
from crm.events.services import emit
from crm.purchases.models import Product, Purchase, PurchaseLine, PurchaseRefund
from crm.tasks.models import Task

PERSONAL_CUSTOMER = ("phone", "email", "address", "notes")
PERSONAL_CONTACT = ("name", "title", "mobile", "phone", "email", "wechat")
PERSONAL_AUDIT_FIELDS = ("name", "phone", "email", "address", "notes", "mobile", "wechat",
                         "title", "summary", "contact.phone", "contact.mobile", "contact.email",
                         "contact.wechat", "reason")     # reason: of a refund (free text)


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _row(instance, fields) -> dict:
    return {f: _plain(getattr(instance, f)) for f in fields}


def personal_data(customer: Customer) -> dict:
    contacts = list(Contact.select().where(Contact.customer == customer.id).order_by(Contact.id))
    activities = list(Activity.select().where(Activity.customer == customer.id)
                      .order_by(Activity.occurred_at))
    purchases = list(Purchase.select().where(Purchase.customer == customer.id)
                     .order_by(Purchase.purchased_at))
    lines: dict = {}
    for line in (PurchaseLine.select(PurchaseLine, Product)
                 .join(Product, attr="product_row")
                 .where(PurchaseLine.purchase.in_([p.id for p in purchases] or [0]))):
        lines.setdefault(line.purchase_id, []).append({
            "sku": line.product_row.sku, "product": line.product_row.name,
            "quantity": line.quantity, "unit_price_fen": line.unit_price_fen,
            "amount_fen": line.amount_fen})
    refunds: dict = {}
    for refund in (PurchaseRefund.select().where(
            PurchaseRefund.purchase.in_([p.id for p in purchases] or [0]))
            .order_by(PurchaseRefund.id)):
        refunds.setdefault(refund.purchase_id, []).append(
            _row(refund, ["created_at", "amount_fen", "reason"]))
    customer_fields = [f for f in Customer._meta.sorted_field_names
                       if f not in ("search_text", "owner", "department", "created_by",
                                    "deleted_by")]
    return {
        "customer": _row(customer, customer_fields),
        "tags": [t.name for t in Tag.select().join(CustomerTag)
                 .where(CustomerTag.customer == customer.id)],
        "contacts": [_row(c, ["id", "name", "title", "mobile", "phone", "email", "wechat",
                              "preferred_channel", "consent_phone", "consent_sms",
                              "consent_email", "consent_wechat", "created_at"])
                     for c in contacts],
        "activities": [_row(a, ["id", "kind", "occurred_at", "summary", "outcome",
                                "next_followup_on"]) for a in activities],
        "tasks": [_row(t, ["id", "title", "notes", "due_on", "done_at", "created_at"])
                  for t in Task.select().where(Task.customer == customer.id).order_by(Task.id)],
        "purchases": [dict(_row(p, ["id", "purchased_at", "total_fen", "refunded_fen", "status"]),
                           lines=lines.get(p.id, []), refunds=refunds.get(p.id, []))
                      for p in purchases],
        "history": [_row(h, ["at", "action", "field", "old", "new"])
                    for h in AuditLog.select().where((AuditLog.entity == "customer")
                                                     & (AuditLog.entity_id == customer.id))
                    .order_by(AuditLog.at, AuditLog.id)],
    }


def anonymise(customer: Customer, user) -> None:
    label = f"已匿名 {customer.number}"
    with database.atomic():
        values = {f: "" for f in PERSONAL_CUSTOMER}
        values.update(name=label, consent_phone=False, consent_sms=False, consent_email=False,
                      consent_wechat=False, version=Customer.version + 1, updated_at=utcnow())
        Customer.update(**values).where(Customer.id == customer.id).execute()
        Contact.update(name="—", title="", mobile="", phone="", email="", wechat="",
                       consent_phone=False, consent_sms=False, consent_email=False,
                       consent_wechat=False).where(Contact.customer == customer.id).execute()
        Activity.update(summary="—").where(Activity.customer == customer.id).execute()
        Purchase.update(note="").where(Purchase.customer == customer.id).execute()
        PurchaseRefund.update(reason="—").where(PurchaseRefund.purchase.in_(
            Purchase.select(Purchase.id).where(Purchase.customer == customer.id))).execute()
        Task.update(title=label, notes="").where(Task.customer == customer.id).execute()
        CustomerTag.delete().where(CustomerTag.customer == customer.id).execute()
        contact_ids = [c.id for c in Contact.select(Contact.id)
                       .where(Contact.customer == customer.id)]
        mine = (AuditLog.entity == "customer") & (AuditLog.entity_id == customer.id)
        if contact_ids:
            mine = mine | ((AuditLog.entity == "contact") & AuditLog.entity_id.in_(contact_ids))
        AuditLog.update(old="***", new="***").where(
            mine & AuditLog.field.in_(PERSONAL_AUDIT_FIELDS)).execute()
        services.refresh_search(Customer.get_by_id(customer.id))
        audit.record("customer.anonymise", user, "customer", customer.id)
        emit("customer.anonymised", customer_id=customer.id, user_id=user.id)
