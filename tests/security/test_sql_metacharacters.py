"""SQL metacharacters in every search box and filter, generated: the parameters of every GET
endpoint are read from its page (the inputs and selects of its GET forms, the query strings of
its own links) plus the usual ``q``/``page``/``sort``; each is sent ' " ; -- % _ \\ and a UNION
SELECT.  The answer is 200 (or a 400 with a message), never a server error; and on the customer
list the results are right: a metacharacter matches literally (``%`` and ``_`` are no
wildcards, a quote closes nothing), exactly the customers that contain it.
"""
from __future__ import annotations

import re

import pytest

from tests.conftest import htmx
from tests.security._support import ALLOW_LIST, forms, routes, text_of, with_query

METAS = ["'", '"', ";", "--", "%", "_", "\\"]
INJECTIONS = [
    "' UNION SELECT id, username, password_hash FROM user_account --",
    "%' OR '1'='1",
    "1; DROP TABLE customer; --",
]
VALUES = METAS + INJECTIONS
BASE_PARAMS = ("q", "page", "sort")
GET_ROUTES = [r for r in routes() if "GET" in r.methods and r.endpoint not in ALLOW_LIST]
LISTS = {"customers.index"}     # has q and page of its own even if its page did not show them


@pytest.fixture(scope="module")
def metas(world):
    """One customer per metacharacter: its name starts with it, its region and industry are
    exactly it (so a LIKE without escaping, or a string closed too early, shows)."""
    out = {}
    for i, meta in enumerate(METAS):
        customer = world.seed.customer(f"{meta}Meta {i} Trading Ltd.", owner="admin",
                                       region=meta, industry=meta)
        out[meta] = customer.id
    world.figures.sql["values"] = len(VALUES)
    return out


def params_of(world, url: str) -> tuple[list[str], int]:
    """The parameters the page's GET forms and own links use (and the usual ones), and the
    page's status without any."""
    page = world.client("admin").get(url)
    names = set(BASE_PARAMS)
    if page.status_code == 200:
        body = text_of(page)
        for form in forms(body):
            if form.method == "get":
                names |= {f["name"] for f in form.fields if f["type"] not in ("submit", "button")}
        path = url.split("?")[0]
        for link in re.findall(r'href="([^"]+)"', body):
            link = link.replace("&amp;", "&")
            if link.split("?")[0] == path and "?" in link:
                names |= {p.split("=")[0] for p in link.split("?", 1)[1].split("&")}
    return sorted(names), page.status_code


def _check(response, where, baseline: int) -> list[str]:
    """200, or a 400 with a message; a page that answers 403/404 without any parameter (it
    needs ids of its own, or a permission) may answer the same."""
    if response.status_code < 400 or response.status_code == baseline:
        return []          # a page, a redirect, an htmx 204...
    if response.status_code == 400 and len(text_of(response).strip()) > 20:
        return []          # a validation message
    return [f"{where}: {response.status_code} (without parameters: {baseline})"]


@pytest.mark.parametrize("route", GET_ROUTES, ids=lambda r: f"GET {r.rule}")
def test_metacharacters_in_every_parameter_never_break_the_page(world, metas, route):
    client = world.client("admin")
    problems = []
    requests = 0
    for url in world.urls_for_names(route):
        params, baseline = params_of(world, url)
        world.figures.sql["params"][route.rule] = params
        # a page with no parameter of its own ignores them all: one request with every value
        values = VALUES if set(params) - set(BASE_PARAMS) or route.endpoint in LISTS \
            else [" ".join(VALUES)]
        for n, value in enumerate(values):
            for headers in ({}, htmx("results")) if n % 4 == 0 else ({},):
                target = with_query(url, **dict.fromkeys(params, value))
                response = client.get(target, headers=headers)
                requests += 1
                problems += _check(response, f"{target} ({'htmx' if headers else 'page'})",
                                   baseline if baseline in (403, 404) else 200)
                if "$argon2" in text_of(response):
                    problems.append(f"{target}: a password hash is in the answer")
    world.figures.sql["requests"] += requests
    world.figures.cover("sql", f"GET {route.rule}")
    assert not problems, "\n".join(problems)


def _shown(client, query: str) -> set[int]:
    body = text_of(client.get(f"/customers?{query}", headers=htmx("results")))
    return {int(i) for i in re.findall(r'href="/customers/(\d+)"', body)}


def _everyone(world) -> set[int]:
    from crm.customers.models import Customer
    with world.ctx():
        return {c.id for c in Customer.select(Customer.id).where(Customer.deleted_at.is_null())}


@pytest.mark.parametrize("param", ["q", "region", "industry"])
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_metacharacter_matches_literally(world, metas, param, value):
    """q: a term matches the customers with a token starting with it (the metacharacter
    customer only); region and industry: exactly equal.  '%' or '_' never match everything."""
    from urllib.parse import urlencode
    client = world.client("admin")
    shown = _shown(client, urlencode({param: value}))
    world.figures.sql["requests"] += 1
    expected = {metas[value]} if value in metas else set()
    assert shown == expected, (param, value, sorted(shown), sorted(expected))
    assert not (_everyone(world) <= shown), f"{param}={value!r} matched every customer"


@pytest.mark.parametrize("param", ["owner", "tag", "stale", "page", "sort", "value_class"])
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_metacharacter_in_a_typed_filter_is_ignored_or_matches_nothing(world, metas, param,
                                                                       value):
    """Numeric filters (owner, tag, stale days, page) and choices (sort) ignore a value that is
    not theirs: the list is the unfiltered one.  value_class compares one character: nobody."""
    from urllib.parse import urlencode
    client = world.client("admin")
    shown = _shown(client, urlencode({param: value}))
    world.figures.sql["requests"] += 1
    expected = set() if param == "value_class" else _everyone(world)
    assert shown == expected, (param, value, sorted(shown), sorted(expected))


def test_the_search_still_finds_by_prefix(world, metas):
    """The control: the list search works, so the empty answers above are not a broken list."""
    client = world.client("admin")
    # "meta" starts a word of the names whose metacharacter is no word character
    assert _shown(client, "q=meta") == {metas[m] for m in ("'", '"', ";", "%", "\\")}
    assert _shown(client, "q=--meta") == {metas["--"]}
    assert _shown(client, "q=%25meta") == {metas["%"]}
    assert _shown(client, "region=_") == {metas["_"]}
