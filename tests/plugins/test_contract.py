"""The plugin contract, checked mechanically.

Fails when a hookspec in crm/hookspecs.py
* has no docstring, or is not documented in docs/plugins.md with its exact signature (and a
  hook documented there does not exist);
* is not implemented by the example test plugin (tests/plugins/example_plugin/hooks.py);
* is never called by the core while the example plugin is driven through the real routes;
and when a template under templates/ or plugins/ names a ``crm_...`` hook that does not exist.
Each checker is also run on a bad input, to prove it can fail.
"""
from __future__ import annotations

import functools
import inspect
import pathlib
import re
import types

import pytest

from crm import hookspecs
from crm.cli import cli
from tests.plugins.example_plugin import hooks as example
from tests.plugins.helpers import ctx, customer_form, dispatch

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "plugins.md"
TEMPLATE_ROOTS = [ROOT / "templates", ROOT / "plugins", ROOT / "tests" / "plugins"]
TEMPLATE_SUFFIXES = {".html", ".htm", ".jinja", ".jinja2", ".j2", ".txt", ".xml", ".svg"}

HEADING = re.compile(r"^#{2,6}\s+`?(crm_\w+)\(([^)]*)\)`?\s*$", re.M)
HOOK_NAME = re.compile(r"\bcrm_[a-z0-9_]+")


def specs(module=hookspecs) -> dict:
    """{name: function} of the hookspecs a module declares."""
    return {name: fn for name, fn in vars(module).items()
            if name.startswith("crm_") and callable(fn) and hasattr(fn, "crm_spec")}


def signature(fn) -> str:
    return f"{fn.__name__}{inspect.signature(fn)}"


def doc_problems(spec_functions: dict, text: str) -> list[str]:
    """What docs/plugins.md gets wrong: missing, wrong signature, stale, firstresult unsaid."""
    documented = {}
    for name, args in HEADING.findall(text):
        documented.setdefault(name, []).append(f"{name}({args})")
    problems = []
    for name, fn in sorted(spec_functions.items()):
        if name not in documented:
            problems.append(f"{name}: not documented (a heading `{signature(fn)}`)")
        elif documented[name] != [signature(fn)]:
            problems.append(f"{name}: documented as {documented[name]}, is {signature(fn)}")
        elif fn.crm_spec.get("firstresult"):
            section = text.split(signature(fn), 1)[1].split("\n#", 1)[0]
            if "firstresult" not in section:
                problems.append(f"{name}: a firstresult hook, and its section does not say so")
    for name in sorted(set(documented) - set(spec_functions)):
        problems.append(f"{name}: documented but not a hookspec")
    return problems


def implemented(plugin) -> set[str]:
    return {name for name in dir(plugin)
            if name.startswith("crm_") and hasattr(getattr(plugin, name), "crm_impl")}


def unknown_hooks_in_templates(roots, known) -> list[str]:
    """``path: crm_name`` for each template naming a crm_ hook that does not exist."""
    found = []
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            in_templates = "templates" in path.relative_to(root).parts or root.name == "templates"
            if not path.is_file() or (path.suffix not in TEMPLATE_SUFFIXES and not in_templates):
                continue
            if path.suffix == ".py":
                continue
            for name in sorted(set(HOOK_NAME.findall(path.read_text(encoding="utf-8",
                                                                    errors="replace")))):
                if name not in known:
                    found.append(f"{path.relative_to(root.parent)}: {name}")
    return found


# -- the contract -----------------------------------------------------------------------------

def test_there_are_hookspecs_to_check():
    assert len(specs()) >= 18


def test_every_hookspec_has_a_docstring():
    assert [n for n, fn in specs().items() if not (fn.__doc__ or "").strip()] == []


def test_every_hookspec_is_documented_with_its_exact_signature():
    assert doc_problems(specs(), DOC.read_text(encoding="utf-8")) == []


def test_every_hookspec_is_implemented_by_the_example_plugin():
    assert sorted(set(specs()) - implemented(example)) == []
    assert sorted(implemented(example) - set(specs())) == []


def test_every_implementation_takes_only_its_specs_arguments():
    for name in implemented(example):
        spec_args = list(inspect.signature(specs()[name]).parameters)
        impl_args = list(inspect.signature(getattr(example, name)).parameters)
        assert set(impl_args) <= set(spec_args), name


def test_templates_name_only_existing_hooks():
    assert unknown_hooks_in_templates(TEMPLATE_ROOTS, set(specs())) == []


# -- the checkers can fail --------------------------------------------------------------------

def test_doc_checker_reports_missing_wrong_stale_and_firstresult(tmp_path):
    all_specs = specs()
    text = DOC.read_text(encoding="utf-8")
    assert "crm_customer_panels: not documented" in " ".join(doc_problems(
        all_specs, text.replace("#### `crm_customer_panels(customer, user)`", "")))
    assert "documented as ['crm_nav_items()']" in " ".join(doc_problems(
        all_specs, text.replace("`crm_nav_items(user)`", "`crm_nav_items()`")))
    assert doc_problems(all_specs, text + "\n### `crm_gone(customer)`\n") == [
        "crm_gone: documented but not a hookspec"]
    reworded = text.replace("A **firstresult** hook", "A hook")
    assert doc_problems(all_specs, reworded) == [
        "crm_render_value: a firstresult hook, and its section does not say so"]


def test_implementation_checker_sees_a_missing_hook():
    partial = types.SimpleNamespace(**{n: getattr(example, n) for n in implemented(example)
                                       if n != "crm_demo_data"})
    assert set(specs()) - implemented(partial) == {"crm_demo_data"}


def test_template_checker_reports_an_unknown_hook(tmp_path):
    plugins_root = tmp_path / "plugins"
    folder = plugins_root / "acme" / "templates" / "acme"
    folder.mkdir(parents=True)
    (folder / "panel.html").write_text("{# filled by crm_custmer_panels #}<p>x</p>")
    (folder / "ok.html").write_text("{# filled by crm_customer_panels #}")
    core = tmp_path / "templates"
    core.mkdir()
    (core / "page.html").write_text("{{ crm_nav_itemz }}")
    assert unknown_hooks_in_templates([core, plugins_root], set(specs())) == [
        "templates/page.html: crm_nav_itemz",
        "plugins/acme/templates/acme/panel.html: crm_custmer_panels"]


# -- every hook is called by the core -----------------------------------------------------------

def _recording(fn, calls: set):
    @functools.wraps(fn)        # keeps the signature and the @hookimpl marker
    def wrapper(*args, **kwargs):
        calls.add(fn.__name__)
        return fn(*args, **kwargs)
    return wrapper


@pytest.fixture
def plugins():
    """The example plugin with every hook wrapped to record that it was called."""
    recorder = types.ModuleType("example_recorder")
    recorder.PLUGIN_NAME = "example"
    recorder.calls = set()
    for name in implemented(example):
        setattr(recorder, name, _recording(getattr(example, name), recorder.calls))
    return [recorder]


def test_the_core_calls_every_hook(app, login, runner):
    recorder = app.extensions["crm.plugins"].pm.get_plugin("example")
    client = login("admin")
    assert client.get("/").status_code == 200
    created = client.post("/customers/new", data=customer_form(app, x_example_note="Tour"))
    assert created.status_code == 303
    assert client.get(created.headers["Location"]).status_code == 200
    assert client.get("/customers").status_code == 200
    assert client.get("/imports").status_code == 200
    assert runner.invoke(cli, ["demo", "--customers", "2"]).exit_code == 0
    with ctx(app):
        dispatch(app)
    assert sorted(set(specs()) - recorder.calls) == []
