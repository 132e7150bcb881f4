"""The plugin host: one pluggy PluginManager per app, loading, validation and failure isolation.

Loading: the entry-point group ``crm.plugins`` (``PLUGINS`` is None, production) or an explicit
list (``PLUGINS``: modules, dotted module paths or objects; tests).  ``DISABLED_PLUGINS`` names
are blocked before anything is imported.  Then, still at start-up, the host fails fast: a
misspelled or unmarked hook, a hook wrapper, a model that is not the plugin's own, a migration
history named for another owner all stop the app with the plugin's name in the message.

Calling: pluggy stops at the first exception, so every UI and event hook goes through
``safe_call``: each implementation is called on its own, and a failure is logged with the
plugin's name and drops only that plugin's contribution.  ``collect`` also drops a contribution
of the wrong shape and a duplicate name.  Start-up hooks go through ``call_all`` and fail fast.
See docs/plugins.md.
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.metadata
import inspect
import logging
import os
import sys
import types
from dataclasses import dataclass

import pluggy

from crm import hookspecs
from crm.contrib import (Action, Card, Column, FormField, ListFilter, NavItem, Panel,
                         ValidationError)

log = logging.getLogger("crm.plugins")

ENTRY_POINT_GROUP = "crm.plugins"
PROJECT = "crm"

# What each descriptor hook must return: a list of these.
DESCRIPTOR_TYPES = {
    "crm_nav_items": NavItem,
    "crm_customer_panels": Panel,
    "crm_dashboard_cards": Card,
    "crm_customer_actions": Action,
    "crm_customer_list_columns": Column,
    "crm_customer_form_fields": FormField,
    "crm_customer_list_filters": ListFilter,
    "crm_validate_customer": ValidationError,
}
# Descriptors looked up by ``name`` (a URL segment or a form field): a name is taken once.
NAMED_DESCRIPTORS = {"crm_customer_panels", "crm_dashboard_cards", "crm_customer_list_columns",
                     "crm_customer_form_fields", "crm_customer_list_filters"}


class PluginError(RuntimeError):
    """A plugin is wrong in a way that must stop start-up (the message names the plugin)."""

    def __init__(self, plugin: str | None, message: str):
        super().__init__(f"plugin {plugin!r}: {message}" if plugin else message)
        self.plugin = plugin


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    hooks: tuple
    enabled: bool
    module: str


def _declared_name(plugin) -> str | None:
    """``PLUGIN_NAME`` of the plugin, or of its package for a ``<package>.hooks`` module."""
    name = getattr(plugin, "PLUGIN_NAME", None)
    if name or not isinstance(plugin, types.ModuleType):
        return name
    package_name, _, last = plugin.__name__.rpartition(".")
    if last == "hooks" and package_name:
        return getattr(sys.modules.get(package_name), "PLUGIN_NAME", None)
    return None


def plugin_name(plugin) -> str | None:
    """The name a plugin registers under when it is not loaded from an entry point.

    ``PLUGIN_NAME`` on the module or object; else, for a ``<package>.hooks`` module (the
    layout of docs/plugins.md), the package's ``PLUGIN_NAME`` or the package's last segment, so
    ``plugins.loyalty.hooks`` is ``loyalty`` as its entry point is; else the module's name.
    """
    name = _declared_name(plugin)
    if name:
        return name
    if isinstance(plugin, types.ModuleType):
        package_name, _, last = plugin.__name__.rpartition(".")
        if last == "hooks" and package_name:
            return package_name.rpartition(".")[2]
        return plugin.__name__
    return None


class PluginHost:
    def __init__(self, plugins=None, disabled=()):
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.disabled = tuple(disabled or ())
        self.failures: list[tuple[str, str, str]] = []   # (plugin, hook, error), newest last
        self.models: list = []                           # every plugin model (crm_register_models)
        self._dist_versions: dict[str, str] = {}         # entry-point plugin -> its dist's version
        for name in self.disabled:
            self.pm.set_blocked(name)
        if plugins is None:
            self.load_entry_points()
        else:
            for plugin in plugins:
                self.register(plugin)
        self._add_plugin_hookspecs()
        self._check_hooks()
        self.models = self._check_models()
        self._check_migrations()

    # -- loading ------------------------------------------------------------------------------
    def register(self, plugin, name: str | None = None):
        """Register a module, a dotted module path or an object (tests pass explicit lists).

        Returns the registered name, or None when the plugin is disabled.
        """
        if isinstance(plugin, str):
            if (name or plugin) in self.disabled:
                return None
            plugin = importlib.import_module(plugin)
        declared = _declared_name(plugin)
        if name and declared and declared != name:
            raise PluginError(name, f"its entry point is named {name!r} but it declares "
                                    f"PLUGIN_NAME = {declared!r}: use one name")
        name = name or plugin_name(plugin)
        if name in self.disabled or (name and self.pm.is_blocked(name)):
            return None
        try:
            return self.pm.register(plugin, name=name)
        except ValueError as exc:   # pluggy: the name or the object is registered already
            raise PluginError(name, str(exc)) from None
        except pluggy.PluginValidationError as exc:   # arguments the hookspec does not have
            raise PluginError(name, str(exc)) from None

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> int:
        """Load every entry point of ``group`` (what ``pm.load_setuptools_entrypoints`` does,
        with errors that name the plugin and the distribution's version kept for ``info``)."""
        count = 0
        for dist in list(importlib.metadata.distributions()):
            for ep in dist.entry_points:
                if ep.group != group or self.pm.has_plugin(ep.name) or \
                        self.pm.is_blocked(ep.name):
                    continue
                try:
                    plugin = ep.load()
                except Exception as exc:
                    raise PluginError(ep.name, f"cannot load entry point {ep.value!r}: "
                                               f"{type(exc).__name__}: {exc}") from exc
                self.register(plugin, name=ep.name)
                self._dist_versions[ep.name] = dist.version or ""
                count += 1
        return count

    # -- start-up checks --------------------------------------------------------------------
    def _add_plugin_hookspecs(self) -> None:
        """Hooks a plugin offers to other plugins (``crm_register_hookspecs``)."""
        for plugin, specs in self.call_all("crm_register_hookspecs"):
            for holder in specs or []:
                names = [n for n in dir(holder)
                         if self.pm.parse_hookspec_opts(holder, n) is not None]
                if not names:
                    raise PluginError(plugin, f"{holder!r} holds no hookspec (mark them with "
                                              "pluggy.HookspecMarker('crm'))")
                for spec in names:
                    if spec.startswith("crm_") or not spec.startswith(plugin + "_"):
                        raise PluginError(plugin, f"the hook {spec!r} it offers must be named "
                                                  f"{plugin}_...; crm_ is the core's prefix")
                self.pm.add_hookspecs(holder)

    def _check_hooks(self) -> None:
        core = {n for n in dir(hookspecs) if n.startswith("crm_")}
        known = set(self.pm.hook.__dict__)
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            for attr in dir(plugin):
                if not attr.startswith("crm_"):
                    continue
                value = getattr(plugin, attr, None)
                if not inspect.isroutine(value):
                    continue
                if isinstance(plugin, types.ModuleType) and \
                        getattr(value, "__module__", plugin.__name__) != plugin.__name__:
                    continue   # imported, not defined here
                if self.pm.parse_hookimpl_opts(plugin, attr) is None:
                    raise PluginError(name, f"{attr} is not marked with @hookimpl "
                                            "(from crm import hookimpl): it would never be called")
            for caller in self.pm.get_hookcallers(plugin) or []:
                if caller.name not in core:
                    continue
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin and (impl.hookwrapper or impl.wrapper):
                        raise PluginError(name, f"{caller.name} is a hook wrapper; the host calls "
                                                "each implementation on its own, so wrappers "
                                                "are not supported")
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
            unknown = [h for h in known if not getattr(self.pm.hook, h).has_spec()
                       and any(i.plugin is exc.plugin
                               for i in getattr(self.pm.hook, h).get_hookimpls())]
            hint = ""
            for hook in unknown:
                close = [c for c in difflib.get_close_matches(hook, sorted(known | core), n=3)
                         if c != hook]
                if close:
                    hint = f" (did you mean {close[0]!r}?)"
            hooks = ", ".join(sorted(unknown)) or "?"
            raise PluginError(name, f"implements an unknown hook: {hooks}{hint}") from None

    def _check_models(self) -> list:
        from peewee import Model

        from crm.db import database
        from crm.models import CORE_MODELS
        owners = {m._meta.table_name: "core" for m in CORE_MODELS}
        out = []
        for plugin, models in self.call_all("crm_register_models"):
            for model in models or []:
                if not (isinstance(model, type) and issubclass(model, Model)):
                    raise PluginError(plugin, f"crm_register_models returned {model!r}, "
                                              "not a peewee model class")
                table = model._meta.table_name
                if table in owners:
                    raise PluginError(plugin, f"table {table!r} belongs to {owners[table]!r}")
                if not table.startswith(plugin + "_"):
                    raise PluginError(plugin, f"table {table!r} of {model.__name__} must be "
                                              f"prefixed with the plugin's name: {plugin}_...")
                if model._meta.database is not database:
                    raise PluginError(plugin, f"{model.__name__} must use crm.db.database "
                                              "(subclass crm.db.BaseModel)")
                owners[table] = plugin
                out.append(model)
        return out

    def _check_migrations(self) -> None:
        from crm.migrate import MigrationSet
        owners = {"core": "core"}
        for plugin, sets in self.call_all("crm_register_migrations"):
            for mset in sets or []:
                if not isinstance(mset, MigrationSet):
                    raise PluginError(plugin, f"crm_register_migrations returned {mset!r}, "
                                              "not a crm.migrate.MigrationSet")
                if mset.owner in owners:
                    raise PluginError(plugin, f"the migration history {mset.owner!r} belongs "
                                              f"to {owners[mset.owner]!r}")
                if mset.owner != plugin and not mset.owner.startswith(plugin + "_"):
                    raise PluginError(plugin, f"migration owner {mset.owner!r} must be the "
                                              f"plugin's name {plugin!r}")
                if not os.path.isdir(mset.directory):
                    raise PluginError(plugin, f"migrations directory {mset.directory!r} "
                                              "does not exist")
                owners[mset.owner] = plugin

    # -- calling hooks ----------------------------------------------------------------------
    def _impls(self, hook_name: str):
        # pluggy calls the last registered first (tryfirst/trylast respected); keep that order.
        return list(reversed(getattr(self.pm.hook, hook_name).get_hookimpls()))

    def call_all(self, hook_name: str, **kwargs) -> list[tuple[str, object]]:
        """Call every implementation; exceptions propagate (start-up hooks: fail fast)."""
        out = []
        for impl in self._impls(hook_name):
            out.append((impl.plugin_name, impl.function(*[kwargs[a] for a in impl.argnames])))
        return out

    def safe_call(self, hook_name: str, **kwargs) -> list[tuple[str, object]]:
        """Call each implementation on its own; a failure drops only that plugin's result."""
        out = []
        for impl in self._impls(hook_name):
            try:
                out.append((impl.plugin_name,
                            impl.function(*[kwargs[a] for a in impl.argnames])))
            except Exception as exc:  # noqa: BLE001 - isolation is the point
                self.record_failure(impl.plugin_name, hook_name, exc)
        return out

    def collect(self, hook_name: str, **kwargs) -> list:
        """``safe_call`` flattened: the descriptors every plugin returned, sorted by order.

        A plugin's whole contribution is dropped (and the failure recorded) when it is not a
        list of the hook's descriptor type; a descriptor whose ``name`` another plugin already
        took is dropped.  Descriptors come back with ``plugin`` set to their plugin's name, and
        a ``Column``'s ``load`` is guarded: if it fails the column shows empty cells.
        """
        expected = DESCRIPTOR_TYPES.get(hook_name)
        items, taken = [], {}
        for plugin, result in self.safe_call(hook_name, **kwargs):
            if result is None:
                continue
            if not isinstance(result, (list, tuple)):
                self.record_failure(plugin, hook_name, TypeError(
                    f"returned {type(result).__name__}, expected a list"))
                continue
            if expected is not None:
                wrong = [i for i in result if not isinstance(i, expected)]
                if wrong:
                    self.record_failure(plugin, hook_name, TypeError(
                        f"returned {type(wrong[0]).__name__}, expected {expected.__name__}"))
                    continue
            for item in result:
                if hook_name in NAMED_DESCRIPTORS:
                    if item.name in taken:
                        self.record_failure(plugin, hook_name, ValueError(
                            f"the name {item.name!r} is taken by plugin {taken[item.name]!r}"))
                        continue
                    taken[item.name] = plugin
                items.append(self._own(item, plugin))
        return sorted(items, key=_order)

    def _own(self, item, plugin: str):
        if not dataclasses.is_dataclass(item) or \
                "plugin" not in {f.name for f in dataclasses.fields(item)}:
            return item
        changes = {} if item.plugin else {"plugin": plugin}
        if isinstance(item, Column):
            changes["load"] = self._guarded_load(item.load, plugin, item.name)
        return dataclasses.replace(item, **changes) if changes else item

    def _guarded_load(self, load, plugin: str, column: str):
        def guarded(customers):
            try:
                values = load(customers)
            except Exception as exc:  # noqa: BLE001 - a column never breaks the list
                self.record_failure(plugin, f"Column.load({column})", exc)
                return {}
            if values is not None and not isinstance(values, dict):
                self.record_failure(plugin, f"Column.load({column})", TypeError(
                    f"returned {type(values).__name__}, expected a dict"))
                return {}
            return values or {}
        return guarded

    def first(self, hook_name: str, **kwargs):
        """The first non-None result (for firstresult hooks), isolated like ``safe_call``."""
        for impl in self._impls(hook_name):
            try:
                result = impl.function(*[kwargs[a] for a in impl.argnames])
            except Exception as exc:  # noqa: BLE001
                self.record_failure(impl.plugin_name, hook_name, exc)
                continue
            if result is not None:
                return result
        return None

    def record_failure(self, plugin: str, hook: str, exc: BaseException) -> None:
        log.error("plugin %r failed in %s: %s: %s", plugin, hook, type(exc).__name__, exc,
                  exc_info=exc)
        self.failures.append((plugin, hook, f"{type(exc).__name__}: {exc}"))
        del self.failures[:-100]

    # -- introspection ------------------------------------------------------------------------
    def info(self) -> list[PluginInfo]:
        rows = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:   # blocked
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or []))
            module = getattr(plugin, "__name__", type(plugin).__module__)
            version = (getattr(plugin, "__version__", None) or _package_version(module)
                       or self._dist_versions.get(name, ""))
            rows.append(PluginInfo(name, version, hooks, True, module))
        for name in self.disabled:
            rows.append(PluginInfo(name, "", (), False, ""))
        return sorted(rows, key=lambda r: r.name)


def _order(item):
    order = getattr(item, "order", 100)
    return order if isinstance(order, (int, float)) else 100


def _package_version(module_name: str) -> str:
    """A plugin's version: ``__version__`` of its package (``plugins/loyalty/__init__.py``)."""
    package = module_name.rsplit(".", 1)[0] if "." in module_name else module_name
    try:
        return getattr(importlib.import_module(package), "__version__", "") or ""
    except ImportError:
        return ""


def host(app=None) -> PluginHost:
    from flask import current_app
    return (app or current_app).extensions["crm.plugins"]
