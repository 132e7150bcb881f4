"""The small frozen dataclasses that descriptor hooks return.  Hooks return data, never HTML."""
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
    """
    name: str
    title: str
    render: Callable[[Any, Any], Any]
    order: int = 100


@dataclass(frozen=True)
class Card:
    """A dashboard card, loaded lazily like a panel.  ``render(user)`` returns HTML."""
    name: str
    title: str
    render: Callable[[Any], Any]
    order: int = 100


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
    ``{customer_id: value}``: one query per column whatever the page size (no N+1).
    """
    name: str
    label: str
    load: Callable[[list], dict]
    order: int = 100


@dataclass(frozen=True)
class FormField:
    """A field a plugin adds to the customer create/edit form.

    ``field`` is an unbound WTForms field (``StringField(...)``); ``load(customer)`` gives the
    initial value for an edit; ``save(customer, value)`` is called inside the same database
    transaction as the customer's own save, after it.
    """
    name: str
    field: Any
    load: Callable[[Any], Any] = lambda customer: None
    save: Callable[[Any, Any], None] = lambda customer, value: None
    section: str = ""
    order: int = 100


@dataclass(frozen=True)
class ValidationError:
    """Returned by ``crm_validate_customer`` to block a save; ``field`` may be empty."""
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
