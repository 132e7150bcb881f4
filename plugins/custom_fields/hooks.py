"""Custom fields' hooks: the entry point of the plugin (``custom_fields =
plugins.custom_fields.hooks``).

Only public hooks: its tables and migrations, a permission and the admin pages, the customer
form's fields (validated like the core's), a panel on the customer page, list columns (also
offered by the export), list filters (``crm_customer_list_filters``), import columns, the
required check of imports, and the events that move or erase values (merge, anonymise, purge).
"""
from __future__ import annotations

import os

from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from crm import (Column, FormField, ImportColumn, ListFilter, NavItem, Panel, Permission,
                 ValidationError, hookimpl)
from crm.migrate import MigrationSet

from . import fieldtypes as ft
from . import services
from .models import MODELS

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
ADMIN = "custom_fields.admin"


@hookimpl
def crm_register_models():
    return list(MODELS)


@hookimpl
def crm_register_migrations():
    return [MigrationSet("custom_fields", MIGRATIONS)]


@hookimpl
def crm_register_blueprints(app):
    from .views import bp
    return [bp]


@hookimpl
def crm_register_permissions():
    return [Permission(ADMIN, _l("Define the custom fields of customers"), ("admin",))]


@hookimpl
def crm_nav_items(user):
    return [NavItem(_l("Custom fields"), "custom_fields.index", 88, permission=ADMIN)]


# -- the customer page -----------------------------------------------------------------------------

def _shown(defn, value, customer, user) -> str:
    """A value as ``user`` may see it: phone and e-mail masked like the customer's own."""
    text = ft.display(defn, value, services.english())
    if text and defn.type in ft.SENSITIVE:
        from crm.customers import masking
        if masking.mode(user, customer) != "plain":
            return masking.mask(defn.type, value)
    return text


def _render_panel(customer, user):
    defns = services.visible(user)
    values = services.values_of_customer(customer.id, defns)
    sections: dict[str, list] = {}
    for defn in defns:
        value = values.get(defn.id, ft.empty_value(defn))
        text = _shown(defn, value, customer, user)
        link = value if defn.type == "url" and text else None
        sections.setdefault(defn.section, []).append(
            dict(label=services.label(defn), text=text, link=link,
                 help=services.help_text(defn)))
    return Markup(render_template("custom_fields/_panel.html", sections=sections))


@hookimpl
def crm_customer_panels(customer, user):
    if not services.visible(user):
        return []
    return [Panel("custom_fields", _("More details"), _render_panel, 15)]


# -- the customer list and the export --------------------------------------------------------------

def _column_loader(defn, user):
    def load(customers):
        values = services.values_for(defn, [c.id for c in customers])
        by_id = {c.id: c for c in customers}
        return {cid: _shown(defn, value, by_id[cid], user) for cid, value in values.items()
                if cid in by_id}
    return load


@hookimpl
def crm_customer_list_columns(user):
    return [Column(services.name(d), services.label(d), _column_loader(d, user),
                   200 + d.position, listed=d.in_list)
            for d in services.visible(user)]


def _where(defn, bound):
    return lambda text: services.filter_where(defn, bound, text)


@hookimpl
def crm_customer_list_filters(user):
    filters = []
    for defn in services.visible(user):
        if not defn.filterable:
            continue
        order = 200 + defn.position
        title = services.label(defn)
        base = services.name(defn)
        if defn.type in ("integer", "money"):
            filters += [ListFilter(base + "_min", _("%(label)s from", label=title),
                                   _where(defn, "min"), "number", order=order),
                        ListFilter(base + "_max", _("%(label)s to", label=title),
                                   _where(defn, "max"), "number", order=order)]
        elif defn.type == "date":
            filters += [ListFilter(base + "_from", _("%(label)s from", label=title),
                                   _where(defn, "from"), "date", order=order),
                        ListFilter(base + "_to", _("%(label)s to", label=title),
                                   _where(defn, "to"), "date", order=order)]
        elif defn.type == "boolean":
            filters.append(ListFilter(base, title, _where(defn, ""),
                                      choices=(("1", _("yes")), ("0", _("no"))), order=order))
        elif defn.type in ft.CHOICE_TYPES:
            english = services.english()
            filters.append(ListFilter(base, title, _where(defn, ""), order=order, choices=tuple(
                (v, en if english else v) for v, en in ft.options(defn))))
        else:
            filters.append(ListFilter(base, title, _where(defn, ""), order=order))
    return filters


# -- the customer form ----------------------------------------------------------------------------

def _form_saver(defn, user, action):
    def save(customer, data) -> bool:
        return services.set_value(defn, customer, ft.parse(defn, data), user, action)
    return save


def _form_loader(defn):
    return lambda customer: ft.form_value(defn, services.get_value(defn, customer.id))


@hookimpl
def crm_customer_form_fields(customer, user):
    action = "create" if customer is None else "update"
    return [FormField(services.name(d),
                      ft.form_field(d, services.label(d), services.help_text(d), d.required),
                      load=_form_loader(d), save=_form_saver(d, user, action),
                      section=d.section, order=200 + d.position)
            for d in services.editable(user)]


@hookimpl
def crm_validate_customer(data, customer, user):
    """Required fields: a yes/no the form must tick, and a required field an import leaves
    empty for a new customer (the form's own inputs are checked by their validators)."""
    errors = []
    for defn in services.editable(user):
        if not defn.required:
            continue
        key = services.name(defn)
        if key not in data and customer is not None:
            continue                     # an import that does not touch the field
        if ft.is_empty(data.get(key)):
            message = _("%(label)s: required.", label=services.label(defn))
            errors.append(ValidationError("" if defn.type == "boolean" else key, message))
    return errors


# -- import ---------------------------------------------------------------------------------------

class _Label:
    """A field's label in the language of the moment: the import matches a file's header
    against ``str(label)`` in every language, so both names of the field are exact matches
    (before any core alias: a field named 等级 takes a 等级 column)."""

    def __init__(self, defn):
        self.defn = defn

    def __str__(self) -> str:
        return services.label(self.defn)


def _import_parser(defn):
    return lambda text: ft.parse(defn, text)


def _import_saver(defn, user):
    return lambda customer, value: services.set_value(defn, customer, ft.coerce(defn, value),
                                                      user, "import")


def _import_loader(defn):
    return lambda customer: services.get_value(defn, customer.id)


@hookimpl
def crm_import_columns(user):
    columns = []
    for defn in services.editable(user):
        aliases = tuple(dict.fromkeys(a for a in (defn.label_zh, defn.label_en, defn.key,
                                                  "x_" + services.name(defn)) if a))
        columns.append(ImportColumn(services.name(defn), _Label(defn), aliases,
                                    parse=_import_parser(defn), save=_import_saver(defn, user),
                                    load=_import_loader(defn), order=200 + defn.position))
    return columns


# -- events ---------------------------------------------------------------------------------------

@hookimpl
def crm_handle_event(event):
    payload = event.payload or {}
    if event.name == "customer.merged":
        services.merged(payload["winner_id"], payload["loser_id"], payload.get("user_id"))
    elif event.name == "customer.anonymised":
        services.anonymised(payload["customer_id"])
    elif event.name == "customer.purged":
        services.purged(payload["customer_id"])
