"""``crm plugins new NAME``: the package it writes passes its own tests at once (run here in a
separate pytest, as a developer runs them), and a bad name or an existing folder is refused
before anything is written."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from crm import scaffold
from crm.cli import cli

ROOT = pathlib.Path(__file__).resolve().parents[2]

EXPECTED = {"__init__.py", "hooks.py", "models.py", "services.py", "views.py",
            "migrations/0001_initial.py", "templates/{name}/_panel.html",
            "templates/{name}/_notes.html", "templates/{name}/notes.html",
            "tests/__init__.py", "tests/conftest.py", "tests/test_{name}.py"}


def new(*args):
    return CliRunner().invoke(cli, ["plugins", "new", *args])


def files_under(folder: pathlib.Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def run_its_tests(folder: pathlib.Path, package_dir: pathlib.Path):
    """The generated tests in a pytest of their own, from the checkout (whose ``tests``
    package gives the fixtures), with the project's pytest settings."""
    env = {k: v for k, v in os.environ.items()        # not this run's settings, nor its xdist
           if (not k.startswith(("CRM_", "PYTEST_XDIST_")) or k == "CRM_TEST_DATABASE_URL")
           and k != "PYTEST_CURRENT_TEST"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(package_dir), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "-c", str(ROOT / "setup.cfg"), "--rootdir", str(ROOT), str(folder / "tests")]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_new_writes_a_plugin_that_passes_its_own_tests(tmp_path):
    target = tmp_path / "plugins_x"
    result = new("acme_visits", "--dir", str(target))
    assert result.exit_code == 0, result.output
    folder = target / "acme_visits"
    assert files_under(folder) == {p.format(name="acme_visits") for p in EXPECTED}
    for relative in sorted(files_under(folder)):
        assert f"created {folder / relative}" in result.output
    assert "acme_visits = acme_visits.hooks" in result.output      # the entry point to add

    texts = {p: (folder / p).read_text(encoding="utf-8") for p in files_under(folder)}
    for path, text in texts.items():
        assert "%%" not in text, path                               # every token replaced
        if path.endswith(".py"):
            compile(text, path, "exec")
        if path.endswith(".html"):                                  # the CSP's rules
            assert "style=" not in text and "hx-on" not in text and "<script" not in text
    assert 'PLUGIN_NAME = "acme_visits"' in texts["hooks.py"]
    for hook in ("crm_register_models", "crm_register_migrations", "crm_register_blueprints",
                 "crm_register_permissions", "crm_customer_panels", "crm_handle_event"):
        assert f"def {hook}(" in texts["hooks.py"], hook
    assert 'table_name = "acme_visits_note"' in texts["models.py"]
    assert "class Note(BaseModel)" in texts["models.py"]
    migration = texts["migrations/0001_initial.py"]
    assert "def up(migrator, db):" in migration and "table_name = 'acme_visits_note'" in migration
    assert 'url_prefix="/acme-visits"' in texts["views.py"]
    assert texts["views.py"].count("access.get_customer_or_404(current_user") == 2
    assert texts["templates/acme_visits/notes.html"].startswith('{% extends "base.html" %}')
    assert "{{ form.csrf_token }}" in texts["templates/acme_visits/_notes.html"]

    run = run_its_tests(folder, target)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    count = texts["tests/test_acme_visits.py"].count("\ndef test_")
    assert count >= 8 and re.search(rf"\b{count} passed\b", summary), summary
    assert "failed" not in summary and "error" not in summary, summary


def test_default_folder_and_import_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "__init__.py").write_text("", encoding="utf-8")
    result = new("acme")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plugins" / "acme" / "hooks.py").is_file()
    assert "acme = plugins.acme.hooks" in result.output            # inside the plugins package
    hooks = (tmp_path / "plugins" / "acme" / "hooks.py").read_text(encoding="utf-8")
    assert "\n    acme = plugins.acme.hooks\n" in hooks           # in its docstring


@pytest.mark.parametrize("name, message", [
    ("Acme", "not a valid plugin name"),
    ("acme-notes", "not a valid plugin name"),
    ("9lives", "not a valid plugin name"),
    ("_acme", "not a valid plugin name"),
    ("acme__notes", "not a valid plugin name"),
    ("acme_", "not a valid plugin name"),
    ("a" * 31, "too long"),
    ("class", "Python keyword"),
    ("crm", "the prefix crm_ belongs to the core"),
    ("crm_extra", "the prefix crm_ belongs to the core"),
    ("core", "reserved"),
    ("needs", "a plugin named 'needs' exists already"),
    ("sales_extra", "would share a table prefix"),
    ("customer", "would prefix the core's tables"),
    ("customers", "the name of a core blueprint"),
    ("json", "would shadow the importable module"),
])
def test_a_bad_name_is_refused_and_nothing_is_written(tmp_path, name, message):
    target = tmp_path / "out"
    result = new(name, "--dir", str(target))
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output, result.output
    assert not target.exists()


def test_an_existing_folder_is_never_overwritten(tmp_path):
    folder = tmp_path / "out" / "acme"
    folder.mkdir(parents=True)
    (folder / "mine.txt").write_text("keep me", encoding="utf-8")
    result = new("acme", "--dir", str(tmp_path / "out"))
    assert result.exit_code == 1 and "exists already" in result.output, result.output
    assert files_under(folder) == {"mine.txt"}
    assert (folder / "mine.txt").read_text(encoding="utf-8") == "keep me"
    # a plugin there already (a hooks.py) is named as such
    (folder / "hooks.py").write_text("", encoding="utf-8")
    taken = new("acme", "--dir", str(tmp_path / "out"))
    assert taken.exit_code == 1 and "exists already" in taken.output, taken.output


def tutorial_snippets() -> list[tuple[str, str]]:
    """``(path, code)`` of each snippet of the tutorial in docs/plugins.md that names a file of
    the plugin it builds (first line ``# plugins/visit_notes/<path>`` or ``{# ... #}``)."""
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.split("\n## Tutorial: a plugin from nothing\n", 1)[1].split("\n## ", 1)[0]
    found = []
    for block in re.findall(r"^```(?:python|html)\n(.*?)^```", section, re.S | re.M):
        first, _, body = block.partition("\n")
        match = re.fullmatch(r"(?:# |\{# )plugins/visit_notes/(\S+?)(?: #\})?", first)
        if match:
            found.append((match.group(1), body))
    return found


def test_the_tutorial_shows_the_code_the_scaffold_writes():
    files = {pathlib.PurePath(path).as_posix(): text
             for path, text in scaffold.plan("visit_notes", "plugins.visit_notes")}
    snippets = tutorial_snippets()
    assert len(snippets) >= 12
    for path, code in snippets:
        assert path in files, path
        for part in re.split(r"^(?:# \.\.\.|\{# \.\.\. #\})\n", code, flags=re.M):  # elisions
            assert part.strip("\n") in files[path], f"docs/plugins.md, {path}:\n{part}"


def test_the_scaffold_ships_in_the_wheel():
    """setup.py ships ``crm/scaffold/plugin/**/*.tmpl``: every file of the scaffold is one."""
    files = scaffold.template_files()
    assert len(files) == len(EXPECTED)
    here = pathlib.Path(scaffold.TEMPLATES)
    assert {p.relative_to(here).as_posix() for p in here.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts} == \
        {pathlib.PurePath(f).as_posix() for f in files}
    assert '"crm.scaffold": ["plugin/**/*.tmpl"]' in (ROOT / "setup.py").read_text("utf-8")
