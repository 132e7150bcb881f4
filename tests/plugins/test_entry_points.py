"""Loading from the entry-point group ``crm.plugins`` (production: ``PLUGINS`` is None).

A temporary ``*.dist-info`` with an ``entry_points.txt`` is put on sys.path: exactly what an
installed third-party plugin looks like to ``importlib.metadata.distributions()``.
"""
from __future__ import annotations

import sys

import pytest

from crm.plugins import PluginError, PluginHost
from tests.plugins.helpers import EXAMPLE, write_distribution

VERSIONLESS = '''
from crm import NavItem, hookimpl


@hookimpl
def crm_nav_items(user):
    return [NavItem("From an entry point", "dashboard.index", 80)]
'''


@pytest.fixture
def site(tmp_path, monkeypatch):
    root = tmp_path / "site"
    write_distribution(root, "crm-example-plugin", "1.2.3", {"example": EXAMPLE})
    write_distribution(root, "crm-versionless", "4.5.6", {"versionless": "crm_tmp_versionless"},
                       {"crm_tmp_versionless": VERSIONLESS})
    monkeypatch.syspath_prepend(str(root))
    yield root
    for module in ("crm_tmp_versionless", "crm_tmp_explodes"):
        sys.modules.pop(module, None)


@pytest.fixture
def plugins(site):
    """None: the app loads the entry points, as in production."""
    return None


def loaded(host):
    return {name for name, plugin in host.pm.list_name_plugin() if plugin is not None}


def test_entry_points_of_the_group_are_loaded_under_their_names(site):
    host = PluginHost(None)
    assert {"example", "versionless"} <= loaded(host)
    info = {row.name: row for row in host.info()}
    assert info["example"].version == "1.2.3"
    assert info["versionless"].version == "4.5.6"        # no __version__: the distribution's
    assert info["versionless"].hooks == ("crm_nav_items",)


def test_other_groups_are_ignored(site):
    write_distribution(site / "other", "crm-elsewhere", "1.0", {"elsewhere": EXAMPLE})
    info = next((site / "other").glob("*.dist-info"))
    text = (info / "entry_points.txt").read_text().replace("[crm.plugins]", "[other.plugins]")
    (info / "entry_points.txt").write_text(text)
    sys.path.insert(0, str(site / "other"))
    try:
        assert "elsewhere" not in loaded(PluginHost(None))
    finally:
        sys.path.remove(str(site / "other"))


def test_a_disabled_entry_point_is_not_even_imported(site, monkeypatch):
    extra = site.parent / "extra"
    write_distribution(extra, "crm-explodes", "0.1", {"explodes": "crm_tmp_explodes"},
                       {"crm_tmp_explodes": "raise ImportError('broken on import')\n"})
    monkeypatch.syspath_prepend(str(extra))
    with pytest.raises(PluginError, match="'explodes'.*broken on import"):
        PluginHost(None)
    host = PluginHost(None, disabled=["explodes"])
    assert "crm_tmp_explodes" not in sys.modules
    assert "explodes" not in loaded(host) and "example" in loaded(host)
    assert [(r.name, r.enabled) for r in host.info() if r.name == "explodes"] == [
        ("explodes", False)]


def test_an_entry_point_name_must_match_a_declared_plugin_name(site, monkeypatch):
    extra = site.parent / "renamed"
    write_distribution(extra, "crm-renamed", "1.0", {"renamed": EXAMPLE})
    monkeypatch.syspath_prepend(str(extra))
    with pytest.raises(PluginError, match="'renamed'.*PLUGIN_NAME = 'example'"):
        PluginHost(None)


def test_the_app_runs_the_entry_point_plugins(app, login):
    client = login("admin")
    page = client.get("/")
    assert b"From an entry point" in page.data                      # versionless's nav item
    assert b'href="/example/notes"' in page.data                     # example's nav item
    admin = client.get("/admin/plugins").get_data(as_text=True)
    assert "<td>example</td><td>1.2.3</td>" in admin
    assert "<td>versionless</td><td>4.5.6</td>" in admin


def test_the_entry_point_plugins_migrations_run(app, db):
    from crm import migrate
    status = migrate.status(app)
    assert [m.name for m in status["example"] if m.applied] == ["0001_initial",
                                                                   "0002_note_pinned"]
