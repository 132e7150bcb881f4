"""Fixtures of the recommendations' tests: the app with the plugin, and a small shop whose
purchases are made by hand, at known times, so that expected scores can be worked out."""
from __future__ import annotations

import datetime as dt

import pytest

from plugins.recommendations import hooks as recommendations_hooks
from tests.core.conftest import Seed

AS_OF = dt.datetime(2026, 6, 1, 12, 0)


@pytest.fixture
def plugins():
    return [recommendations_hooks]


@pytest.fixture
def seed(app):
    return Seed(app)


@pytest.fixture
def shop(seed):
    """Products and a helper that records a purchase ``days`` before ``AS_OF``."""
    class Shop:
        as_of = AS_OF

        def __init__(self):
            self.tea = seed.product("TEA-1", "Tea", 10000)
            self.cup = seed.product("CUP-1", "Cup", 5000)
            self.gift = seed.product("GFT-1", "Gift box", 20000)
            self.snack = seed.product("SNK-1", "Snack", 1000)

        def buy(self, customer, *products, days: float, username: str = "admin",
                quantity: int = 1):
            from crm.purchases import services
            user = seed.user(username)
            with seed.ctx():
                from crm.customers.models import Customer
                return services.record_purchase(
                    Customer.get_by_id(customer.id), user,
                    [(p.id, quantity) for p in products],
                    purchased_at=AS_OF - dt.timedelta(days=days))
    return Shop()
