"""The plugin host on its own: loading, the start-up checks that fail fast with the plugin's
name, and safe_call / collect isolation."""
from __future__ import annotations

import os
import sys
import types

import pytest
from peewee import CharField, Model, SqliteDatabase

from crm import Card, Column, NavItem, Panel, create_app, hookimpl
from crm import hookspecs as core_hookspecs
from crm.db import BaseModel
from crm.migrate import MigrationSet
from crm.plugins import PluginError, PluginHost, plugin_name
from tests.plugins import broken_plugin
from tests.plugins.example_plugin import hooks as example

CORE_HOOKS = sorted(n for n in dir(core_hookspecs) if n.startswith("crm_"))
HERE = os.path.dirname(__file__)


def names(host):
    return sorted(n for n, p in host.pm.list_name_plugin() if p is not None)


# -- loading --------------------------------------------------------------------------------

def test_explicit_list_registers_each_plugin_under_its_name():
    host = PluginHost([example, broken_plugin])
    assert names(host) == ["broken", "example"]
    info = {row.name: row for row in host.info()}
    assert info["example"].version == "1.2.3"          # the package's __version__
    assert info["example"].module == "tests.plugins.example_plugin.hooks"
    assert info["example"].enabled is True
    assert list(info["example"].hooks) == CORE_HOOKS
    assert info["broken"].version == "0.0.1"
    assert "crm_handle_event" in info["broken"].hooks


def test_explicit_list_accepts_dotted_module_paths():
    host = PluginHost(["tests.plugins.broken_plugin", "tests.plugins.example_plugin.hooks"])
    assert names(host) == ["broken", "example"]


def test_a_hooks_module_is_named_for_its_package():
    """``plugins.loyalty.hooks`` registers as ``loyalty``, the name its entry point has."""
    assert plugin_name(example) == "example"               # the package's PLUGIN_NAME
    module = types.ModuleType("acme_plugins.loyalty.hooks")
    assert plugin_name(module) == "loyalty"                  # else the package's last segment
    assert plugin_name(types.ModuleType("acme_plugin")) == "acme_plugin"


def test_an_empty_list_loads_nothing_not_even_entry_points():
    assert names(PluginHost([])) == []


def test_disabled_plugins_are_not_registered_and_listed_as_disabled():
    host = PluginHost([example, broken_plugin], disabled=["broken"])
    assert names(host) == ["example"]
    assert host.collect("crm_customer_list_columns", user=None)[0].name == "example_note"
    info = {row.name: row for row in host.info()}
    assert info["broken"].enabled is False and info["broken"].hooks == ()


def test_a_disabled_dotted_path_is_never_imported():
    PluginHost(["tests.plugins.no_such_module"], disabled=["tests.plugins.no_such_module"])
    with pytest.raises(ModuleNotFoundError):
        PluginHost(["tests.plugins.no_such_module"])


def test_registering_two_plugins_under_one_name_stops_start_up():
    class One:
        PLUGIN_NAME = "twin"

        @hookimpl
        def crm_nav_items(self, user):
            return []

    class Two(One):
        pass
    with pytest.raises(PluginError, match="'twin'"):
        PluginHost([One(), Two()])


# -- start-up checks --------------------------------------------------------------------------

class Typo:
    PLUGIN_NAME = "typo"

    @hookimpl
    def crm_custmer_panels(self, customer, user):
        return []


def test_a_misspelled_hook_stops_start_up_naming_the_plugin():
    with pytest.raises(PluginError) as caught:
        PluginHost([example, Typo()])
    message = str(caught.value)
    assert "'typo'" in message and "crm_custmer_panels" in message
    assert "did you mean 'crm_customer_panels'" in message
    assert caught.value.plugin == "typo"


def test_create_app_fails_on_a_misspelled_hook(tmp_path):
    with pytest.raises(PluginError, match="typo.*crm_custmer_panels"):
        create_app({"TESTING": True, "SECRET_KEY": "x", "PLUGINS": [Typo()],
                    "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db")},
                   instance_path=str(tmp_path))


def test_a_hook_without_the_hookimpl_marker_stops_start_up():
    class Forgot:
        PLUGIN_NAME = "forgot"

        def crm_nav_items(self, user):
            return [NavItem("Never shown", "dashboard.index")]
    with pytest.raises(PluginError, match="'forgot'.*crm_nav_items is not marked with @hookimpl"):
        PluginHost([Forgot()])


def test_an_argument_the_hookspec_does_not_have_stops_start_up():
    class Extra:
        PLUGIN_NAME = "extra"

        @hookimpl
        def crm_nav_items(self, user, request):
            return []
    with pytest.raises(PluginError, match="(?s)plugin 'extra'.*'request'.*not be found"):
        PluginHost([Extra()])


