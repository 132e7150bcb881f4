"""``crm_customer_list_filters``: a plugin's filter narrows the customer list and its export,
pagination links keep it, a value it cannot use shows a message, and a plugin whose filter
fails is left out (recorded) while the list stays whole."""
from __future__ import annotations

import pytest

from crm import ListFilter, hookimpl
from tests.conftest import htmx
from tests.plugins.example_plugin import hooks as example
from tests.plugins.helpers import create_customer, ctx


class BrokenFilters:
    """Two filters that fail: one raises, one returns something that is not an expression."""
    PLUGIN_NAME = "brokenfilters"

    @hookimpl
    def crm_customer_list_filters(self, user):
        def boom(value):
            raise RuntimeError("the filter fails on purpose")
        return [ListFilter("broken_boom", "Boom", boom),
                ListFilter("broken_shape", "Shape", lambda value: "not an expression")]


@pytest.fixture
def plugins():
    return [example, BrokenFilters()]


def _pin(app, customer, text):
    from tests.plugins.example_plugin import services
    with ctx(app):
        services.save_note(customer, text)
        services.toggle_pin(customer)


def _names(client, query):
    response = client.get("/customers?" + query, headers=htmx("results"))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    return {n for n in ("Pinned Trading Ltd.", "Plain Trading Ltd.") if n in text}, text


def test_a_plugin_filter_narrows_the_list_and_the_export(app, login):
    pinned = create_customer(app, "Pinned Trading Ltd.")
    create_customer(app, "Plain Trading Ltd.")
    _pin(app, pinned, "VIP")
    client = login("admin")
    page = client.get("/customers").get_data(as_text=True)
    assert 'name="x_example_pinned"' in page and "Pinned note" in page
    assert _names(client, "")[0] == {"Pinned Trading Ltd.", "Plain Trading Ltd."}
    assert _names(client, "x_example_pinned=1")[0] == {"Pinned Trading Ltd."}
    assert _names(client, "x_example_pinned=0")[0] == {"Plain Trading Ltd."}
    shown, text = _names(client, "x_example_pinned=maybe")
    assert shown == {"Pinned Trading Ltd.", "Plain Trading Ltd."}
    assert "Pinned note: Choose pinned or not pinned." in text
    assert "x_example_pinned=1" in client.get("/customers?x_example_pinned=1").get_data(
        as_text=True)                                        # links keep the filter
    export = client.get("/customers/export?format=csv&columns=name&x_example_pinned=1")
    assert export.status_code == 200
    body = export.get_data(as_text=True)
    assert "Pinned Trading Ltd." in body and "Plain Trading Ltd." not in body


def test_a_failing_filter_does_not_break_the_list(app, login):
    create_customer(app, "Plain Trading Ltd.")
    client = login("admin")
    page = client.get("/customers?x_broken_boom=1&x_broken_shape=1")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Plain Trading Ltd." in text and "</html>" in text
    assert "The filter “Boom” could not be applied." in text
    assert "The filter “Shape” could not be applied." in text
    failures = app.extensions["crm.plugins"].failures
    assert any(p == "brokenfilters" and "ListFilter.where(broken_boom)" in w
               and "the filter fails on purpose" in e for p, w, e in failures)
    assert any("ListFilter.where(broken_shape)" in w and "expected an expression" in e
               for _p, w, e in failures)
    # the example plugin's filter still works beside them
    assert _names(client, "x_example_pinned=0&x_broken_boom=1")[0] == {"Plain Trading Ltd."}


def test_a_hook_that_raises_leaves_only_its_filters_out(app, login):
    class Raising:
        PLUGIN_NAME = "raising"

        @hookimpl
        def crm_customer_list_filters(self, user):
            raise RuntimeError("no filters today")
    app.extensions["crm.plugins"].register(Raising())
    create_customer(app, "Plain Trading Ltd.")
    client = login("admin")
    page = client.get("/customers").get_data(as_text=True)
    assert "Plain Trading Ltd." in page and 'name="x_example_pinned"' in page
    assert any(p == "raising" for p, _w, _e in app.extensions["crm.plugins"].failures)


def test_counter_lookup_has_no_plugin_filters(app, login):
    create_customer(app, "Plain Trading Ltd.")
    client = login("clerk")
    page = client.get("/customers?x_example_pinned=1").get_data(as_text=True)
    assert 'name="x_example_pinned"' not in page
