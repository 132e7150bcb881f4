"""CSRF, generated from the URL map: every state-changing method of every rule, core and plugin,
sent by a signed-in administrator without a valid token, is rejected (400; an htmx request may
instead get ``HX-Refresh: true``) and changes nothing in the database.

URL arguments come from real rows (tests/security/_support.py, ``ARGS``): an argument name
without a factory fails its test and says where to add one.
"""
from __future__ import annotations

import pytest

from tests.conftest import htmx
from tests.security._support import case_id, probe_body, state_changing_cases, text_of

APP_CONFIG = {"WTF_CSRF_ENABLED": True}
CASES = state_changing_cases()


@pytest.fixture(scope="module")
def target(world):
    """A customer of the CSRF tests' own (with its contact, activity, shares, plugin
    records...): the controls below really delete, purge or anonymise it."""
    return world.make_bundle("csrf", "sales", "CSRFMARK")


def _rejected(response, as_htmx: bool) -> bool:
    if response.status_code == 400:
        return True
    return as_htmx and response.headers.get("HX-Refresh") == "true"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_without_a_valid_token_nothing_happens(world, target, case):
    route, method = case
    label = route.label(method)
    client = world.client("admin")
    url = world.url(route, bundle=target)
    body = probe_body(world, target)
    attempts = [
        ("no token", {}, body, False),
        ("no token", {}, body, True),
        ("forged token in the form and the X-CSRFToken header", {"X-CSRFToken": "forged"},
         {**body, "csrf_token": "forged"}, False),
    ]
    problems = []
    before = world.snapshot()
    for what, headers, data, as_htmx in attempts:
        if True:
            sent = {**headers, **(htmx("main") if as_htmx else {})}
            response = client.open(url, method=method, data=data, headers=sent)
            world.figures.requests["csrf"] += 1
            kind = "htmx" if as_htmx else "page"
            if not _rejected(response, as_htmx):
                problems.append(f"{label} [{what}, {kind}]: answered {response.status_code} "
                                f"(HX-Refresh={response.headers.get('HX-Refresh')!r}), "
                                f"expected 400" + (" or HX-Refresh: true" if as_htmx else ""))
    changed = world.diff(before, world.snapshot())
    if changed:
        problems.append(f"{label}: the database changed: {changed}")
    world.figures.cover("csrf", label)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_with_the_token_the_same_request_gets_through(world, target, case):
    """The control: the same body with a valid token is not rejected as a CSRF failure, so
    the test above proves the token check and not a broken probe."""
    route, method = case
    for _attempt in range(2):     # a session an earlier control ended: sign in, try again
        client, token = _control_client(world)
        response = client.open(world.url(route, bundle=target), method=method,
                               data={**probe_body(world, target), "csrf_token": token},
                               headers={"X-CSRFToken": token})
        world.figures.requests["csrf control"] += 1
        if not response.headers.get("Location", "").startswith("/login"):
            break
        _signed_out(world)
    assert response.status_code != 400, (route.label(method), text_of(response)[:300])
    assert "HX-Refresh" not in response.headers


def _control_client(world):
    """An administrator's client of its own and its token (the control signs out on POST
    /logout: the next control signs in again)."""
    control = getattr(world, "_csrf_control", None)
    if control is None or control[2]:
        client = world.fresh_client("admin")
        control = world._csrf_control = [client, world.csrf(client), False]
    return control[0], control[1]


def _signed_out(world):
    world._csrf_control[2] = True


def test_the_rejected_requests_signed_nobody_out(world):
    """After every state-changing endpoint refused the administrator's untokened requests
    (POST /logout among them), the session is still there."""
    assert world.client("admin").get("/account").status_code == 200