def test_hook_wrappers_are_refused():
    class Wrapper:
        PLUGIN_NAME = "wrapper"

        @hookimpl(wrapper=True)
        def crm_nav_items(self, user):
            return (yield)
    with pytest.raises(PluginError, match="'wrapper'.*wrapper"):
        PluginHost([Wrapper()])


def _models_plugin(name, *models):
    class Plugin:
        PLUGIN_NAME = name

        @hookimpl
        def crm_register_models(self):
            return list(models)
    return Plugin()


class GoodThing(BaseModel):
    label = CharField()

    class Meta:
        table_name = "good_thing"


class Unprefixed(BaseModel):
    label = CharField()

    class Meta:
        table_name = "thing"


class CoreClash(BaseModel):
    class Meta:
        table_name = "customer"


class OwnDatabase(Model):
    class Meta:
        database = SqliteDatabase(":memory:")
        table_name = "good_other"


def test_models_are_kept_when_they_are_the_plugins_own():
    host = PluginHost([example, _models_plugin("good", GoodThing)])
    assert set(host.models) == {GoodThing, *example.crm_register_models()}


@pytest.mark.parametrize("model, error", [
    ("not a model", "not a peewee model class"),
    (Unprefixed, "table 'thing' of Unprefixed must be prefixed with the plugin's name"),
    (CoreClash, "table 'customer' belongs to 'core'"),
    (OwnDatabase, "must use crm.db.database"),
])
def test_a_model_that_is_not_the_plugins_own_stops_start_up(model, error):
    with pytest.raises(PluginError, match=error) as caught:
        PluginHost([_models_plugin("good", model)])
    assert caught.value.plugin == "good"


class SharedThing(BaseModel):
    class Meta:
        table_name = "good_x_thing"     # prefixed both "good_" and "good_x_"


def test_two_plugins_claiming_one_table_stop_start_up():
    with pytest.raises(PluginError, match="table 'good_x_thing' belongs to 'good"):
        PluginHost([_models_plugin("good", SharedThing), _models_plugin("good_x", SharedThing)])


def _migrations_plugin(name, *sets):
    class Plugin:
        PLUGIN_NAME = name

        @hookimpl
        def crm_register_migrations(self):
            return list(sets)
    return Plugin()


@pytest.mark.parametrize("sets, error", [
    ([("other", HERE)], "migration owner 'other' must be the plugin's name 'mig'"),
    ([("core", HERE)], "the migration history 'core' belongs to 'core'"),
    ([("mig", os.path.join(HERE, "missing"))], "does not exist"),
    ([("mig", HERE), ("mig", HERE)], "the migration history 'mig' belongs to 'mig'"),
])
def test_a_bad_migration_history_stops_start_up(sets, error):
    plugin = _migrations_plugin("mig", *[MigrationSet(o, d) for o, d in sets])
    with pytest.raises(PluginError, match=error):
        PluginHost([plugin])


def test_a_migration_set_must_be_a_migration_set():
    with pytest.raises(PluginError, match="not a crm.migrate.MigrationSet"):
        PluginHost([_migrations_plugin("mig", ("mig", HERE))])


# -- hooks a plugin offers --------------------------------------------------------------------

class Contributor:
    PLUGIN_NAME = "contributor"

    @hookimpl(optionalhook=True)
    def example_panel_lines(self, customer):
        return [f"line for {customer}"]


def test_a_plugin_offers_its_own_hooks_to_other_plugins():
    host = PluginHost([example, Contributor()])
    assert host.safe_call("example_panel_lines", customer="C1") == [
        ("contributor", ["line for C1"])]


def test_an_optional_implementation_survives_the_offering_plugin_being_disabled():
    host = PluginHost([example, Contributor()], disabled=["example"])
    assert names(host) == ["contributor"]


def test_implementing_an_absent_plugins_hook_without_optionalhook_stops_start_up():
    class Strict:
        PLUGIN_NAME = "strict"

        @hookimpl
        def example_panel_lines(self, customer):
            return []
    PluginHost([example, Strict()])                      # fine while example is there
    with pytest.raises(PluginError, match="'strict'.*example_panel_lines"):
        PluginHost([Strict()])


def test_offered_hooks_must_carry_the_offering_plugins_name():
    specs = types.ModuleType("bad_specs")
    marker = __import__("pluggy").HookspecMarker("crm")

    @marker
    def crm_steal_the_prefix(customer):
        """A core-looking hook."""
    specs.crm_steal_the_prefix = crm_steal_the_prefix

    class Offers:
        PLUGIN_NAME = "offers"

        @hookimpl
        def crm_register_hookspecs(self):
            return [specs]
    with pytest.raises(PluginError, match="'offers'.*must be named offers_"):
        PluginHost([Offers()])


# -- safe_call and collect ------------------------------------------------------------------

