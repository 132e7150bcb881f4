"""Custom fields' domain logic (no views): the definitions (create, change, archive, restore),
who sees and edits which field, reading and writing values (audited on the customer), the
list filters' expressions, and what happens to values when customers merge or are anonymised.
"""
from __future__ import annotations

import json
import re
import types

from peewee import fn

from crm.audit import services as audit
from crm.customers.models import Customer
from crm.db import database, utcnow
from crm.i18n import _l

from . import fieldtypes as ft
from .models import FieldDef, FieldValue

ROLES = ("admin", "manager", "sales", "service", "clerk")
DEFINITION_FIELDS = ("key", "label_zh", "label_en", "type", "choices", "required", "section",
                     "view_roles", "edit_roles", "help_zh", "help_en", "in_list", "filterable",
                     "position")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
RANGE_SUFFIXES = ("_min", "_max", "_from", "_to")


class Conflict(Exception):
    """The definition was changed by somebody else since it was loaded."""


class DefinitionError(Exception):
    """A definition cannot be saved: ``errors`` is {form field: message}."""

    def __init__(self, errors: dict):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# -- the definitions --------------------------------------------------------------------------

def definitions(include_archived: bool = False) -> list[FieldDef]:
    """Every definition in display order (cached for the request: hooks ask often)."""
    from flask import g, has_app_context
    cache = g.setdefault("_custom_fields", {}) if has_app_context() else {}
    key = "all" if include_archived else "active"
    if key not in cache:
        query = FieldDef.select()
        if not include_archived:
            query = query.where(FieldDef.archived_at.is_null())
        cache[key] = list(query.order_by(FieldDef.position, FieldDef.id))
    return cache[key]


def forget() -> None:
    from flask import g, has_app_context
    if has_app_context():
        g.pop("_custom_fields", None)


def roles_of(text: str) -> set[str]:
    return {r for r in (text or "").split(",") if r}


def may_view(defn, user) -> bool:
    roles = roles_of(defn.view_roles)
    return not roles or getattr(user, "role", None) in roles


def may_edit(defn, user) -> bool:
    roles = roles_of(defn.edit_roles)
    return may_view(defn, user) and (not roles or getattr(user, "role", None) in roles)


def visible(user) -> list[FieldDef]:
    return [d for d in definitions() if may_view(d, user)]


def editable(user) -> list[FieldDef]:
    return [d for d in definitions() if may_edit(d, user)]


def english() -> bool:
    return not ft._zh_locale()


def label(defn, in_english: bool | None = None) -> str:
    in_english = english() if in_english is None else in_english
    first, second = (defn.label_en, defn.label_zh) if in_english else (defn.label_zh,
                                                                       defn.label_en)
    return first or second or defn.key


def help_text(defn) -> str:
    first, second = (defn.help_en, defn.help_zh) if english() else (defn.help_zh, defn.help_en)
    return first or second


def name(defn) -> str:
    """The descriptor name: the form field, import and export column are ``x_cf_<key>``."""
    return "cf_" + defn.key


def _audit_label(defn) -> str:
    from flask import current_app, has_app_context
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN") if has_app_context() \
        else "zh_CN"
    return label(defn, in_english=not str(default).startswith("zh"))[:64]


def usage(field_ids=None) -> dict[int, int]:
    """{field id: number of customers with a value} (one GROUP BY)."""
    query = FieldValue.select(FieldValue.field, fn.COUNT(FieldValue.id)).group_by(FieldValue.field)
    if field_ids is not None:
        query = query.where(FieldValue.field.in_(list(field_ids)))
    return dict(query.tuples())


def option_usage(defn, value: str) -> int:
    column = FieldValue.value_text
    condition = (column == value) if defn.type == "choice" else column.contains(f"|{value}|")
    return FieldValue.select().where((FieldValue.field == defn.id) & condition).count()


def normalise_key(raw: str) -> str:
    """``"Security probe"`` -> ``security_probe``: lower case, spaces and dashes to ``_``."""
    key = re.sub(r"[\s\-./]+", "_", (raw or "").strip().lower())
    return re.sub(r"[^a-z0-9_]", "", key).strip("_")[:40]


