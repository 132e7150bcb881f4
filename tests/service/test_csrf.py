"""With CSRF protection on (as in production): every state-changing form of the three plugins
carries the token, and a post without it is refused."""
from __future__ import annotations

import pytest

from plugins.needs import hooks as needs_hooks
from plugins.sales import hooks as sales_hooks
from plugins.service import hooks as service_hooks
from tests.conftest import csrf_token


@pytest.fixture
def plugins():
    return [service_hooks, sales_hooks, needs_hooks]


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _login(client):
    page = client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": "test-pass-1",
                                           "csrf_token": csrf_token(page.data)})
    assert response.status_code == 303


def test_posts_need_the_token(client, seed, tickets):
    customer = seed.customer("杭州华信科技有限公司", owner="sales")
    ticket = tickets.open(customer.id)
    _login(client)
    url = f"/service/tickets/{ticket.id}"
    assert client.post(f"{url}/start", data={"version": "1"}).status_code == 400
    page = client.get(url).data
    assert client.post(f"{url}/start", data={"version": "1",
                                             "csrf_token": csrf_token(page)}).status_code == 303
    form = client.get(f"/sales/customers/{customer.id}/deals/new").data
    assert client.post(f"/sales/customers/{customer.id}/deals/new",
                       data={"title": "x"}).status_code == 400
    assert b'name="csrf_token"' in form
    need = client.get(f"/needs/customers/{customer.id}/new").data
    assert b'name="csrf_token"' in need
    stages = client.get("/sales/settings/stages").data
    assert stages.count(b'name="csrf_token"') + stages.count(b'-csrf_token"') >= 7


def test_the_prefixed_stage_forms_carry_their_token(client, seed):
    import re
    _login(client)
    page = client.get("/sales/settings/stages").data
    stage_id, token = re.search(rb'name="s(\d+)-csrf_token" type="hidden" value="([^"]+)"',
                                page).groups()
    prefix = f"s{stage_id.decode()}-"
    response = client.post(f"/sales/settings/stages/{stage_id.decode()}", data={
        prefix + "csrf_token": token.decode(), prefix + "name": "初步接触", prefix + "position": "10",
        prefix + "probability": "15", prefix + "kind": "open", prefix + "stuck_days": "14",
        prefix + "active": "y"})
    assert response.status_code == 303
