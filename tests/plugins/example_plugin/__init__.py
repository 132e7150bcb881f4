"""A test plugin that implements every hook of crm/hookspecs.py the way a real plugin would.

Laid out like a first-party plugin (docs/plugins.md, "Layout"): ``hooks.py`` is the entry
point, ``models.py`` its tables (prefixed ``example_``), ``services.py`` the logic,
``views.py`` its blueprint, ``migrations/`` its own history ``migrations_example``.
It keeps one short note per customer, shows it in a panel, a list column, a dashboard card and
the customer form, and logs the domain events it receives, idempotently by event uid.
"""
PLUGIN_NAME = "example"
__version__ = "1.2.3"
