"""Dismissing is a state change: without the CSRF token it is refused."""
from __future__ import annotations

import pytest

from plugins.recommendations import hooks
from tests.conftest import csrf_token


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def test_dismiss_needs_the_csrf_token(seed, shop, client):
    from plugins.recommendations.models import Dismissed
    from tests.conftest import PASSWORD
    key = seed.customer("Key account", owner="sales", value_class="A")
    shop.buy(key, shop.tea, days=120)
    login_page = client.get("/login")
    response = client.post("/login", data={"username": "sales", "password": PASSWORD,
                                           "csrf_token": csrf_token(login_page.data)})
    assert response.status_code == 303
    url = f"/customers/{key.id}/panels/{hooks.PANEL}"
    page = client.get(url)
    action = page.get_data(as_text=True).split('name="action" value="', 1)[1].split('"', 1)[0]
    refused = client.post(f"/recommendations/customers/{key.id}/dismiss",
                          data={"action": action})
    assert refused.status_code == 400
    assert seed.run(lambda: Dismissed.select().count()) == 0
    accepted = client.post(f"/recommendations/customers/{key.id}/dismiss",
                           data={"action": action, "csrf_token": csrf_token(page.data)})
    assert accepted.status_code == 303
    assert seed.run(lambda: Dismissed.select().count()) == 1
