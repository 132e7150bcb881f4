"""``crm plugins new NAME``: write a new plugin's package that passes its own tests at once.

The files come from ``crm/scaffold/plugin/`` (shipped in the wheel as package data): each
``*.tmpl`` is plain text in which ``%%name%%`` (the plugin's name), ``%%slug%%`` (its URL
prefix), ``%%title%%`` and ``%%package%%`` (its dotted import path) are replaced, and ``NAME``
in a file or folder name becomes the plugin's name.  No Jinja here: the templates it writes
are Jinja themselves.  docs/plugins.md ("Tutorial: a plugin from nothing") walks through them.

A name is refused, before anything is written, when it is not a lower-case Python identifier,
is a keyword, starts with ``crm``, is reserved (``core`` is the core's migration history),
would share the prefix of a core table or blueprint or of another plugin, or (for a package
that is not inside a Python package) would shadow an importable module.  An existing folder
is never overwritten.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import keyword
import os
import re
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(HERE, "plugin")
CRM_PACKAGE = os.path.dirname(HERE)
ENTRY_POINT_GROUP = "crm.plugins"

NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
MAX_LENGTH = 30          # <name>_note_event_uid and the like stay far below PostgreSQL's 63
RESERVED = {"core", "crm", "plugins", "tests", "test", "static", "templates", "instance",
            "migrations", "vendor"}
SUFFIX = ".tmpl"


class ScaffoldError(ValueError):
    """The name or the folder is refused; the message says why (nothing was written)."""


@dataclass(frozen=True)
class Scaffold:
    name: str
    package: str          # the dotted import path: plugins.acme, or acme
    root: str             # the folder written: <dir>/<name>
    files: tuple          # every file written, relative to root, in order

    @property
    def entry_point(self) -> str:
        return f"{self.name} = {self.package}.hooks"


# -- what is already taken ----------------------------------------------------------------------

def _core_sources():
    for folder, dirs, files in os.walk(CRM_PACKAGE):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__")) and d != "scaffold"]
        for file in files:
            if file.endswith(".py"):
                yield os.path.join(folder, file)


def core_names() -> tuple[set, set]:
    """The core's table names and blueprint names, read from its sources (no import)."""
    tables, blueprints = set(), set()
    for path in _core_sources():
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        tables.update(re.findall(r"""table_name\s*=\s*["'](\w+)["']""", text))
        blueprints.update(re.findall(r"""Blueprint\(\s*["'](\w+)["']""", text))
    return tables, blueprints


def _plugin_folders(directory: str) -> set:
    if not os.path.isdir(directory):
        return set()
    return {entry for entry in os.listdir(directory)
            if os.path.isfile(os.path.join(directory, entry, "hooks.py"))}


def existing_plugins(directory: str) -> set:
    """Plugins that exist already: entry points of the ``crm.plugins`` group, the first-party
    plugins of the checkout (``plugins/<name>/hooks.py``) and those in ``directory``."""
    names = set()
    for dist in importlib.metadata.distributions():
        names.update(ep.name for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP)
    names |= _plugin_folders(os.path.join(os.path.dirname(CRM_PACKAGE), "plugins"))
    names |= _plugin_folders(directory)
    return names


def package_of(directory: str, name: str) -> str:
    """``name``'s dotted import path: below every enclosing folder that is a package."""
    parts = [name]
    folder = os.path.abspath(directory)
    while os.path.isfile(os.path.join(folder, "__init__.py")):
        parts.insert(0, os.path.basename(folder))
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return ".".join(parts)


def check_name(name: str, directory: str) -> None:
    """Raise ``ScaffoldError`` when ``name`` cannot be a new plugin's name in ``directory``."""
    if not NAME.match(name or ""):
        raise ScaffoldError(
            f"{name!r} is not a valid plugin name: use a lower-case Python identifier "
            "(letters a-z, digits and single underscores, starting with a letter), "
            "like acme or visit_notes")
    if len(name) > MAX_LENGTH:
        raise ScaffoldError(f"{name!r} is too long: a plugin name has at most {MAX_LENGTH} "
                            "characters (it prefixes its tables)")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r} is a Python keyword: it cannot be imported")
    if name == "crm" or name.startswith("crm_"):
        raise ScaffoldError(f"{name!r}: the prefix crm_ belongs to the core (its hooks)")
    if name in RESERVED:
        raise ScaffoldError(f"{name!r} is reserved: choose another name")
    tables, blueprints = core_names()
    if name in blueprints:
        raise ScaffoldError(f"{name!r} is the name of a core blueprint: choose another name")
    clash = sorted(t for t in tables if t == name or t.startswith(name + "_"))
    if clash:
        raise ScaffoldError(f"{name!r} would prefix the core's tables ({', '.join(clash)}): "
                            "choose another name")
    for other in sorted(existing_plugins(directory)):
        if other == name:
            raise ScaffoldError(f"a plugin named {name!r} exists already: choose another name")
        if name.startswith(other + "_") or other.startswith(name + "_"):
            raise ScaffoldError(f"{name!r} and the plugin {other!r} would share a table "
                                "prefix: choose another name")
    if package_of(directory, name) == name and importlib.util.find_spec(name) is not None:
        raise ScaffoldError(f"{name!r} would shadow the importable module {name!r}: choose "
                            "another name")


# -- writing ------------------------------------------------------------------------------------

def template_files() -> list[str]:
    """The scaffold's files, relative to ``TEMPLATES``, sorted."""
    found = []
    for folder, dirs, files in os.walk(TEMPLATES):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        for file in files:
            if file.endswith(SUFFIX):
                found.append(os.path.relpath(os.path.join(folder, file), TEMPLATES))
    return sorted(found)


def substitutions(name: str, package: str) -> dict[str, str]:
    return {"%%name%%": name, "%%slug%%": name.replace("_", "-"),
            "%%title%%": name.replace("_", " ").capitalize(), "%%package%%": package}


def render(text: str, values: dict[str, str]) -> str:
    for token, value in values.items():
        text = text.replace(token, value)
    return text


def plan(name: str, package: str) -> list[tuple[str, str]]:
    """``[(path relative to the package, text), ...]``: what ``create`` writes (no checks)."""
    values = substitutions(name, package)
    files = []
    for relative in template_files():
        parts = [part.replace("NAME", name)
                 for part in relative[:-len(SUFFIX)].split(os.sep)]
        with open(os.path.join(TEMPLATES, relative), encoding="utf-8") as handle:
            files.append((os.path.join(*parts), render(handle.read(), values)))
    return files


def create(name: str, directory: str = "plugins") -> Scaffold:
    """Write the package ``<directory>/<name>/``; refuse a bad name or an existing folder."""
    check_name(name, directory)
    root = os.path.join(directory, name)
    if os.path.lexists(root):
        raise ScaffoldError(f"{root} exists already: nothing was written (remove it or choose "
                            "another name)")
    package = package_of(directory, name)
    files = plan(name, package)
    os.makedirs(directory, exist_ok=True)
    os.mkdir(root)      # fails if somebody made it meanwhile: never write into a stranger's folder
    for relative, text in files:
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    return Scaffold(name, package, root, tuple(relative for relative, _text in files))
