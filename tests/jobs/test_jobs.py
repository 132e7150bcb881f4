"""The one job mechanism: huey on SQLite (embedded default), Redis when configured, immediate in
tests.  Each storage really queues the outbox dispatch and a worker executing it delivers."""
import socket

import pytest
from huey import MemoryHuey, RedisHuey, SqliteHuey

from crm.customers.models import Customer
from crm.events.models import OutboxEvent


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def _create_customer(login):
    client = login("sales")
    response = client.post("/customers/new", data={"kind": "person", "name": "张伟",
                                                   "phone": "13812345678", "value_class": "C",
                                                   "owner": "3"})
    assert response.status_code == 303, response.data[:400]


def test_tests_run_jobs_inline(app):
    assert isinstance(app.extensions["crm.huey"], MemoryHuey)
    assert app.extensions["crm.huey"].immediate


@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": False}])
def test_sqlite_queue_is_the_default_and_a_worker_delivers(app, login, db):
    huey = app.extensions["crm.huey"]
    assert isinstance(huey, SqliteHuey)
    huey.flush()
    _create_customer(login)
    assert OutboxEvent.get().status == "pending"      # queued, not delivered inline
    assert len(huey) == 1
    task = huey.dequeue()
    huey.execute(task)                                # what `crm worker` does
    assert OutboxEvent.get().status == "done"
    assert Customer.select().count() == 1


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": False,
                                         "REDIS_URL": "redis://127.0.0.1:6379/15"}])
def test_redis_queue_when_configured(app, login, db):
    huey = app.extensions["crm.huey"]
    assert isinstance(huey, RedisHuey)
    huey.flush()
    _create_customer(login)
    assert OutboxEvent.get().status == "pending"
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)
    assert OutboxEvent.get().status == "done"
    huey.flush()


def test_periodic_retry_is_registered(app):
    names = {task.__name__ for task in app.extensions["crm.huey"]._registry._periodic_tasks}
    assert "crm.retry_outbox" in names
