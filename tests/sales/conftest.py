"""Fixtures of the sales pipeline's tests: the app with the plugin, and seeding helpers."""
from __future__ import annotations

import pytest

from plugins.sales import hooks as sales_hooks
from tests.core.conftest import Seed


@pytest.fixture
def plugins():
    return [sales_hooks]


@pytest.fixture
def seed(app):
    return Seed(app)


@pytest.fixture
def deals(app, seed):
    """``deals.open(customer_id, username, stage=name, **fields)`` creates a deal."""
    class Deals:
        def stage(self, name):
            from plugins.sales.models import Stage
            with seed.ctx():
                return Stage.get(Stage.name == name)

        def open(self, customer_id, username="sales", stage="初步接触", products=(), now=None,
                 **fields):
            from crm.customers.models import Customer
            from plugins.sales import services
            user = seed.user(username)
            data = {"title": "年度采购", "amount_fen": 0, "owner": user.id}
            data.update(fields)
            target = self.stage(stage)
            with seed.ctx():
                return services.create_deal(Customer.get_by_id(customer_id), user, data,
                                            target, list(products), now=now)

        def get(self, deal_id):
            from plugins.sales.models import Deal
            with seed.ctx():
                return Deal.get_by_id(deal_id)
    return Deals()
