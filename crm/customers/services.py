"""Customer domain logic (no Flask views here): create, update with optimistic locking,
trash and restore, contacts, tags, duplicates.  Every change is audited and emits an event
in the same transaction."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from peewee import fn

from crm.audit import services as audit
from crm.customers import numbering, queries, search, search_index, search_tokens
from crm.customers.models import Contact, Customer, CustomerTag, Tag
from crm.db import database, utcnow
from crm.events.services import emit

EDITABLE = ("kind", "name", "phone", "email", "industry", "size", "region", "founded_on",
            "value_class", "owner", "source", "preferred_channel", "address", "notes",
            "consent_phone", "consent_sms", "consent_email", "consent_wechat")
CONTACT_FIELDS = ("name", "title", "mobile", "phone", "email", "wechat", "preferred_channel",
                  "consent_phone", "consent_sms", "consent_email", "consent_wechat", "is_primary")


class Conflict(Exception):
    """Somebody saved the record since it was loaded: ``current`` is what is stored now."""
    def __init__(self, current, changes):
        super().__init__("stale version")
        self.current = current
        self.changes = changes


@dataclass
class Settings:
    number_pattern: str = "C{year:04d}{month:02d}{seq:04d}"
    timezone: str = "Asia/Shanghai"


def _local_now(tz: str) -> dt.datetime:
    return dt.datetime.now(ZoneInfo(tz))


def _owner_id(value):
    return getattr(value, "id", value) or None


def refresh_search(customer: Customer, contacts=None) -> None:
    """Recompute the customer's search tokens (customers/search_tokens.py) in this transaction."""
    if contacts is None:
        contacts = list(Contact.select().where(Contact.customer == customer.id))
    search_index.replace(customer.id, search_tokens.customer_tokens(customer, contacts))


def parse_tags(raw: str) -> list[str]:
    raw = (raw or "").replace("，", ",").replace("、", ",")
    return list(dict.fromkeys(t.strip()[:50] for t in raw.split(",") if t.strip()))


def set_tags(customer: Customer, names: list[str]) -> tuple[list[str], list[str]]:
    """Make the customer's tags exactly ``names``; returns (old, new) names."""
    old = [t.name for t in Tag.select().join(CustomerTag).where(CustomerTag.customer == customer.id)
           .order_by(Tag.name)]
    if sorted(old) == sorted(names):
        return old, old
    CustomerTag.delete().where(CustomerTag.customer == customer.id).execute()
    for name in names:
        tag, _ = Tag.get_or_create(name=name)
        CustomerTag.insert(customer=customer.id, tag=tag.id).on_conflict_ignore().execute()
    return old, sorted(names)


def create_customer(data: dict, user, settings: Settings, tags=(), extra_save=()) -> Customer:
    """``data``: cleaned values of EDITABLE fields.  ``extra_save``: plugin (FormField, value)."""
    with database.atomic():
        number = numbering.next_number("customer", settings.number_pattern,
                                       _local_now(settings.timezone))
        owner_id = _owner_id(data.get("owner")) or user.id
        from crm.accounts.models import User
        owner = User.get_or_none(User.id == owner_id)
        values = {k: v for k, v in data.items() if k in EDITABLE}
        values["owner"] = owner_id
        customer = Customer.create(number=number, created_by=user.id,
                                   department=owner.department_id if owner else None,
                                   **values)
        if tags:
            set_tags(customer, list(tags))
        refresh_search(customer, [])
        for form_field, value in extra_save:
            form_field.save(customer, value)
        audit.record("create", user, "customer", customer.id,
                     [(k, "", values[k]) for k in values if values[k] not in ("", None, False)])
        queries.forget_choices()
        emit("customer.created", customer_id=customer.id, number=number, user_id=user.id)
    return customer


def update_customer(customer_id: int, data: dict, expected_version: int, user, tags=None,
                    extra_save=()) -> Customer:
    """Save ``data`` if the stored version is still ``expected_version``, else raise Conflict."""
    with database.atomic():
        current = Customer.get_by_id(customer_id)
        values = {k: v for k, v in data.items() if k in EDITABLE}
        if "owner" in values:
            values["owner"] = _owner_id(values["owner"])
        changes = [(k, getattr(current, k + "_id" if k == "owner" else k), v)
                   for k, v in values.items()
                   if getattr(current, k + "_id" if k == "owner" else k) != v]
        if current.version != expected_version:
            raise Conflict(current, changes)
        updated = (Customer.update(version=Customer.version + 1, updated_at=utcnow(), **values)
                   .where((Customer.id == customer_id) & (Customer.version == expected_version))
                   .execute())
        if not updated:     # lost a race between the read and the write
            raise Conflict(Customer.get_by_id(customer_id), changes)
        if "owner" in values and values["owner"] != current.owner_id:
            from crm.accounts.models import User
            owner = User.get_or_none(User.id == values["owner"])
            Customer.update(department=owner.department_id if owner else None).where(
                Customer.id == customer_id).execute()
        customer = Customer.get_by_id(customer_id)
        if tags is not None:
            old, new = set_tags(customer, list(tags))
            if old != new:
                changes.append(("tags", ", ".join(old), ", ".join(new)))
        refresh_search(customer)
        # a plugin's save returns whether it changed anything (it audits its own values)
        extra_changed = ["x_" + form_field.name for form_field, value in extra_save
                         if form_field.save(customer, value)]
        if changes:
            audit.record("update", user, "customer", customer_id, changes)
            queries.forget_choices()
        if changes or extra_changed:
            emit("customer.updated", customer_id=customer_id, user_id=user.id,
                 fields=[c[0] for c in changes] + extra_changed)
    return customer