def parse_choices(text: str) -> list[list[str]]:
    """The admin's options, one a line, ``中文 | English`` (the English label optional).
    Raises DefinitionError for an option that cannot be stored."""
    out, seen = [], set()
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        value, _bar, english_label = line.partition("|")
        value, english_label = value.strip(), english_label.strip()
        if not value:
            continue
        if ft.OPTION_SEPARATORS.search(value) or len(value) > ft.OPTION_LIMIT \
                or len(english_label) > 60:
            raise DefinitionError({"choices": str(_l(
                "“%(value)s”: an option has at most %(n)s characters and no , ; 、 or |.",
                value=value[:40], n=ft.OPTION_LIMIT))})
        if value.casefold() in seen:
            raise DefinitionError({"choices": str(_l("“%(value)s” is listed twice.",
                                                     value=value))})
        seen.add(value.casefold())
        out.append([value, english_label])
    return out


def choices_text(defn) -> str:
    return "\n".join(f"{v} | {en}" if en and en != v else v for v, en in ft.options(defn))


def _check(data: dict, current: FieldDef | None) -> dict:
    """The cleaned definition values, or DefinitionError with every problem found."""
    errors = {}
    values = {k: data.get(k) for k in DEFINITION_FIELDS if k in data}
    for text_field in ("label_zh", "label_en", "section", "help_zh", "help_en"):
        values[text_field] = (values.get(text_field) or "").strip()
    if not values["label_zh"] and not values["label_en"]:
        errors["label_zh"] = str(_l("Give the field a name in Chinese or in English."))
    key = normalise_key(values.get("key") or "")
    if not key and current is not None:
        key = current.key                             # left empty on an edit: unchanged
    if not key:
        key = normalise_key(values["label_en"])
        if key.endswith(RANGE_SUFFIXES):              # made, not typed: make it usable
            key = key[:34] + "_field"
    if not key:
        key = f"field_{(FieldDef.select(fn.MAX(FieldDef.id)).scalar() or 0) + 1}"
    if key and not key[0].isalpha():
        key = "f_" + key
    if not KEY.match(key or ""):
        errors["key"] = str(_l("Use letters, digits and _ (start with a letter)."))
    elif key.endswith(RANGE_SUFFIXES):      # x_cf_<key>_min is the range filter of <key>
        errors["key"] = str(_l("A key may not end with _min, _max, _from or _to."))
    else:
        clash = FieldDef.select().where(fn.LOWER(FieldDef.key) == key)
        if current is not None:
            clash = clash.where(FieldDef.id != current.id)
        if clash.exists():
            errors["key"] = str(_l("Another field (perhaps an archived one) has this key."))
    values["key"] = key
    if values.get("type") not in ft.TYPES:
        errors["type"] = str(_l("Choose a type."))
    kind = values.get("type")
    try:
        choices = parse_choices(values.get("choices") or "") if kind in ft.CHOICE_TYPES else []
    except DefinitionError as exc:
        errors.update(exc.errors)
        choices = []
    if kind in ft.CHOICE_TYPES and "choices" not in errors:
        if not choices:
            errors["choices"] = str(_l("A choice field needs at least one option."))
        elif len(choices) > ft.OPTIONS_MAX[kind]:
            errors["choices"] = str(_l("At most %(n)s options.", n=ft.OPTIONS_MAX[kind]))
    values["choices"] = json.dumps(choices, ensure_ascii=False)
    for roles in ("view_roles", "edit_roles"):
        chosen = values.get(roles) or []
        chosen = chosen if isinstance(chosen, (list, tuple)) else roles_of(chosen)
        values[roles] = ",".join(r for r in ROLES if r in chosen)
    values["required"] = bool(values.get("required"))
    values["in_list"] = bool(values.get("in_list"))
    values["filterable"] = bool(values.get("filterable"))
    try:
        values["position"] = int(values.get("position") if values.get("position")
                                 not in (None, "") else 100)
    except (TypeError, ValueError):
        values["position"] = 100
    if current is not None and not errors:
        errors.update(_check_change(current, values, choices))
    if errors:
        raise DefinitionError(errors)
    return values


