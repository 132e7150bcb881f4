"""The meta-test: every endpoint of the URL map (core and plugins) is covered by the generated
security tests, or is on the small allow-list with a reason.  Runs last in tests/security (its
name sorts last) so that it can also check what the other modules actually exercised.

Classes of endpoints (tests/security/_support.py):

* state-changing methods (POST, PUT, PATCH, DELETE): test_csrf_generated.py, all of them;
* rules with a record id scoped by customer: test_scope_generated.py (404 outside the scope);
* other GET rules (lists, dashboards, forms, admin pages): test_collections_generated.py
  (nothing outside the scope, no browsing for a clerk);
* every GET rule: test_xss_corpus.py (stored and reflected payloads) and
  test_sql_metacharacters.py (metacharacters in every parameter);
* ``ALLOW_LIST``: GET endpoints that need none of the scope checks, each with its reason.
"""
from __future__ import annotations

import pytest

from tests.security import _support
from tests.security._support import (ALLOW_LIST, ARGS, NAMED, STATE_CHANGING, collection_cases,
                                     record_cases, routes, state_changing_cases)


def test_every_url_argument_has_a_factory():
    problems = []
    for route in routes():
        for arg in route.unknown_args:
            problems.append(f"{route.rule} ({route.endpoint}): no factory for <{arg}>: add it to "
                            f"ARGS in tests/security/_support.py (scoped by customer or not)")
        if "name" in route.arguments and route.endpoint not in NAMED and \
                route.endpoint not in ALLOW_LIST:
            problems.append(f"{route.rule} ({route.endpoint}): <name> of an unknown kind: add "
                            f"the endpoint to NAMED in tests/security/_support.py")
    assert not problems, "\n".join(problems)


def test_every_endpoint_is_covered_or_allow_listed():
    csrf = {r.label(m) for r, m in state_changing_cases()}
    scope = {r.label(m) for r, m in record_cases()}
    collections = {f"GET {r.rule}" for r in collection_cases()}
    allowed = {f"GET {r.rule}" for r in routes() if r.endpoint in ALLOW_LIST}
    problems = []
    for route in routes():
        for method in route.methods:
            label = route.label(method)
            if method in STATE_CHANGING and label not in csrf:
                problems.append(f"{label}: not in the CSRF test")
            if route.scoped_args and label not in scope:
                problems.append(f"{label}: takes a scoped record id but is not in the scope test")
            if method == "GET" and not route.scoped_args and label not in collections | allowed:
                problems.append(f"{label}: a GET endpoint in no test and not allow-listed")
            if method not in STATE_CHANGING + ("GET",):
                problems.append(f"{label}: method {method} is in no test")
    assert not problems, "\n".join(problems)


def test_the_allow_list_is_small_explained_and_current():
    endpoints = {r.endpoint for r in routes()}
    stale = sorted(set(ALLOW_LIST) - endpoints)
    assert not stale, f"allow-listed endpoints that no longer exist: {stale}"
    assert len(ALLOW_LIST) <= 5, "the allow-list is meant to stay small"
    for endpoint, reason in ALLOW_LIST.items():
        assert len(reason) > 20, f"{endpoint}: say why it needs no check"
        route = next(r for r in routes() if r.endpoint == endpoint)
        assert not route.scoped_args, f"{endpoint} takes a record id: it cannot be allow-listed"
    assert all(ARGS[a].scoped is False for a in ("product_id", "user_id"))


# generated test -> the check it records in the figures (the controls record nothing)
CHECKS = {
    "test_without_a_valid_token_nothing_happens": "csrf",
    "test_a_record_outside_the_scope_is_404": "scope",
    "test_record_ids_in_the_query_or_the_form_outside_the_scope": "scope ids in query/form",
    "test_no_customer_outside_the_scope_is_shown": "collections",
    "test_every_page_showing_the_payloads_escapes_them": "xss",
    "test_metacharacters_in_every_parameter_never_break_the_page": "sql",
}


def _label(item) -> str | None:
    params = getattr(item, "callspec", None)
    if params is None:
        return None
    for key in ("case", "route"):
        value = params.params.get(key)
        if isinstance(value, tuple):
            return value[0].label(value[1])
        if isinstance(value, _support.Route):
            return f"GET {value.rule}"
    return None


def test_the_generated_tests_exercised_every_endpoint_they_were_given(request, figures):
    """At run time: every endpoint a generated test was collected for was really requested
    (a test that skipped its endpoint, or died before requesting it, shows here)."""
    expected: dict[str, set] = {}
    for item in request.session.items:
        check = CHECKS.get(getattr(item, "originalname", ""))
        if check and _label(item) and item.module.__name__.startswith("tests.security."):
            if any(m.name == "xfail" for m in item.iter_markers()):
                continue      # a known bug: it may stop before recording
            expected.setdefault(check, set()).add(_label(item))
    if not expected:
        pytest.skip("no generated test ran in this session")
    missing = {check: sorted(labels - figures.covered.get(check, set()))
               for check, labels in expected.items()}
    missing = {check: labels for check, labels in missing.items() if labels}
    assert not missing, f"endpoints collected but never exercised: {missing}"
