"""A deliberately broken plugin: everything it contributes fails, in every way the host must
survive.  Registered beside the example plugin, it proves that a failure drops only the
broken plugin's contribution and that the rest of every page stays whole."""
from crm import Card, Column, Panel, hookimpl

PLUGIN_NAME = "broken"
__version__ = "0.0.1"


class Boom(RuntimeError):
    pass


def _explode(*_args):
    raise Boom("the broken plugin fails on purpose")


@hookimpl
def crm_customer_panels(customer, user):
    return [Panel("broken_panel", "Broken panel", _explode, 60)]


@hookimpl
def crm_dashboard_cards(user):
    return [Card("broken_card", "Broken card", _explode, 45)]


@hookimpl
def crm_customer_list_columns(user):
    return [Column("broken_column", "Broken column", _explode, 95)]


@hookimpl
def crm_customer_actions(customer, user):
    raise Boom("descriptor hook fails")


@hookimpl
def crm_nav_items(user):
    raise Boom("descriptor hook fails")


@hookimpl
def crm_customer_form_fields(customer, user):
    raise Boom("descriptor hook fails")


@hookimpl
def crm_render_value(name, value, context):
    raise Boom("render_value fails")


@hookimpl
def crm_handle_event(event):
    raise Boom("event handler fails")