def _check_change(current: FieldDef, values: dict, choices: list) -> dict:
    """What a change may not do to stored values: change the type of a field that has values,
    or drop an option some customer has.  (Renaming never touches values.)"""
    errors = {}
    count = usage([current.id]).get(current.id, 0)
    if values["type"] != current.type and count:
        errors["type"] = str(_l(
            "%(n)s customers have a value in this field: its type cannot change. Archive it "
            "and add a new field instead.", n=count))
    elif current.type in ft.CHOICE_TYPES and count:
        kept = {v for v, _en in choices}
        dropped = [v for v, _en in ft.options(current) if v not in kept]
        in_use = [(v, option_usage(current, v)) for v in dropped]
        in_use = [(v, n) for v, n in in_use if n]
        if in_use:
            errors["choices"] = str(_l(
                "Options still in use cannot be removed or renamed: %(list)s. Change those "
                "customers first, or archive the field.",
                list=", ".join(f"“{v}” ({n})" for v, n in in_use)))
    return errors


def create_field(data: dict, user) -> FieldDef:
    with database.atomic():
        values = _check(data, None)
        defn = FieldDef.create(**values)
        audit.record("create", user, "custom_field", defn.id,
                     [(k, "", v) for k, v in values.items() if v not in ("", None, False, "[]")])
    forget()
    return defn


def update_field(field_id: int, expected_version: int, data: dict, user) -> FieldDef:
    with database.atomic():
        current = FieldDef.get_by_id(field_id)
        if current.version != expected_version:
            raise Conflict()
        values = _check(data, current)
        changes = [(k, getattr(current, k), v) for k, v in values.items()
                   if getattr(current, k) != v]
        renamed = [old for k, old, _new in changes if k in ("label_zh", "label_en") and old]
        if renamed:
            former = json.loads(current.former_labels or "[]")
            values["former_labels"] = json.dumps(sorted(set(former) | set(renamed)),
                                                 ensure_ascii=False)
        updated = (FieldDef.update(version=FieldDef.version + 1, updated_at=utcnow(), **values)
                   .where((FieldDef.id == field_id) & (FieldDef.version == expected_version))
                   .execute())
        if not updated:
            raise Conflict()
        if changes:
            audit.record("update", user, "custom_field", field_id, changes)
    forget()
    return FieldDef.get_by_id(field_id)


def archive(defn: FieldDef, user) -> None:
    """Hide the field everywhere; its values stay (restore brings them back)."""
    with database.atomic():
        FieldDef.update(archived_at=utcnow(), version=FieldDef.version + 1).where(
            (FieldDef.id == defn.id) & FieldDef.archived_at.is_null()).execute()
        audit.record("custom_fields.archive", user, "custom_field", defn.id,
                     [("values", "", usage([defn.id]).get(defn.id, 0))])
    forget()


def restore(defn: FieldDef, user) -> None:
    with database.atomic():
        FieldDef.update(archived_at=None, version=FieldDef.version + 1).where(
            FieldDef.id == defn.id).execute()
        audit.record("custom_fields.restore", user, "custom_field", defn.id)
    forget()


# -- values -----------------------------------------------------------------------------------

_VALUE_COLUMNS = (FieldValue.value_text, FieldValue.value_long, FieldValue.value_int,
                  FieldValue.value_date)


def get_value(defn, customer_id: int):
    row = (FieldValue.select(*_VALUE_COLUMNS)
           .where((FieldValue.field == defn.id) & (FieldValue.customer == customer_id))
           .tuples().first())
    return ft.empty_value(defn) if row is None else ft.from_row(defn, *row)


