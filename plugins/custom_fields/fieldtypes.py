"""What each type of custom field is: how a typed text is parsed and checked (form, import,
filter), where its value is stored, how it is shown, and the WTForms field of the forms.

Values are handled in one canonical Python form per type:

==============  ==========================  =====================================
type            canonical value             stored in
==============  ==========================  =====================================
text            str (at most 200)           value_text
textarea        str (at most 5,000)         value_long (not indexed)
integer         int                         value_int
money           int, fen                    value_int
date            datetime.date               value_date
choice          str (the option)            value_text
multichoice     tuple of options, in the    value_text as ``|a|b|``
                field's order
boolean         bool                        value_int = 1 (False: no row)
phone           str, E.164                  value_text
email           str, normalised             value_text
url             str, http(s) only           value_text
==============  ==========================  =====================================

None (or "", (), False) is "no value": the row is deleted.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from crm.i18n import _l

TYPES = ("text", "textarea", "integer", "money", "date", "choice", "multichoice", "boolean",
         "phone", "email", "url")
TYPE_LABELS = {
    "text": _l("Text"), "textarea": _l("Long text"), "integer": _l("Whole number"),
    "money": _l("Amount of money"), "date": _l("Date"), "choice": _l("Single choice"),
    "multichoice": _l("Multiple choice"), "boolean": _l("Yes/no"), "phone": _l("Phone"),
    "email": _l("E-mail"), "url": _l("Web address (URL)"),
}
COLUMN = {"text": "value_text", "textarea": "value_long", "integer": "value_int",
          "money": "value_int", "date": "value_date", "choice": "value_text",
          "multichoice": "value_text", "boolean": "value_int", "phone": "value_text",
          "email": "value_text", "url": "value_text"}
TEXT_LIMITS = {"text": 200, "textarea": 5000, "url": 500}
INT_LIMIT = 999_999_999_999            # an integer field: |n| <= this
MONEY_LIMIT = 10_000_000_000_00        # 10,000,000,000 yuan, in fen
OPTION_LIMIT = 30                      # characters of one option
OPTIONS_MAX = {"choice": 100, "multichoice": 15}   # 15 x 31 + 1 fits value_text's 500
OPTION_SEPARATORS = re.compile(r"[,，、;；|]")
SENSITIVE = ("phone", "email")         # masked like the customer's own phone and e-mail
CHOICE_TYPES = ("choice", "multichoice")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def options(defn) -> list[tuple[str, str]]:
    """[(value, English label)] of a choice field (the value is the first, Chinese, label)."""
    try:
        raw = json.loads(defn.choices or "[]")
    except ValueError:
        return []
    return [(str(item[0]), str(item[1] if len(item) > 1 else "") or str(item[0]))
            for item in raw if item]


def option_label(defn, value: str, english: bool) -> str:
    for stored, label_en in options(defn):
        if stored == value:
            return label_en if english else stored
    return value


def _match_option(defn, text: str) -> str:
    word = _nfkc(text).casefold()
    for stored, label_en in options(defn):
        if word in (stored.casefold(), label_en.casefold()):
            return stored
    raise ValueError(str(_l("“%(value)s” is not one of the choices.", value=text[:50])))


def _integer(text: str) -> int:
    cleaned = _nfkc(text).replace(",", "").replace(" ", "")
    if not re.fullmatch(r"[+-]?\d+", cleaned):
        raise ValueError(str(_l("Not a whole number.")))
    number = int(cleaned)
    if abs(number) > INT_LIMIT:
        raise ValueError(str(_l("Too large a number.")))
    return number


def _money(text: str) -> int:
    cleaned = _nfkc(text)
    for sign in ("¥", "￥", "CNY", "RMB", "元", ",", " "):
        cleaned = cleaned.replace(sign, "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(str(_l("Not an amount: write it as 1234.50."))) from None
    if not amount.is_finite() or amount.normalize().as_tuple().exponent < -2:
        raise ValueError(str(_l("An amount has at most two decimals (fen).")))
    fen = int(amount * 100)
    if abs(fen) > MONEY_LIMIT:
        raise ValueError(str(_l("Too large an amount.")))
    return fen


def _date(text: str) -> dt.date:
    from crm.imports import cleaning
    try:
        return cleaning.date(text)
    except ValueError as exc:
        raise ValueError(str(exc.args[0])) from None


def _url(text: str) -> str:
    value = _nfkc(text)
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value):
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or "." not in (parts.hostname or "") \
            or any(ch.isspace() for ch in value):
        raise ValueError(str(_l("Not a web address: write it as https://example.com.")))
    if len(value) > TEXT_LIMITS["url"]:
        raise ValueError(str(_l("Too long (at most %(n)s characters).", n=TEXT_LIMITS["url"])))
    return value


def _boolean(text: str) -> bool:
    from crm.imports import cleaning
    try:
        return cleaning.boolean(text)
    except ValueError as exc:
        raise ValueError(str(exc.args[0])) from None


def _phone(text: str) -> str:
    from flask import current_app, has_app_context

    from crm.validation import normalise_phone
    region = current_app.config.get("PHONE_REGION", "CN") if has_app_context() else "CN"
    try:
        return normalise_phone(text, region)
    except ValueError as exc:
        raise ValueError(str(exc.args[0])) from None


def _email(text: str) -> str:
    from crm.validation import normalise_email
    try:
        return normalise_email(text)
    except ValueError as exc:
        raise ValueError(str(exc.args[0])) from None


def parse(defn, text):
    """The canonical value of a typed text (a form input, an import cell, a filter), or
    ValueError(message).  Empty text is None."""
    if isinstance(text, str):
        text = text.strip()
    if text in (None, ""):
        return None
    kind = defn.type
    if kind in ("text", "textarea"):
        if len(text) > TEXT_LIMITS[kind]:
            raise ValueError(str(_l("Too long (at most %(n)s characters).",
                                    n=TEXT_LIMITS[kind])))
        return text
    if kind == "integer":
        return _integer(text)
    if kind == "money":
        return _money(text)
    if kind == "date":
        return text if isinstance(text, dt.date) else _date(text)
    if kind == "choice":
        return _match_option(defn, text)
    if kind == "multichoice":
        parts = text if isinstance(text, (list, tuple)) else OPTION_SEPARATORS.split(text)
        chosen = {_match_option(defn, p) for p in parts if str(p).strip()}
        return tuple(v for v, _en in options(defn) if v in chosen) or None
    if kind == "boolean":
        return text if isinstance(text, bool) else _boolean(text)
    if kind == "phone":
        return _phone(text) or None
    if kind == "email":
        return _email(text) or None
    if kind == "url":
        return _url(text)
    raise ValueError(f"unknown type {kind!r}")


def coerce(defn, value):
    """A value as JSON carried it back (an import's undo): dates from ISO text, lists as
    tuples; anything else as it is."""
    if defn.type == "date" and isinstance(value, str) and value:
        return dt.date.fromisoformat(value[:10])
    if defn.type == "multichoice" and isinstance(value, list):
        return tuple(value) or None
    return value


def is_empty(value) -> bool:
    return value is None or value == "" or value is False or value == () or value == []


def to_row(defn, value) -> dict | None:
    """The value columns of the row for a canonical value; None: no row."""
    if is_empty(value):
        return None
    row = {"value_text": None, "value_long": None, "value_int": None, "value_date": None}
    kind = defn.type
    if kind == "multichoice":
        row["value_text"] = "|" + "|".join(value) + "|"
    elif kind == "boolean":
        row["value_int"] = 1
    else:
        row[COLUMN[kind]] = value
    return row


def from_row(defn, value_text, value_long, value_int, value_date):
    """The canonical value of a stored row (columns as selected)."""
    kind = defn.type
    if kind == "multichoice":
        return tuple(v for v in (value_text or "").split("|") if v) or None
    if kind == "boolean":
        return bool(value_int)
    if kind == "textarea":
        return value_long
    if kind in ("integer", "money"):
        return value_int
    if kind == "date":
        if isinstance(value_date, str):            # SQLite hands back text for a raw select
            return dt.date.fromisoformat(value_date[:10])
        return value_date
    return value_text


def empty_value(defn):
    """What "no row" means: False for yes/no, else None."""
    return False if defn.type == "boolean" else None


def money_text(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def display(defn, value, english: bool = False) -> str:
    """The value as people read it (list, customer page, export); "" for no value.  The text
    parses back to the same value (import of an export)."""
    if is_empty(value) and defn.type != "boolean":
        return ""
    kind = defn.type
    if kind == "boolean":
        return str(_l("yes")) if value else str(_l("no"))
    if kind == "money":
        return money_text(value)
    if kind == "integer":
        return str(value)
    if kind == "date":
        return value.isoformat()
    if kind == "choice":
        return option_label(defn, value, english)
    if kind == "multichoice":
        return ", ".join(option_label(defn, v, english) for v in value)
    if kind == "phone":
        from crm.validation import display_phone
        return display_phone(value)
    return str(value)


def audit_text(defn, value) -> str:
    """The value as the audit trail keeps it (language-neutral; phone and e-mail masked)."""
    if defn.type == "boolean":
        return str(bool(value))
    if is_empty(value):
        return ""
    if defn.type in SENSITIVE:
        from crm.customers.masking import mask
        return mask(defn.type, value)
    if defn.type == "money":
        return money_text(value)
    if defn.type == "multichoice":
        return ", ".join(value)
    if defn.type == "date":
        return value.isoformat()
    return str(value)


def form_value(defn, value):
    """A canonical value as the form shows it (the edit form's initial data)."""
    kind = defn.type
    if kind == "boolean":
        return bool(value)
    if kind == "multichoice":
        return list(value or ())
    if is_empty(value):
        return ""
    if kind == "money":
        return money_text(value).replace(",", "")
    if kind == "date":
        return value.isoformat()
    if kind == "integer":
        return str(value)
    if kind == "phone":
        from crm.validation import display_phone
        return display_phone(value)
    return value


# -- the WTForms field of the customer form ------------------------------------------------------

class Parsed:
    """A WTForms validator: the input must parse as the field's type (messages translated)."""

    def __init__(self, defn):
        self.defn = defn

    def __call__(self, form, field):
        from wtforms.validators import ValidationError
        try:
            parse(self.defn, field.data)
        except ValueError as exc:
            raise ValidationError(str(exc.args[0]) if exc.args else str(exc)) from None


def form_field(defn, label: str, help_text: str, required: bool):
    """The unbound WTForms field for ``defn`` (labels already in the reader's language)."""
    from wtforms import (BooleanField, SelectField, SelectMultipleField, StringField,
                         TextAreaField)
    from wtforms.validators import DataRequired, Optional
    from wtforms.widgets import CheckboxInput, ListWidget

    kind = defn.type
    presence = [DataRequired(_l("Required."))] if required else [Optional()]
    common = dict(label=label, description=help_text)
    if kind == "boolean":
        return BooleanField(**common)           # "required" is checked by crm_validate_customer
    english = not _zh_locale()
    choices = [(v, en if english else v) for v, en in options(defn)]
    if kind == "choice":
        return SelectField(choices=[("", "—")] + choices, validate_choice=False,
                           validators=presence + [Parsed(defn)], default="", **common)
    if kind == "multichoice":
        return SelectMultipleField(choices=choices, validate_choice=False,
                                   widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput(),
                                   validators=presence + [Parsed(defn)], **common)
    render_kw = {"textarea": {"rows": 3}, "integer": {"inputmode": "numeric"},
                 "money": {"inputmode": "decimal"}, "date": {"type": "date"},
                 "phone": {"type": "tel", "inputmode": "tel"}, "email": {"type": "email"},
                 "url": {"type": "url"}}.get(kind, {})
    field_class = TextAreaField if kind == "textarea" else StringField
    return field_class(validators=presence + [Parsed(defn)], render_kw=render_kw, **common)


def _zh_locale() -> bool:
    try:
        from flask_babel import get_locale
        return str(get_locale() or "zh_CN").startswith("zh")
    except Exception:  # noqa: BLE001 - outside a request: the default language
        return True
