"""Finding the existing customer a row means, by the natural key the user picked: customer
number, normalised phone, e-mail, or exact normalised name.

The keys of every customer (trash included) are read once per run, with the ids of the
customers in the user's scope (``crm.access.scoped_customers``): a key that matches only
customers outside the scope (or in the trash) is reported as "not found or not yours", so an
import never updates what the user may not see, and never silently creates its duplicate.
"""
from __future__ import annotations

from crm import access
from crm.customers.models import Customer
from crm.imports.cleaning import normalise_name

KEY_COLUMNS = {"number": Customer.number, "phone": Customer.phone, "email": Customer.email,
               "name": Customer.name}


def normalise_key(key: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if key == "number":
        return value.upper()
    if key == "email":
        return value.lower()
    if key == "name":
        return normalise_name(value)
    return value          # phone: already E.164 (crm.validation.normalise_phone)


class KeyIndex:
    def __init__(self, key: str, user):
        self.key = key
        column = KEY_COLUMNS[key]
        self.ids: dict[str, list[int]] = {}
        for customer_id, value in (Customer.select(Customer.id, column)
                                   .where(column != "").tuples().iterator()):
            self.ids.setdefault(normalise_key(key, value), []).append(customer_id)
        self.scope = {cid for (cid,) in access.scoped_customers(user, Customer.id).tuples()
                      .iterator()}

    def find(self, value: str) -> tuple[list[int], int]:
        """(ids of matching customers in the scope, number of matches outside it)."""
        ids = self.ids.get(value, ())
        inside = [i for i in ids if i in self.scope]
        return inside, len(ids) - len(inside)

    def add(self, value: str, customer_id: int) -> None:
        if value:
            self.ids.setdefault(value, []).append(customer_id)
            self.scope.add(customer_id)
