"""Fixtures of the service desk's tests: the app with the plugin, and seeding helpers."""
from __future__ import annotations

import pytest

from plugins.service import hooks as service_hooks
from tests.core.conftest import Seed


@pytest.fixture
def plugins():
    return [service_hooks]


@pytest.fixture
def seed(app):
    return Seed(app)


@pytest.fixture
def tickets(app, seed):
    """``tickets.open(customer_id, username, **fields)`` opens a ticket through the service."""
    class Tickets:
        def open(self, customer_id, username="service", now=None, **fields):
            from crm.customers.models import Customer
            from plugins.service import services
            user = seed.user(username)
            data = {"type": "complaint", "channel": "phone", "priority": "normal",
                    "subject": "漏水", "content": "热水器漏水", "contact": None,
                    "product": None, "assignee": None}
            data.update(fields)
            with seed.ctx():
                return services.create_ticket(
                    Customer.get_by_id(customer_id), user, data,
                    services.Settings.from_config(app.config), now=now)

        def get(self, ticket_id):
            from plugins.service.models import Ticket
            with seed.ctx():
                return Ticket.get_by_id(ticket_id)
    return Tickets()
