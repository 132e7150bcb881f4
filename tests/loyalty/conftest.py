"""Fixtures of the loyalty plugin's tests: the app with the plugin loaded (its migrations run
by the suite's ``app`` fixture), seeding helpers, and a member factory.

Services are called inside short app contexts (``seed.ctx()``), never one held open across
requests (see tests/core/conftest.py for why)."""
from __future__ import annotations

import datetime as dt

import pytest

from plugins.loyalty import hooks as loyalty
from tests.core.conftest import Seed

T0 = dt.datetime(2026, 3, 2, 4, 0)          # a Monday, 12:00 in Shanghai (naive UTC)


@pytest.fixture
def plugins():
    return [loyalty]


def _app_generator():
    """tests/conftest.py's ``app`` fixture function itself (an app built exactly like every
    other test's: users, departments, a fresh SQLite file or PostgreSQL schema)."""
    from tests import conftest as root
    fixture = root.app
    if hasattr(fixture, "_get_wrapped_function"):
        return fixture._get_wrapped_function()
    return getattr(fixture, "__wrapped__", fixture)


@pytest.fixture(scope="module")
def app(tmp_path_factory, request):
    """One app per test module (an app with its migrations costs about a second here): the
    tests isolate themselves by their own members and customers, and ``_defaults`` puts the
    programme, tiers and rules back before each test.  A module adds plugins beside loyalty
    with a module-level ``EXTRA_PLUGINS`` list."""
    extra = list(getattr(request.module, "EXTRA_PLUGINS", []))
    generator = _app_generator()(tmp_path_factory.mktemp("loyalty"), [loyalty] + extra, {})
    application = next(generator)
    yield application
    next(generator, None)


@pytest.fixture(scope="session", autouse=True)
def _compress_assets_once():
    """As in tests/core: brotli at quality 11 once per file per session, not per app."""
    import functools
    import types

    import brotli

    from crm.web import assets
    cached = functools.lru_cache(maxsize=64)(brotli.compress)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(assets, "brotli", types.SimpleNamespace(compress=cached))
        yield


@pytest.fixture(autouse=True)
def _defaults(app):
    """The programme, tiers and earning rules as the migration creates them."""
    from crm.db import database
    from plugins.loyalty.models import LoyaltyProgram, LoyaltyRule, LoyaltyTier
    with app.app_context():
        database.connect(reuse_if_open=True)
        try:
            LoyaltyProgram.update(pending_days=7, expiry_mode="days", expiry_days=365,
                                  expiry_years=1, cash_points_per_yuan=100, window_days=365,
                                  downgrade_policy="step", grace_days=30,
                                  card_prefix="88").execute()
            LoyaltyTier.delete().where(LoyaltyTier.code.not_in(list(TIERS)) &
                                       LoyaltyTier.id.not_in(_used_tiers())).execute()
            for code, (rank, threshold, multiplier, discount, birthday) in TIERS.items():
                LoyaltyTier.update(rank=rank + 100).where(LoyaltyTier.code == code).execute()
            for code, (rank, threshold, multiplier, discount, birthday) in TIERS.items():
                LoyaltyTier.update(rank=rank, basis="spend", threshold=threshold,
                                   multiplier_pct=multiplier, discount_pct=discount,
                                   birthday_points=birthday).where(
                    LoyaltyTier.code == code).execute()
            for kind, (points, rate) in RULES.items():
                LoyaltyRule.update(points=points, rate=rate, active=True).where(
                    LoyaltyRule.kind == kind).execute()
        finally:
            database.close()


def _used_tiers():
    from plugins.loyalty.models import LoyaltyMember
    return LoyaltyMember.select(LoyaltyMember.tier)


TIERS = {"standard": (0, 0, 100, 0, 0), "silver": (1, 200000, 120, 2, 50),
         "gold": (2, 1000000, 150, 5, 100), "diamond": (3, 5000000, 200, 10, 200)}
RULES = {"purchase": (0, 1), "checkin": (5, 0), "review": (20, 0), "birthday": (100, 0)}


@pytest.fixture
def seed(app):
    return Seed(app)


class Shop:
    """Loyalty set-up through the services: members, lots, purchases, the programme."""

    def __init__(self, seed: Seed):
        self.seed = seed

    def run(self, fn, *args, **kwargs):
        return self.seed.run(fn, *args, **kwargs)

    def program(self, **values):
        from plugins.loyalty.models import LoyaltyProgram
        self.run(lambda: LoyaltyProgram.update(**values).where(LoyaltyProgram.id == 1).execute())

    def rule(self, kind, **values):
        from plugins.loyalty.models import LoyaltyRule
        self.run(lambda: LoyaltyRule.update(**values).where(LoyaltyRule.kind == kind).execute())

    def member(self, name="张伟", owner="admin", now=T0, phone=None, **kwargs):
        from plugins.loyalty import services
        customer = self.seed.customer(name, owner=owner, phone=phone or "",
                                      kind="person")
        member, _ = self.run(lambda: services.enrol(customer, now=now, **kwargs))
        return member

    def credit(self, member_id, points, now=T0, kind="adjust"):
        """Spendable points now (an adjustment: no tier effect)."""
        from plugins.loyalty import services
        return self.run(lambda: services.adjust(member_id, points, "test credit",
                                                services.new_key(), now=now))

    def purchase(self, member, fen, when=T0, earn=True, now=None):
        """A purchase of ``fen`` recorded in the core at ``when`` (its own product), and its
        points earned at ``now`` (default: a minute later) unless ``earn`` is False."""
        import datetime as _dt
        from crm.customers.models import Customer
        from crm.purchases import services as purchases
        from crm.purchases.models import Product
        from plugins.loyalty import services

        def go():
            product = Product.create(sku=f"T-{services.new_key()[:12]}", name="Test goods",
                                     price_fen=fen)
            customer = Customer.get_by_id(member.customer_id)
            purchase = purchases.record_purchase(customer, None, [(product.id, 1)],
                                                 purchased_at=when)
            if earn:
                services.earn_for_purchase(purchase.id,
                                           now=now or when + _dt.timedelta(minutes=1))
            return purchase
        return self.run(go)

    def get(self, member_id):
        from plugins.loyalty.models import LoyaltyMember
        return self.run(lambda: LoyaltyMember.get_by_id(member_id))

    def reconcile(self):
        from plugins.loyalty import services
        return self.run(services.reconcile)


@pytest.fixture
def shop(seed):
    return Shop(seed)


@pytest.fixture
def client_for(app):
    """``client_for("clerk")``: a new test client signed in as that user (one per call, so a
    test can act as several users)."""
    from tests.conftest import PASSWORD

    def make(username: str):
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 303, response.data[:300]
        return client
    return make
