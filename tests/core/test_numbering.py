"""Customer numbers: C + year + month + a 4-digit sequence that restarts each month; unique
and consecutive when many are created at once (SQLite file and PostgreSQL alike)."""
from __future__ import annotations

import datetime as dt
import re
import threading

from crm.customers import numbering, services
from crm.customers.models import Customer
from crm.db import database

PATTERN = "C{year:04d}{month:02d}{seq:04d}"


def test_format_and_monthly_restart(seed):
    def numbers():
        nov = dt.datetime(2026, 11, 5, 9, 30)
        dec = dt.datetime(2026, 12, 1, 0, 0)
        return [numbering.next_number("customer", PATTERN, nov),
                numbering.next_number("customer", PATTERN, nov),
                numbering.next_number("customer", PATTERN, dec),
                numbering.next_number("customer", PATTERN, nov),
                numbering.next_number("customer", PATTERN, dt.datetime(2027, 1, 31)),
                numbering.next_number("customer", PATTERN, dt.datetime(2027, 11, 5))]
    assert seed.run(numbers) == ["C2026110001", "C2026110002", "C2026120001", "C2026110003",
                                 "C2027010001", "C2027110001"]


def test_sequences_are_independent(seed):
    when = dt.datetime(2026, 11, 5)

    def numbers():
        return [numbering.next_number("customer", PATTERN, when),
                numbering.next_number("ticket", "FK{year:04d}{month:02d}{seq:05d}", when),
                numbering.next_number("customer", PATTERN, when)]
    assert seed.run(numbers) == ["C2026110001", "FK20261100001", "C2026110002"]


def test_created_customers_are_numbered(seed, app):
    first = seed.customer("张伟")
    second = seed.customer("李娜")
    now = dt.datetime.now()
    assert re.fullmatch(r"C\d{6}\d{4}", first.number)
    assert first.number[1:5] == f"{now.year:04d}" or first.number[1:5] == f"{now.year + 1:04d}"
    assert int(second.number[-4:]) == int(first.number[-4:]) + 1
    assert second.number[:7] == first.number[:7]


def test_pattern_is_a_setting(seed, app):
    app.config["CUSTOMER_NUMBER_PATTERN"] = "KH-{year:04d}-{seq:06d}"
    customer = seed.customer("张伟")
    assert re.fullmatch(r"KH-\d{4}-000001", customer.number)


def test_unique_and_consecutive_under_concurrency(app, seed):
    """Eight threads create a customer each at the same moment, each on its own connection."""
    threads_count = 8
    admin = seed.user("admin")
    settings = seed.settings()
    barrier = threading.Barrier(threads_count)
    numbers, errors = [], []
    lock = threading.Lock()

    def work(i):
        try:
            with app.app_context():
                with database.connection_context():
                    barrier.wait(timeout=10)
                    customer = services.create_customer(
                        {"kind": "person", "name": f"并发客户{i}", "owner": admin.id}, admin,
                        settings)
            with lock:
                numbers.append(customer.number)
        except Exception as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(numbers) == threads_count
    assert len(set(numbers)) == threads_count, numbers
    prefixes = {n[:-4] for n in numbers}
    assert len(prefixes) == 1, numbers
    sequence = sorted(int(n[-4:]) for n in numbers)
    assert sequence == list(range(sequence[0], sequence[0] + threads_count)), numbers
    stored = seed.run(lambda: sorted(c.number for c in Customer.select(Customer.number)))
    assert stored == sorted(numbers)


def test_number_is_never_edited(client, login, seed):
    customer = seed.customer("张伟", owner="admin")
    login("admin")
    page = client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    assert 'name="number"' not in page
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    response = client.post(f"/customers/{customer.id}/edit", data={
        "kind": "person", "name": "张伟", "number": "C1999010001", "value_class": "A",
        "owner": seed.user("admin").id, "version": version})
    assert response.status_code == 303
    stored = seed.get_customer(customer.id)
    assert stored.number == customer.number and stored.value_class == "A"
