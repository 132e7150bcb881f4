"""Fixtures of the insights tests: the app with the insights, sales and service plugins, and a
``facts`` helper that writes hand-made rows with exact dates (purchases, activities, tickets,
deals) so that each expected figure can be computed by hand in the test."""
from __future__ import annotations

import datetime as dt

import pytest

from plugins.insights import hooks as insights_hooks
from plugins.sales import hooks as sales_hooks
from plugins.service import hooks as service_hooks
from tests.core.conftest import Seed

# 12:00 on 15 June 2026 in Shanghai: "this month" is June, "last month" is May
NOW = dt.datetime(2026, 6, 15, 4, 0)


def at(text: str) -> dt.datetime:
    """A naive UTC datetime from "2026-06-02" or "2026-06-02 10:00"."""
    return dt.datetime.fromisoformat(text)


@pytest.fixture
def plugins():
    return [insights_hooks, sales_hooks, service_hooks]


@pytest.fixture
def seed(app):
    return Seed(app)


class Facts:
    def __init__(self, seed: Seed):
        self.seed = seed
        self.tickets = 0

    def customer(self, name: str, owner: str = "sales", created: str = "2025-01-01",
                 contacted: str | None = None, deleted: bool = False, **fields) -> int:
        from crm.customers.models import Customer
        customer = self.seed.customer(name, owner=owner, **fields)
        with self.seed.ctx():
            Customer.update(created_at=at(created),
                            last_contacted_at=at(contacted) if contacted else None,
                            deleted_at=at("2026-06-01") if deleted else None).where(
                Customer.id == customer.id).execute()
        return customer.id

    def purchase(self, customer_id: int, when: str, fen: int, status: str = "completed"):
        from crm.purchases.models import Purchase
        with self.seed.ctx():
            Purchase.create(customer=customer_id, purchased_at=at(when), total_fen=fen,
                            status=status, created_at=at(when))

    def activity(self, customer_id: int, when: str, kind: str = "call", times: int = 1):
        from crm.activities.models import Activity
        with self.seed.ctx():
            Activity.insert_many([dict(customer=customer_id, kind=kind, summary="hand-made",
                                       occurred_at=at(when) + dt.timedelta(minutes=i))
                                  for i in range(times)]).execute()

    def ticket(self, customer_id: int, created: str, type: str = "complaint", **times):
        from plugins.service.models import Ticket
        self.tickets += 1
        values = {k: (at(v) if isinstance(v, str) else v) for k, v in times.items()}
        with self.seed.ctx():
            Ticket.create(number=f"FKTEST{self.tickets:04d}", customer=customer_id, type=type,
                          channel="phone", subject="hand-made", status="closed",
                          created_at=at(created), updated_at=at(created), **values)

    def deal(self, customer_id: int, kind: str, closed: str | None, created: str | None = None):
        from plugins.sales.models import Deal, Stage
        with self.seed.ctx():
            stage = Stage.select().where(Stage.kind == kind).first() or \
                Stage.create(name=f"test {kind}", kind=kind, position=99)
            extra = {"created_at": at(created)} if created else {}
            Deal.create(customer=customer_id, title="hand-made", stage=stage.id,
                        closed_at=at(closed) if closed else None, **extra)

    def set(self, customer_id: int, **fields):
        """Change a customer's columns directly (source, department...)."""
        from crm.customers.models import Customer
        with self.seed.ctx():
            Customer.update(**fields).where(Customer.id == customer_id).execute()

    def department(self, name: str) -> int:
        from crm.accounts.models import Department
        with self.seed.ctx():
            return Department.get(Department.name == name).id

    def score(self, customer_id: int, segment: str):
        """A hand-made score row (what the refresh would write), for breakdowns by segment."""
        from plugins.insights.models import CustomerScore
        with self.seed.ctx():
            CustomerScore.insert(customer_id=customer_id, segment=segment,
                                 computed_at=NOW).execute()

    def spend(self, channel: str, month: str, fen: int):
        import datetime as _dt

        from plugins.insights.models import MarketingSpend
        with self.seed.ctx():
            MarketingSpend.create(channel=channel, month=_dt.date.fromisoformat(month),
                                  amount_fen=fen)

    def run(self, fn, *args, **kwargs):
        return self.seed.run(fn, *args, **kwargs)


@pytest.fixture
def facts(seed):
    return Facts(seed)