def trash(customer: Customer, user) -> None:
    with database.atomic():
        Customer.update(deleted_at=utcnow(), deleted_by=user.id, version=Customer.version + 1) \
            .where(Customer.id == customer.id).execute()
        audit.record("delete", user, "customer", customer.id)
        queries.forget_choices()
        emit("customer.deleted", customer_id=customer.id, user_id=user.id)


def restore(customer: Customer, user) -> None:
    with database.atomic():
        Customer.update(deleted_at=None, deleted_by=None, version=Customer.version + 1) \
            .where(Customer.id == customer.id).execute()
        audit.record("restore", user, "customer", customer.id)
        queries.forget_choices()
        emit("customer.restored", customer_id=customer.id, user_id=user.id)


def purge(customer: Customer, user) -> None:
    """Delete a trashed customer for good: its contacts, activities, purchases, tags, shares and
    search tokens go with it (ON DELETE CASCADE); the audit keeps who purged what, and plugins
    delete their own rows on ``customer.purged``."""
    with database.atomic():
        audit.record("customer.purge", user, "customer", customer.id,
                     [("number", customer.number, ""), ("name", customer.name, "")])
        queries.forget_choices()
        emit("customer.purged", customer_id=customer.id, user_id=user.id)
        Customer.delete().where(Customer.id == customer.id).execute()


# -- contacts -------------------------------------------------------------------------------

def save_contact(customer: Customer, data: dict, user, contact: Contact | None = None,
                 expected_version: int | None = None) -> Contact:
    values = {k: v for k, v in data.items() if k in CONTACT_FIELDS}
    with database.atomic():
        if values.get("is_primary"):
            Contact.update(is_primary=False).where(Contact.customer == customer.id).execute()
        if contact is None:
            contact = Contact.create(customer=customer.id, **values)
            audit.record("create", user, "contact", contact.id,
                         [(k, "", v) for k, v in values.items() if v not in ("", None, False)])
        else:
            changes = [(k, getattr(contact, k), v) for k, v in values.items()
                       if getattr(contact, k) != v]
            updated = (Contact.update(version=Contact.version + 1, **values)
                       .where((Contact.id == contact.id) & (Contact.version == expected_version))
                       .execute())
            if not updated:
                raise Conflict(Contact.get_by_id(contact.id), changes)
            if changes:
                audit.record("update", user, "contact", contact.id, changes)
            contact = Contact.get_by_id(contact.id)
        refresh_search(customer)
        emit("customer.updated", customer_id=customer.id, user_id=user.id, fields=["contacts"])
    return contact


def delete_contact(customer: Customer, contact: Contact, user) -> None:
    with database.atomic():
        contact.delete_instance()
        audit.record("delete", user, "contact", contact.id, [("name", contact.name, "")])
        refresh_search(customer)
        emit("customer.updated", customer_id=customer.id, user_id=user.id, fields=["contacts"])


# -- duplicates -------------------------------------------------------------------------------

def likely_duplicates(scope, name: str = "", phone: str = "", email: str = "",
                      exclude_id: int | None = None, limit: int = 5):
    """Customers in ``scope`` (a query) that look like the one being typed, with the reason.

    Same phone, same e-mail, same name or pinyin, or one name containing the other.
    Returns a list of (customer, reason) with at most ``limit`` entries.
    """
    conditions = []
    name = (name or "").strip()
    if phone:
        conditions.append(("phone", Customer.phone == phone))
    if email:
        conditions.append(("email", fn.LOWER(Customer.email) == email.lower()))
    if len(name) >= 2:
        core = _name_core(name)
        conditions.append(("name", fn.LOWER(Customer.name) == name.lower()))
        if len(core) >= 2:
            conditions.append(("similar", Customer.name.contains(core)))
        for key in sorted(search.pinyin_keys(name), key=len, reverse=True)[:1]:
            if len(key) >= 4:   # the same full pinyin (张伟 / 章伟): an exact token
                conditions.append(("pinyin", search_index.holding(key)))
    found, seen = [], set()
    for reason, condition in conditions:
        query = scope.where(condition)
        if exclude_id:
            query = query.where(Customer.id != exclude_id)
        for customer in query.limit(limit):
            if customer.id not in seen:
                seen.add(customer.id)
                found.append((customer, reason))
        if len(found) >= limit:
            break
    return found[:limit]


_LEGAL_SUFFIXES = ("有限责任公司", "股份有限公司", "有限公司", "分公司", "集团", "公司",
                   "co., ltd.", "co.,ltd.", "ltd.", "ltd", "inc.", "inc", "llc", "gmbh")
_CITY_PREFIX = ("北京", "上海", "天津", "重庆", "广州", "深圳", "杭州", "南京", "苏州", "成都",
                "武汉", "西安", "长沙", "郑州", "济南", "青岛", "厦门", "福州", "合肥", "宁波")


def _name_core(name: str) -> str:
    """The distinctive part of a company name: 杭州华信科技有限公司 -> 华信科技."""
    core = name.strip()
    lowered = core.lower()
    for suffix in _LEGAL_SUFFIXES:
        if lowered.endswith(suffix):
            core = core[: len(core) - len(suffix)].strip(" ,.")
            break
    for prefix in _CITY_PREFIX:
        if core.startswith(prefix) and len(core) > len(prefix) + 1:
            core = core[len(prefix):]
            break
    return core
