"""Fixtures of the community plugin's tests: the app with the plugin (a module may add loyalty
by overriding ``plugins``), seeding through the plugin's services in short app contexts (see
tests/core/conftest.py for why no context is held open across requests)."""
from __future__ import annotations

import datetime as dt

import pytest

from crm.db import utcnow
from plugins.community import hooks as community_hooks
from tests.core.conftest import Seed

T = dt.datetime(2026, 6, 1, 4, 0)        # "now" of the hand-made data sets (naive UTC)


@pytest.fixture
def plugins():
    return [community_hooks]


@pytest.fixture
def seed(app):
    return Seed(app)


class Community:
    """The plugin's records, made through its services as the pages make them."""

    def __init__(self, seed: Seed):
        self.seed = seed

    def run(self, fn, *args, **kwargs):
        return self.seed.run(fn, *args, **kwargs)

    def group(self, name="茶友会", owners=(), by="admin", **fields):
        from plugins.community import services
        user = self.seed.user(by)
        owner_ids = [self.seed.user(u).id for u in owners]
        return self.run(lambda: services.create_group(user, name, owner_ids=owner_ids,
                                                      **fields))

    def member(self, group, customer, role="member", by="admin", joined_on=None):
        from plugins.community import services
        user = self.seed.user(by)
        return self.run(lambda: services.add_member(group, customer, role, user,
                                                    joined_on or dt.date(2026, 1, 5)))

    def event(self, group, title="春茶品鉴会", starts_at=None, capacity=0, by="admin"):
        from plugins.community import services
        user = self.seed.user(by)
        starts_at = starts_at or utcnow() + dt.timedelta(days=7)
        return self.run(lambda: services.create_event(group, user, title, starts_at, capacity,
                                                      "门店二楼"))

    def sign_up(self, event, customer, by="admin", now=None):
        from plugins.community import services
        user = self.seed.user(by)
        return self.run(lambda: services.sign_up(event, customer, user, now=now))

    def cancel(self, event, customer, now=None):
        from plugins.community import services
        return self.run(lambda: services.cancel_signup(event, customer.id, now=now))

    def check_in(self, event, customer, by="admin", now=None):
        from plugins.community import services
        user = self.seed.user(by)
        return self.run(lambda: services.check_in(event, customer, user, now=now))

    def topic(self, group, customer=None, title="今年的龙井什么时候到货？", by="admin",
              now=None, body="想提前预订"):
        from plugins.community import services
        user = self.seed.user(by)
        return self.run(lambda: services.post_topic(group, user, customer, title, body,
                                                    now=now))

    def reply(self, topic, customer=None, body="三月底到货", by="admin", now=None):
        from plugins.community import services
        user = self.seed.user(by)
        return self.run(lambda: services.reply(topic, user, customer, body, now=now))

    def get(self, model, id_):
        return self.run(lambda: model.get_by_id(id_))


@pytest.fixture
def community(seed):
    return Community(seed)