def values_for(defn, customer_ids) -> dict:
    """{customer id: canonical value} of one field for many customers: one query."""
    ids = list(customer_ids)
    if not ids:
        return {}
    rows = (FieldValue.select(FieldValue.customer, *_VALUE_COLUMNS)
            .where((FieldValue.field == defn.id) & (FieldValue.customer.in_(ids))).tuples())
    return {row[0]: ft.from_row(defn, *row[1:]) for row in rows}


def values_of_customer(customer_id: int, defns) -> dict:
    """{field id: canonical value} of one customer's fields: one query."""
    by_id = {d.id: d for d in defns}
    if not by_id:
        return {}
    rows = (FieldValue.select(FieldValue.field, *_VALUE_COLUMNS)
            .where((FieldValue.customer == customer_id) & FieldValue.field.in_(list(by_id)))
            .tuples())
    return {row[0]: ft.from_row(by_id[row[0]], *row[1:]) for row in rows}


def set_value(defn, customer, value, user, action: str = "update") -> bool:
    """Make the customer's value ``value`` (canonical; empty deletes the row), audited on the
    customer as one field change.  Returns whether anything changed."""
    customer_id = getattr(customer, "id", customer)
    old = get_value(defn, customer_id)
    if ft.is_empty(old) and ft.is_empty(value) or old == value:
        return False
    row = ft.to_row(defn, value)
    if row is None:
        FieldValue.delete().where((FieldValue.field == defn.id)
                                  & (FieldValue.customer == customer_id)).execute()
    else:
        updated = FieldValue.update(updated_at=utcnow(), **row).where(
            (FieldValue.field == defn.id) & (FieldValue.customer == customer_id)).execute()
        if not updated:
            FieldValue.create(field=defn.id, customer=customer_id, **row)
    _audit(defn, action, user, customer_id, ft.audit_text(defn, old), ft.audit_text(defn, value))
    return True


HIDDEN_ENTITY = "custom_fields_value"


def _audit(defn, action, user, customer_id, old: str, new: str) -> None:
    """A change on the customer's history.  A field only some roles see is shown there as
    ``***`` (the history is everyone's who sees the customer); its values are kept on the
    administrators' audit log, entity ``custom_fields_value`` with the customer's id."""
    label_text = _audit_label(defn)
    if roles_of(defn.view_roles):
        audit.record(action, user, "customer", customer_id, [(label_text, "***", "***")])
        audit.record(action, user, HIDDEN_ENTITY, customer_id, [(label_text, old, new)])
    else:
        audit.record(action, user, "customer", customer_id, [(label_text, old, new)])


# -- list filters --------------------------------------------------------------------------------

BROAD = 0.1     # a filter matching more than this share of the customers does not drive


def _customers(condition, estimate: bool = True):
    """``Customer.id IN (<the field's customers matching condition(model)>)``, an index range
    on the covering index.  Few matches: the list drives its query from them (seeks by id).
    When a cheap count on the covering index says it matches many (more than ``BROAD`` of the
    customers), ``(Customer.id + 0) IN (...)``: the same set, but SQLite can no longer use it
    to drive, so the page walks the list's own order and stops after its 50 rows instead of
    seeking and sorting every match (measured at 100,000 customers, a 20 % filter: count and
    page 90 ms -> 54 ms; 50 %: 156 ms -> 109 ms)."""
    matching = FieldValue.select(FieldValue.customer).where(condition(FieldValue))
    if estimate:
        matches = FieldValue.select().where(condition(FieldValue)).count()
        total = Customer.select(fn.MAX(Customer.id)).scalar() or 0
        if total and matches > total * BROAD:
            return (Customer.id + 0).in_(matching)
    return Customer.id.in_(matching)


PAIRS = {"min": "max", "max": "min", "from": "to", "to": "from"}


def _other_bound(defn, bound: str):
    """The parsed value of the range's other bound in this request's arguments, or None
    (absent, or not a value: then each bound stands alone)."""
    from flask import has_request_context, request
    if not has_request_context() or bound not in PAIRS:
        return None
    text = (request.args.get(f"x_{name(defn)}_{PAIRS[bound]}") or "").strip()[:100]
    try:
        return ft.parse(defn, text) if text else None
    except ValueError:
        return None


