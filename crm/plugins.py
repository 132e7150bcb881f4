"""The plugin host: one pluggy PluginManager per app, loading, and failure isolation.

pluggy stops at the first exception, so every UI and event hook goes through ``safe_call``:
each implementation is called on its own, and a failure is logged with the plugin's name and
drops only that plugin's contribution.  Start-up hooks go through ``call_all`` and fail fast.
"""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

import pluggy

from crm import hookspecs

log = logging.getLogger("crm.plugins")

ENTRY_POINT_GROUP = "crm.plugins"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    hooks: tuple
    enabled: bool
    module: str


class PluginHost:
    def __init__(self, plugins=None, disabled=()):
        self.pm = pluggy.PluginManager("crm")
        self.pm.add_hookspecs(hookspecs)
        self.disabled = tuple(disabled or ())
        self.failures: list[tuple[str, str, str]] = []   # (plugin, hook, error), newest last
        for name in self.disabled:
            self.pm.set_blocked(name)
        if plugins is None:
            self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        else:
            for plugin in plugins:
                self.register(plugin)
        # A misspelled hook implementation stops start-up and names the plugin.
        self.pm.check_pending()

    def register(self, plugin, name: str | None = None):
        """Register a module, a dotted module path or an object (tests pass explicit lists)."""
        if isinstance(plugin, str):
            name = name or plugin
            plugin = importlib.import_module(plugin)
        name = name or getattr(plugin, "PLUGIN_NAME", None) or getattr(plugin, "__name__", None)
        if name in self.disabled:
            return None
        return self.pm.register(plugin, name=name)

    # -- calling hooks ----------------------------------------------------------------------
    def _impls(self, hook_name: str):
        # pluggy calls the last registered first; keep that order for consistency.
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
        """``safe_call`` flattened: the descriptors every plugin returned, sorted by order."""
        items = []
        for _name, result in self.safe_call(hook_name, **kwargs):
            items.extend(result or [])
        return sorted(items, key=lambda item: getattr(item, "order", 100))

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
        log.exception("plugin %r failed in %s: %s", plugin, hook, exc)
        self.failures.append((plugin, hook, f"{type(exc).__name__}: {exc}"))
        del self.failures[:-100]

    # -- introspection ------------------------------------------------------------------------
    def info(self) -> list[PluginInfo]:
        rows = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:   # blocked
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or []))
            module = getattr(plugin, "__name__", type(plugin).__name__)
            version = getattr(plugin, "__version__", None) or _package_version(module)
            rows.append(PluginInfo(name, version, hooks, True, module))
        for name in self.disabled:
            rows.append(PluginInfo(name, "", (), False, ""))
        return sorted(rows, key=lambda r: r.name)


def _package_version(module_name: str) -> str:
    """A plugin's version: ``__version__`` of its package (``plugins/loyalty/__init__.py``)."""
    package = module_name.rsplit(".", 1)[0] if "." in module_name else module_name
    try:
        return getattr(importlib.import_module(package), "__version__", "")
    except ImportError:
        return ""


def host(app=None) -> PluginHost:
    from flask import current_app
    return (app or current_app).extensions["crm.plugins"]
