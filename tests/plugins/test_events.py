"""The outbox: domain events are written in the same transaction as the change, delivered to
``crm_handle_event`` after commit, retried for the failing plugin only, dead after
OUTBOX_MAX_ATTEMPTS and requeued by an administrator."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from peewee import CharField

from crm import Event, hookimpl
from crm.db import BaseModel, database, open_database, utcnow
from crm.events.models import EventDelivery, OutboxEvent
from tests.plugins.example_plugin import hooks as example
from tests.plugins.example_plugin.models import ExampleEventLog
from tests.plugins.helpers import create_customer, ctx, customer_form, dispatch, outbox, user

MAX_ATTEMPTS = 3


class FlakyLog(BaseModel):
    uid = CharField(max_length=36)          # not unique: a write that survived twice would show

    class Meta:
        table_name = "flaky_log"


class StrictLog(BaseModel):
    uid = CharField(max_length=36, unique=True)

    class Meta:
        table_name = "strict_log"


class RacerLog(BaseModel):
    uid = CharField(max_length=36)

    class Meta:
        table_name = "racer_log"


class Spy:
    """Records every call; optionally checks, from a second connection, that the change the
    event describes is committed when the handler runs."""
    PLUGIN_NAME = "spy"

    def __init__(self):
        self.events: list[Event] = []
        self.witness_url = None
        self.seen_committed: list[bool] = []

    @hookimpl
    def crm_handle_event(self, event):
        self.events.append(event)
        if self.witness_url and "customer_id" in event.payload:
            from crm.customers.models import Customer
            other = open_database(self.witness_url)
            other.connect()
            try:
                with other.bind_ctx([Customer], bind_refs=False, bind_backrefs=False):
                    self.seen_committed.append(
                        Customer.select().where(Customer.id == event.payload["customer_id"])
                        .exists())
            finally:
                other.close()


class Flaky:
    """Writes its own row, then fails its first ``failures`` calls."""
    PLUGIN_NAME = "flaky"

    def __init__(self, failures=1):
        self.failures = failures
        self.calls: list[str] = []

    @hookimpl
    def crm_register_models(self):
        return [FlakyLog]

    @hookimpl
    def crm_handle_event(self, event):
        self.calls.append(event.uid)
        FlakyLog.create(uid=event.uid)
        if len(self.calls) <= self.failures:
            raise RuntimeError(f"flaky failure #{len(self.calls)}")


class Strict:
    """Not idempotent: its second event hits its own unique constraint."""
    PLUGIN_NAME = "strict"

    @hookimpl
    def crm_register_models(self):
        return [StrictLog]

    @hookimpl
    def crm_handle_event(self, event):
        StrictLog.create(uid="always the same")


class Racer:
    """Plays a second dispatcher that delivers the event first, from another connection."""
    PLUGIN_NAME = "racer"
    url = None

    @hookimpl
    def crm_register_models(self):
        return [RacerLog]

    @hookimpl
    def crm_handle_event(self, event):
        other = open_database(self.url)
        other.connect()
        try:
            with other.bind_ctx([OutboxEvent, EventDelivery]):
                row = OutboxEvent.get(OutboxEvent.uid == event.uid)
                EventDelivery.create(event=row.id, plugin="racer")
        finally:
            other.close()
        RacerLog.create(uid=event.uid)     # the loser's writes must roll back


def with_plugins(*factories):
    def mark(test):
        test.plugin_factories = factories
        return test
    return mark


@pytest.fixture
def plugins(request):
    factories = getattr(request.function, "plugin_factories", (Spy, Flaky))
    return [example] + [factory() for factory in factories]


@pytest.fixture
def app_config():
    return {"OUTBOX_MAX_ATTEMPTS": MAX_ATTEMPTS}


@pytest.fixture(autouse=True)
def _plugin_tables(app):
    """The test plugins' tables (the example plugin's come from its migrations)."""
    with ctx(app):
        database.create_tables(app.extensions["crm.plugins"].models)


def plugin(app, name):
    return app.extensions["crm.plugins"].pm.get_plugin(name)


def rows(app, model):
    with ctx(app):
        return [r.uid for r in model.select().order_by(model.id)]


def deliveries(app):
    with ctx(app):
        return sorted((d.event.name, d.plugin) for d in EventDelivery.select(EventDelivery,
                                                                             OutboxEvent)
                      .join(OutboxEvent))


class Rollback(Exception):
    pass


# -- written in the same transaction ------------------------------------------------------------

def test_creating_a_customer_writes_its_event_in_the_same_transaction(app):
    from crm.customers import services
    from crm.customers.models import Customer
    admin = user(app, "admin")
    with ctx(app):
        with pytest.raises(Rollback):
            with database.atomic():
                services.create_customer({"kind": "company", "name": "Gone Trading Ltd.",
                                          "owner": admin.id}, admin,
                                         services.Settings())
                assert OutboxEvent.select().count() == 1        # written, not yet committed
                raise Rollback
        assert Customer.select().count() == 0
        assert OutboxEvent.select().count() == 0                # rolled back with the change
    customer = create_customer(app)
    [event] = outbox(app)
    assert (event.name, event.status, event.attempts) == ("customer.created", "pending", 0)
    assert event.data == {"customer_id": customer.id, "number": customer.number,
                          "user_id": admin.id}
    assert plugin(app, "spy").events == []                      # delivered later, not inline


def test_logging_an_activity_and_recording_a_purchase_write_their_events(app):
    from crm.activities.services import log_activity
    from crm.purchases.models import Product, Purchase
    from crm.purchases.services import record_purchase
    customer = create_customer(app)
    admin = user(app, "admin")
    with ctx(app):
        product = Product.create(sku="TEA-1", name="Longjing", price_fen=38800)
        with pytest.raises(Rollback):
            with database.atomic():
                log_activity(customer, admin, "call", "Called about the order")
                record_purchase(customer, admin, [(product.id, 2)])
                raise Rollback
        assert Purchase.select().count() == 0
    assert [e.name for e in outbox(app)] == ["customer.created"]
    with ctx(app):
        log_activity(customer, admin, "call", "Called about the order")
        purchase = record_purchase(customer, admin, [(product.id, 2)])
    names = [e.name for e in outbox(app)]
    assert names == ["customer.created", "activity.logged", "activity.logged",
                     "purchase.recorded"]
    recorded = outbox(app, "purchase.recorded")[0].data
    assert recorded["purchase_id"] == purchase.id and recorded["total_fen"] == 77600


# -- delivered after commit ----------------------------------------------------------------------

@with_plugins(Spy)
def test_events_are_delivered_after_commit_through_the_web(app, login):
    spy = plugin(app, "spy")
    spy.witness_url = app.config["DATABASE_URL"]
    client = login("admin")
    created = client.post("/customers/new", data=customer_form(app))
    assert created.status_code == 303
    customer_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert [(e.name, e.payload["customer_id"]) for e in spy.events] == [
        ("customer.created", customer_id)]
    assert spy.seen_committed == [True]              # another connection already saw it
    event = spy.events[0]
    assert event.uid == outbox(app)[0].uid and isinstance(event.created_at, dt.datetime)

    assert client.post(f"/customers/{customer_id}/activities", data={
        "kind": "call", "summary": "Called back", "outcome": "", "contact": ""}).status_code == 303
    with ctx(app):
        from crm.purchases.models import Product
        product = Product.create(sku="CUP-1", name="Teapot", price_fen=59900)
    assert client.post(f"/customers/{customer_id}/purchases", data={
        "lines-0-product": str(product.id), "lines-0-quantity": "1",
        "note": ""}).status_code == 303
    assert [e.name for e in spy.events] == ["customer.created", "activity.logged",
                                            "activity.logged", "purchase.recorded"]
    assert spy.seen_committed == [True, True, True, True]
    assert {e.status for e in outbox(app)} == {"done"}
    with ctx(app):
        assert ExampleEventLog.select().count() == 4


def test_a_failing_handler_never_undoes_the_change(app, login):
    client = login("admin")
    created = client.post("/customers/new", data=customer_form(app))
    assert created.status_code == 303                       # flaky failed after commit
    assert client.get(created.headers["Location"]).status_code == 200
    [event] = outbox(app)
    assert event.status == "pending" and event.attempts == 1


# -- retries -----------------------------------------------------------------------------------

def test_a_failed_handler_is_retried_for_that_plugin_only(app):
    create_customer(app)
    spy, flaky = plugin(app, "spy"), plugin(app, "flaky")
    host = app.extensions["crm.plugins"]

    assert dispatch(app) == 0
    [event] = outbox(app)
    assert (event.status, event.attempts) == ("pending", 1)
    assert event.last_error == "flaky: RuntimeError: flaky failure #1"
    assert event.next_attempt_at > utcnow() + dt.timedelta(seconds=50)      # backed off
    assert ("flaky", "crm_handle_event", "RuntimeError: flaky failure #1") in host.failures
    assert rows(app, FlakyLog) == []                  # its own write rolled back with it
    assert deliveries(app) == [("customer.created", "example"), ("customer.created", "spy")]
    assert len(spy.events) == 1 and flaky.calls == [event.uid]

    assert dispatch(app) == 0                         # not due yet: nobody is called
    assert len(flaky.calls) == 1

    assert dispatch(app, now=utcnow() + dt.timedelta(minutes=2)) == 1
    [event] = outbox(app)
    assert (event.status, event.last_error) == ("done", "")
    assert flaky.calls == [event.uid, event.uid]
    assert rows(app, FlakyLog) == [event.uid]         # written once, by the successful try
    assert len(spy.events) == 1                       # the other plugins are not called again
    assert rows(app, ExampleEventLog) == [event.uid]
    assert deliveries(app) == [("customer.created", "example"), ("customer.created", "flaky"),
                               ("customer.created", "spy")]


def test_the_example_handler_is_idempotent_by_event_uid(app):
    create_customer(app)
    plugin(app, "flaky").failures = 0
    assert dispatch(app) == 1
    with ctx(app):                                     # at-least-once: deliver it all again
        EventDelivery.delete().execute()
        OutboxEvent.update(status="pending").execute()
    assert dispatch(app) == 1
    spy = plugin(app, "spy")
    assert [e.uid for e in spy.events] == [spy.events[0].uid] * 2     # really delivered twice
    assert rows(app, ExampleEventLog) == [spy.events[0].uid]           # recorded once


def test_an_event_becomes_dead_after_max_attempts_and_an_admin_requeues_it(app, login):
    flaky = plugin(app, "flaky")
    flaky.failures = 10 ** 6
    create_customer(app)
    later = utcnow()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        later += dt.timedelta(hours=7)                 # past any backoff
        dispatch(app, now=later)
        [event] = outbox(app)
        assert event.attempts == attempt
    assert event.status == "dead"
    assert dispatch(app, now=later + dt.timedelta(days=30)) == 0      # dead: never retried
    assert len(flaky.calls) == MAX_ATTEMPTS

    client = login("admin")
    page = client.get("/admin/plugins").get_data(as_text=True)
    assert re.search(r"failed for good:\s*1\b", page, re.I)
    assert 'action="/admin/outbox/retry"' in page              # the retry button, for dead ones

    flaky.failures = 0                                  # the plugin was fixed
    response = client.post("/admin/outbox/retry")
    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/admin/plugins")
    [event] = outbox(app)
    assert (event.status, event.attempts) == ("done", 0)    # requeued and delivered at once
    assert rows(app, FlakyLog) == [event.uid]
    assert len(plugin(app, "spy").events) == 1
    page = client.get("/admin/plugins").get_data(as_text=True)
    assert re.search(r"failed for good:\s*0\b", page, re.I)
    assert 'action="/admin/outbox/retry"' not in page


def test_admin_retry_requeues_a_dead_event_that_fails_again(app, login):
    plugin(app, "flaky").failures = 10 ** 6
    create_customer(app)
    with ctx(app):
        OutboxEvent.update(status="dead", attempts=MAX_ATTEMPTS).execute()
    client = login("admin")
    assert client.post("/admin/outbox/retry").status_code == 303
    [event] = outbox(app)
    assert (event.status, event.attempts) == ("pending", 1)   # back in the queue, retried later
    assert client.post("/admin/outbox/retry").status_code == 303
    assert outbox(app)[0].attempts == 1                       # only dead events are requeued


def test_outbox_retry_is_for_admins_only(app, login):
    assert login("manager").post("/admin/outbox/retry").status_code == 403


@with_plugins(Spy, Strict)
def test_a_handlers_own_integrity_error_is_a_failure_not_a_delivery(app):
    create_customer(app)
    create_customer(app, name="Sunrise Foods Inc.")
    assert dispatch(app) == 1
    first, second = outbox(app)
    assert first.status == "done"
    assert (second.status, second.attempts) == ("pending", 1)
    assert second.last_error.startswith("strict: IntegrityError")
    assert ("customer.created", "strict") in deliveries(app)
    assert deliveries(app).count(("customer.created", "strict")) == 1


@with_plugins(Spy, Racer)
def test_a_concurrent_delivery_wins_and_the_losers_writes_roll_back(app):
    plugin(app, "racer").url = app.config["DATABASE_URL"]
    create_customer(app)
    assert dispatch(app) == 1
    [event] = outbox(app)
    assert event.status == "done"
    assert rows(app, RacerLog) == []
    assert deliveries(app).count(("customer.created", "racer")) == 1
    assert not [f for f in app.extensions["crm.plugins"].failures if f[0] == "racer"]