def filter_where(defn, bound: str, text: str):
    """The expression of a list filter on ``defn``: ``bound`` is "" (a text, a choice, yes/no),
    "min"/"max" (numbers, money) or "from"/"to" (dates).  ValueError for a value that does not
    parse (the list shows its message)."""
    kind = defn.type

    def mine(model):
        return model.field == defn.id

    if kind == "boolean":
        if text not in ("1", "0"):
            raise ValueError(str(_l("Choose yes or no.")))
        yes = _customers(lambda m: mine(m) & (m.value_int == 1))
        return yes if text == "1" else ~yes
    if kind in ("integer", "money", "date"):
        value = ft.parse(defn, text)
        column = "value_date" if kind == "date" else "value_int"
        low = bound in ("min", "from")
        # Both bounds given: one index range from the lower bound's filter, and the upper
        # bound's adds nothing.  Two IN lists would make SQLite drive the query from the wider
        # one (measured: a 10 % range between two bounds took 5x a one-sided range).
        other = _other_bound(defn, bound)
        if other is not None:
            if not low:
                return None
            return _customers(lambda m: mine(m) & (getattr(m, column) >= value)
                              & (getattr(m, column) <= other))
        if low:
            return _customers(lambda m: mine(m) & (getattr(m, column) >= value))
        return _customers(lambda m: mine(m) & (getattr(m, column) <= value))
    if kind == "choice":
        option = ft._match_option(defn, text)
        return _customers(lambda m: mine(m) & (m.value_text == option))
    if kind == "multichoice":
        option = ft._match_option(defn, text)
        return _customers(lambda m: mine(m) & m.value_text.contains(f"|{option}|"))
    column = "value_long" if kind == "textarea" else "value_text"
    if kind == "phone":
        text = re.sub(r"\D", "", text) or text
    # "contains" scans the field's index entries: no estimate (it would scan them twice)
    return _customers(lambda m: mine(m) & getattr(m, column).contains(text), estimate=False)


# -- events ---------------------------------------------------------------------------------------

def _by(user_id):
    return types.SimpleNamespace(id=user_id) if user_id else None


def merged(winner_id: int, loser_id: int, user_id=None) -> int:
    """The loser's values fill the winner's empty fields (moved, audited on the winner); a
    value the winner has too stays with the loser (in the trash, restorable).  Idempotent."""
    defns = {d.id: d for d in definitions(include_archived=True)}
    moved = 0
    with database.atomic():
        taken = {f for (f,) in FieldValue.select(FieldValue.field)
                 .where(FieldValue.customer == winner_id).tuples()}
        for row in FieldValue.select().where(FieldValue.customer == loser_id):
            if row.field_id in taken:
                continue
            FieldValue.update(customer=winner_id).where(FieldValue.id == row.id).execute()
            defn = defns.get(row.field_id)
            if defn is not None:
                value = ft.from_row(defn, row.value_text, row.value_long, row.value_int,
                                    row.value_date)
                _audit(defn, "update", _by(user_id), winner_id, "", ft.audit_text(defn, value))
            moved += 1
    return moved


def anonymised(customer_id: int) -> None:
    """Personal data goes: every custom value of the customer, and the old/new of their
    audited changes (``***``, as the core does for its own fields)."""
    from crm.audit.models import AuditLog
    labels = set()
    for defn in definitions(include_archived=True):
        labels |= {defn.label_zh[:64], defn.label_en[:64]}
        labels |= {str(x)[:64] for x in json.loads(defn.former_labels or "[]")}
    labels.discard("")
    with database.atomic():
        FieldValue.delete().where(FieldValue.customer == customer_id).execute()
        if labels:
            AuditLog.update(old="***", new="***").where(
                AuditLog.entity.in_(["customer", HIDDEN_ENTITY])
                & (AuditLog.entity_id == customer_id)
                & AuditLog.field.in_(sorted(labels))).execute()


def purged(customer_id: int) -> None:
    FieldValue.delete().where(FieldValue.customer == customer_id).execute()
