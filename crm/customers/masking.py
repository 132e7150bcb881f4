"""Sensitive fields (China's PIPL in mind): phone numbers, e-mail addresses and WeChat ids.

Roles with ``customer.unmasked`` see them in full; everybody else sees them masked
(``138****5678``, ``z***@example.com``), and roles with ``customer.reveal`` may reveal one value
with one click: a POST that is audited (who, which record and field, when) and that shows the
value in that response only.  Plugins vote on both permissions like on any other
(``crm_permission_allowed``), with the customer as the resource.

Templates call ``sensitive(value, customer, field, contact=None)`` (a Jinja global, see
crm/web/setup.py), which renders the value, the masked value, or the masked value with its
reveal button.  ``mask(field, value)`` is the one masking function: exports and plugins use it.
"""
from __future__ import annotations

import phonenumbers
from flask import g, render_template
from markupsafe import Markup

from crm import access
from crm.audit import services as audit
from crm.validation import display_phone

CUSTOMER_FIELDS = ("phone", "email")
CONTACT_FIELDS = ("mobile", "phone", "email", "wechat")
PHONE_FIELDS = ("phone", "mobile")


def mask_phone(e164: str) -> str:
    """``+8613812345678`` -> ``138****5678``: the first 3 and last 4 digits of the national
    number (the last 2 of a short one), so that staff can still tell numbers apart."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
        digits = phonenumbers.national_significant_number(number)
        prefix = "" if number.country_code == 86 else f"+{number.country_code} "
    except phonenumbers.NumberParseException:
        digits, prefix = "".join(ch for ch in e164 if ch.isdigit()), ""
    if len(digits) >= 8:
        return f"{prefix}{digits[:3]}****{digits[-4:]}"
    return f"{prefix}****{digits[-2:]}" if len(digits) > 2 else "****"


def mask_email(email: str) -> str:
    """``zhang.wei@example.com`` -> ``z***@example.com``."""
    if not email:
        return ""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_text(value: str) -> str:
    return f"{value[:1]}***" if value else ""


def mask(field: str, value: str) -> str:
    if field in PHONE_FIELDS:
        return mask_phone(value)
    if field == "email":
        return mask_email(value)
    return mask_text(value)


def display(field: str, value: str) -> str:
    return display_phone(value) if field in PHONE_FIELDS else (value or "")


def mode(user, customer) -> str:
    """``plain``, ``reveal`` (masked, may reveal) or ``masked`` for ``user`` on ``customer``
    (cached per request: a page shows many values of one customer)."""
    cache = g.setdefault("_mask_mode", {})
    key = (getattr(user, "id", None), customer.id)
    if key not in cache:
        if access.can(user, "customer.unmasked", customer):
            cache[key] = "plain"
        elif access.can(user, "customer.reveal", customer):
            cache[key] = "reveal"
        else:
            cache[key] = "masked"
    return cache[key]


def reveal(user, customer, field: str, contact=None) -> str:
    """The value, for a user allowed to reveal it; the reveal is audited first."""
    entity = contact if contact is not None else customer
    value = getattr(entity, field) or ""
    audit.record("customer.reveal", user, "customer", customer.id,
                 [(f"contact.{field}" if contact is not None else field, "",
                   f"#{contact.id}" if contact is not None else "")])
    return value


def sensitive(value, customer, field: str, contact=None, reveal: bool = True, user=None):
    """The HTML for one sensitive value on a page (see the module docstring); ``reveal=False``
    for values that have no reveal of their own (old values in the change history)."""
    from flask_login import current_user

    from crm.web.setup import render_value
    user = user or current_user
    if not value:
        return ""
    name = f"{'contact' if contact is not None else 'customer'}.{field}"
    how = mode(user, customer)
    if how == "plain":
        context = {"contact": contact} if contact is not None else {"customer": customer}
        return render_value(name, display(field, value), **context)
    return Markup(render_template("customers/_masked.html", masked=mask(field, value),
                                  customer=customer, field=field, contact=contact,
                                  can_reveal=reveal and how == "reveal"))