class Good:
    PLUGIN_NAME = "good"

    @hookimpl
    def crm_nav_items(self, user):
        return [NavItem("Good", "good.index", 50)]

    @hookimpl
    def crm_dashboard_cards(self, user):
        return [Card("shared", "Good card", lambda u: "good")]

    @hookimpl
    def crm_customer_list_columns(self, user):
        return [Column("good_col", "Good", lambda customers: {c: "ok" for c in customers})]

    @hookimpl
    def crm_render_value(self, name, value, context):
        return f"good:{value}" if name == "x" else None


class Bad:
    PLUGIN_NAME = "bad"

    @hookimpl
    def crm_nav_items(self, user):
        raise RuntimeError("nav exploded")

    @hookimpl
    def crm_dashboard_cards(self, user):
        return [Card("shared", "Same name", lambda u: "bad")]

    @hookimpl
    def crm_customer_list_columns(self, user):
        return [Column("bad_col", "Bad", lambda customers: 1 / 0)]

    @hookimpl(tryfirst=True)
    def crm_render_value(self, name, value, context):
        raise RuntimeError("render exploded")


class Sloppy:
    PLUGIN_NAME = "sloppy"

    @hookimpl
    def crm_nav_items(self, user):
        return NavItem("Not in a list", "x.index")

    @hookimpl
    def crm_dashboard_cards(self, user):
        return [Panel("p", "A panel is not a card", lambda c, u: "")]


def test_safe_call_drops_only_the_failing_plugins_result():
    host = PluginHost([Good(), Bad()])
    results = host.safe_call("crm_nav_items", user=None)
    assert [name for name, _ in results] == ["good"]
    assert host.failures == [("bad", "crm_nav_items", "RuntimeError: nav exploded")]


def test_call_all_lets_a_start_up_failure_propagate():
    class Fails:
        PLUGIN_NAME = "fails"

        @hookimpl
        def crm_register_permissions(self):
            raise RuntimeError("cannot start")
    with pytest.raises(RuntimeError, match="cannot start"):
        PluginHost([Fails()]).call_all("crm_register_permissions")


def test_collect_flattens_sorts_and_names_the_plugin():
    host = PluginHost([Good(), Bad(), example])
    items = host.collect("crm_nav_items", user=None)
    assert [(i.label, i.order) for i in items] == [("Good", 50), ("Notes", 70)]
    column = {c.name: c for c in host.collect("crm_customer_list_columns", user=None)}
    assert column["good_col"].plugin == "good" and column["example_note"].plugin == "example"


def test_collect_drops_a_contribution_of_the_wrong_shape():
    host = PluginHost([Good(), Sloppy()])
    assert [i.label for i in host.collect("crm_nav_items", user=None)] == ["Good"]
    assert [c.title for c in host.collect("crm_dashboard_cards", user=None)] == ["Good card"]
    assert host.failures == [
        ("sloppy", "crm_nav_items", "TypeError: returned NavItem, expected a list"),
        ("sloppy", "crm_dashboard_cards", "TypeError: returned Panel, expected Card")]


def test_collect_keeps_the_first_of_two_descriptors_with_one_name():
    host = PluginHost([Good(), Bad()])      # bad registered last: called first
    cards = host.collect("crm_dashboard_cards", user=None)
    assert [(c.title, c.plugin) for c in cards] == [("Same name", "bad")]
    assert host.failures[-1] == ("good", "crm_dashboard_cards",
                                 "ValueError: the name 'shared' is taken by plugin 'bad'")


def test_a_failing_column_loader_gives_empty_cells_and_is_recorded():
    host = PluginHost([Good(), Bad()])
    columns = {c.name: c for c in host.collect("crm_customer_list_columns", user=None)}
    assert columns["good_col"].load([1, 2]) == {1: "ok", 2: "ok"}
    assert columns["bad_col"].load([1, 2]) == {}
    assert host.failures[-1] == ("bad", "Column.load(bad_col)",
                                 "ZeroDivisionError: division by zero")


def test_first_skips_a_failing_plugin():
    host = PluginHost([Good(), Bad()])
    assert host.first("crm_render_value", name="x", value=1, context={}) == "good:1"
    assert host.first("crm_render_value", name="y", value=1, context={}) is None
    assert host.failures[0] == ("bad", "crm_render_value", "RuntimeError: render exploded")


def test_failures_are_capped():
    host = PluginHost([Bad()])
    for _ in range(150):
        host.safe_call("crm_nav_items", user=None)
    assert len(host.failures) == 100


def test_two_hosts_share_nothing():
    """One plugin manager per app: registering in one host leaks nothing into another."""
    first, second = PluginHost([Good()]), PluginHost([])
    assert names(first) == ["good"] and names(second) == []
    assert second.collect("crm_nav_items", user=None) == []
    assert "tests.plugins.example_plugin.hooks" in sys.modules   # imported, yet not registered
