"""Fixtures of the needs register's tests: the app with the plugin, and seeding helpers."""
from __future__ import annotations

import datetime as dt

import pytest

from plugins.needs import hooks as needs_hooks
from tests.core.conftest import Seed


@pytest.fixture
def plugins():
    return [needs_hooks]


@pytest.fixture
def seed(app):
    return Seed(app)


@pytest.fixture
def needs(app, seed):
    class Needs:
        def register(self, customer_id, username="sales", today=None, **fields):
            from crm.customers.models import Customer
            from plugins.needs import services
            user = seed.user(username)
            data = {"kind": "explicit", "type": "function", "title": "需要开放 API",
                    "statement": "订单要自动同步到 ERP", "situation": "", "evidence": "",
                    "contact": None, "urgency": 3, "importance": 3, "customer_value": 3}
            data.update(fields)
            with seed.ctx():
                return services.create_need(Customer.get_by_id(customer_id), user, data,
                                            today or dt.date.today())

        def get(self, need_id):
            from plugins.needs.models import Need
            with seed.ctx():
                return Need.get_by_id(need_id)
    return Needs()
