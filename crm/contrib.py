"""The small frozen dataclasses that descriptor hooks return.  Hooks return data, never HTML.

Every name here is also importable from ``crm`` (``from crm import Panel``).  The ``plugin``
field of ``Panel``, ``Card``, ``Column`` and ``FormField`` is filled in by the host with the
name of the plugin that returned the descriptor (leave it out); the core uses it to name the
plugin when a ``render`` or ``load`` fails.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class NavItem:
    """A link in the main navigation.  ``endpoint`` is a Flask endpoint name."""
    label: str
    endpoint: str
    order: int = 100
    permission: Optional[str] = None     # shown only when the user has this permission


@dataclass(frozen=True)
class Panel:
    """A panel on the customer page, loaded lazily by its own htmx request.

    ``render(customer, user)`` returns HTML (``markupsafe.Markup``, else it is escaped) and is
    called only by that request, so a slow or failing panel never delays or breaks the page.
    ``name`` is a URL segment (``/customers/<id>/panels/<name>``): prefix it with your plugin.
    """
    name: str
    title: str
    render: Callable[[Any, Any], Any]
    order: int = 100
    plugin: str = field(default="", compare=False)   # filled in by the host


@dataclass(frozen=True)
class Card:
    """A dashboard card, loaded lazily like a panel.  ``render(user)`` returns HTML."""
    name: str
    title: str
    render: Callable[[Any], Any]
    order: int = 100
    plugin: str = field(default="", compare=False)   # filled in by the host


@dataclass(frozen=True)
class Action:
    """A button on the customer page.  POST actions are rendered as small forms with CSRF."""
    label: str
    url: str
    method: str = "GET"
    order: int = 100


@dataclass(frozen=True)
class Column:
    """An optional column of the customer list.

    ``load(customers)`` is called once per page with the page's customers and returns
    ``{customer_id: value}``: one query per column whatever the page size (no N+1).  The value
    is displayed through ``crm_render_value`` with the name ``"column.<name>"``.  A column with
    ``listed=False`` is not shown in the list but is still offered by the export.
    """
    name: str
    label: str
    load: Callable[[list], dict]
    order: int = 100
    plugin: str = field(default="", compare=False)   # filled in by the host
    listed: bool = True


@dataclass(frozen=True)
class ListFilter:
    """A filter a plugin adds to the customer list (``crm_customer_list_filters``).

    Shown in the list's filters as ``x_<name>``: a select when ``choices`` (``((value,
    label), ...)``) is given, else an input of type ``input`` ("text", "number", "date").
    ``where(value)`` gets the stripped, non-empty text of the argument and returns a peewee
    expression on ``Customer`` (typically ``Customer.id.in_(subquery)``) that narrows the
    list (and its export), or None to ignore the value; ``ValueError(message)`` shows the
    message and ignores the value.  A filter that raises anything else is dropped (and the
    failure recorded): the list is shown without it.
    """
    name: str
    label: str
    where: Callable[[str], Any]
    input: str = "text"
    choices: tuple = ()
    order: int = 100
    plugin: str = field(default="", compare=False)   # filled in by the host


@dataclass(frozen=True)
class FormField:
    """A field a plugin adds to the customer create/edit form.

    ``field`` is an unbound WTForms field (``StringField(...)``), added to the form as
    ``x_<name>``; ``load(customer)`` gives the initial value for an edit; ``save(customer,
    value)`` is called inside the same database transaction as the customer's own save, after
    it (an exception there rolls the whole save back).  On an edit, ``save`` returns whether
    it changed anything: if so, the ``customer.updated`` event names ``x_<name>`` among its
    ``fields`` (an edit that changed only plugin fields emits it too); the plugin records its
    own audit entries.  ``None`` counts as "nothing changed".
    """
    name: str
    field: Any
    load: Callable[[Any], Any] = lambda customer: None
    save: Callable[[Any, Any], Any] = lambda customer, value: None
    section: str = ""
    order: int = 100
    plugin: str = field(default="", compare=False)   # filled in by the host


@dataclass(frozen=True)
class ImportColumn:
    """A column a plugin adds to the customer import (``crm_import_columns``).

    The column is offered in the mapping as ``x_<name>``, guessed from ``label`` and from
    ``aliases`` (header texts such as ``"会员卡号"``).  ``parse(text)`` turns a non-empty cell
    into the value to save, or raises ``ValueError(message)``: the row is then rejected with
    that message.  ``save(customer, value)`` is called inside the batch's transaction, after
    the customer is created or updated (an exception there rolls the whole batch back).
    ``load(customer)``, when given, returns the current value: the dry run shows the change,
    and undo saves the old value back.
    """
    name: str
    label: str
    aliases: tuple = ()
    parse: Callable[[str], Any] = lambda text: text
    save: Callable[[Any, Any], None] = lambda customer, value: None
    load: Optional[Callable[[Any], Any]] = None
    order: int = 100
    plugin: str = field(default="", compare=False)   # filled in by the host


@dataclass(frozen=True)
class ValidationError:
    """Returned by ``crm_validate_customer`` to block a save.

    ``field`` names a core field (``"name"``) or a plugin field without its ``x_`` prefix;
    empty, the message is shown at the top of the form.
    """
    field: str
    message: str


@dataclass(frozen=True)
class Permission:
    """A permission a plugin declares, with the roles that have it by default."""
    name: str
    label: str
    roles: tuple = ("admin",)


@dataclass(frozen=True)
class Event:
    """A domain event as delivered to ``crm_handle_event`` (after commit, at least once).

    ``uid`` is stable across retries: handlers use it as their idempotency key.
    """
    uid: str
    name: str
    payload: dict = field(default_factory=dict)
    created_at: Any = None
