"""With the service desk installed, an open complaint comes first: resolve before selling.
(The plugin reads the service plugin's table with guarded raw SQL; it never imports it.)"""
from __future__ import annotations

import datetime as dt

import pytest

from plugins.recommendations import hooks, services
from plugins.service import hooks as service_hooks
from tests.conftest import htmx

from .conftest import AS_OF


@pytest.fixture
def plugins():
    return [hooks, service_hooks]


def _ticket(seed, customer, kind="complaint", status="new", number="FK2026050001"):
    from plugins.service.models import Ticket
    with seed.ctx():
        return Ticket.create(number=number, customer=customer.id, type=kind, channel="phone",
                             subject="热水器漏水", status=status,
                             created_at=AS_OF - dt.timedelta(days=31))


def test_open_complaint_comes_first_and_can_be_dismissed(seed, shop, client, login):
    customer = seed.customer("Unhappy", owner="sales", value_class="A")
    shop.buy(customer, shop.tea, days=120)
    ticket = _ticket(seed, customer)
    _ticket(seed, customer, kind="inquiry", number="FK2026050002")
    _ticket(seed, customer, status="closed", number="FK2026050003")
    got = seed.run(services.next_actions, seed.get_customer(customer.id), AS_OF.date(), AS_OF)
    assert [a.kind for a in got] == ["complaint", "winback"]
    assert got[0].key == f"complaint:{ticket.id}" and got[0].facts["number"] == "FK2026050001"
    assert got[0].facts["days"] == 31
    login("sales")
    url = "/customers/{}/panels/{}".format(customer.id, hooks.PANEL)
    text = client.get(url).get_data(as_text=True)
    assert "Resolve the open complaint before offering products." in text
    assert f"/service/tickets/{ticket.id}" in text or "Open the ticket" in text
    partial = client.post(f"/recommendations/customers/{customer.id}/dismiss",
                          data={"action": f"complaint:{ticket.id}"},
                          headers=htmx(f"reco-{customer.id}"))
    assert partial.status_code == 200
    assert b"Resolve the open complaint" not in partial.data and b"Win-back call" in partial.data


def test_a_resolved_complaint_is_no_action(seed):
    customer = seed.customer("Fine now", owner="sales")
    _ticket(seed, customer, status="resolved")
    assert seed.run(services.open_complaint, customer.id) is None
