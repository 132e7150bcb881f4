"""The core's models, in dependency order (what migrations/0001 was generated from)."""
from crm.accounts.models import Department, User
from crm.activities.models import Activity
from crm.audit.models import AuditLog
from crm.customers.models import Contact, Customer, CustomerTag, Sequence, Tag
from crm.events.models import EventDelivery, OutboxEvent
from crm.purchases.models import Product, Purchase, PurchaseLine

CORE_MODELS = [Department, User, Sequence, Customer, Contact, Tag, CustomerTag, Product, Purchase,
               PurchaseLine, Activity, OutboxEvent, EventDelivery, AuditLog]

__all__ = [m.__name__ for m in CORE_MODELS] + ["CORE_MODELS"]
