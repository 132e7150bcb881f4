"""Hooks the loyalty plugin offers to other plugins (``crm_register_hookspecs``).

Other plugins add ways of earning points: they declare rule types (an administrator then sets
how many points each gives and switches it on) and say which domain events award them.
Implement them with ``@hookimpl(optionalhook=True)`` so that your plugin still starts when
loyalty is not installed or is disabled.  Points are credited idempotently: the same
(kind, ref) for the same member is credited once, however often the event comes.
"""
from __future__ import annotations

from dataclasses import dataclass

import pluggy

hookspec = pluggy.HookspecMarker("crm")


@dataclass(frozen=True)
class RuleType:
    """A way of earning a fixed number of points.  ``kind`` is unique (prefix it with your
    plugin's name: ``community_post``); ``label`` is shown to administrators (a lazy string
    for translation); ``default_points`` is offered when the rule is first set up."""
    kind: str
    label: str
    default_points: int = 10


@dataclass(frozen=True)
class Award:
    """Points of rule ``kind`` for the customer (if a member), once per ``ref``."""
    customer_id: int
    kind: str
    ref: str


@hookspec
def loyalty_rule_types():
    """Return a list of ``plugins.loyalty.hookspecs.RuleType`` your plugin awards."""


@hookspec
def loyalty_awards_for_event(event):
    """Return a list of ``plugins.loyalty.hookspecs.Award`` for a domain event
    (``crm.contrib.Event``), or nothing.  Called from loyalty's ``crm_handle_event``, in the
    same transaction as its delivery record: an award is retried with the event."""
