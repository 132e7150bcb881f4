"""The service desk's domain logic: numbering (also under concurrency), the status workflow
with optimistic locking, closing rules, reopening, and the periodic SLA check."""
from __future__ import annotations

import datetime as dt
import re
import threading

import pytest

from crm.db import database
from plugins.service import services
from plugins.service.models import Ticket, TicketEvent


def bj(*args) -> dt.datetime:
    return dt.datetime(*args) - dt.timedelta(hours=8)


@pytest.fixture
def settings(app):
    return services.Settings.from_config(app.config)


def test_numbers_are_fk_year_month_sequence_in_beijing_months(seed, settings):
    def numbers():
        return [services.next_number(settings, bj(2026, 11, 5, 9, 0)),
                services.next_number(settings, bj(2026, 11, 30, 23, 30)),
                services.next_number(settings, bj(2026, 12, 1, 0, 30)),   # 30 Nov 16:30 UTC
                services.next_number(settings, bj(2026, 11, 6, 9, 0))]
    assert seed.run(numbers) == ["FK2026110001", "FK2026110002", "FK2026120001", "FK2026110003"]


def test_ticket_numbers_unique_and_consecutive_under_concurrency(app, seed, settings):
    """Eight threads open a ticket each at the same moment, each on its own connection."""
    from crm.customers.models import Customer
    customer = seed.customer("并发测试有限公司")
    user = seed.user("service")
    count = 8
    barrier = threading.Barrier(count)
    numbers, errors, lock = [], [], threading.Lock()

    def work(i):
        try:
            with app.app_context():
                with database.connection_context():
                    barrier.wait(timeout=10)
                    ticket = services.create_ticket(
                        Customer.get_by_id(customer.id), user,
                        {"type": "inquiry", "channel": "phone", "priority": "normal",
                         "subject": f"问题{i}", "content": "?"}, settings)
            with lock:
                numbers.append(ticket.number)
        except Exception as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(set(numbers)) == count, numbers
    assert all(re.fullmatch(r"FK\d{6}\d{4}", n) for n in numbers), numbers
    assert len({n[:-4] for n in numbers}) == 1
    sequence = sorted(int(n[-4:]) for n in numbers)
    assert sequence == list(range(1, count + 1))
    assert seed.run(lambda: Ticket.select().count()) == count
    assert seed.run(lambda: TicketEvent.select().where(TicketEvent.kind == "created").count()) \
        == count


def test_deadlines_are_set_in_working_hours(seed, tickets):
    customer = seed.customer()
    ticket = tickets.open(customer.id, priority="urgent", now=bj(2025, 9, 30, 17, 0))
    assert ticket.number.startswith("FK202509")
    assert ticket.response_due == bj(2025, 10, 9, 10, 0)
    assert ticket.resolve_due == bj(2025, 10, 9, 16, 0)
    assert ticket.status == "new"


def test_the_workflow_new_to_closed(seed, tickets, settings):
    customer = seed.customer()
    ticket = tickets.open(customer.id)
    staff, manager = seed.user("service"), seed.user("manager")

    def flow():
        t = services.assign(ticket.id, 1, manager, staff.id)
        assert (t.status, t.assignee_id, t.responded_at) == ("assigned", staff.id, None)
        t = services.start(t.id, t.version, staff)
        assert t.status == "in_progress" and t.responded_at is not None
        t = services.resolve(t.id, t.version, staff, "换了阀门", "product_quality")
        assert t.status == "resolved" and t.resolved_at and t.cause == "product_quality"
        with pytest.raises(ValueError):
            services.close(t.id, t.version, staff, "换了阀门", "phone", "", 5)
        with pytest.raises(ValueError):
            services.close(t.id, t.version, staff, "换了阀门", "phone", "客户满意", 0)
        t = services.close(t.id, t.version, staff, "换了阀门", "phone", "客户满意", 5)
        assert t.status == "closed" and t.satisfaction == 5 and t.followup_by_id == staff.id
        kinds = [(e.kind, e.from_status, e.to_status) for e in services.history(t)]
        assert kinds == [("created", "", "new"), ("assigned", "new", "assigned"),
                         ("status", "assigned", "in_progress"),
                         ("status", "in_progress", "resolved"), ("status", "resolved", "closed")]
        t = services.reopen(t.id, t.version, manager, "又漏了", settings)
        assert (t.status, t.reopened, t.satisfaction, t.closed_at) == ("assigned", 1, None, None)
        assert t.resolve_due > t.created_at
    seed.run(flow)


def test_stale_versions_and_wrong_states_conflict(seed, tickets):
    customer = seed.customer()
    ticket = tickets.open(customer.id)
    staff = seed.user("service")

    def flow():
        services.start(ticket.id, 1, staff)
        with pytest.raises(services.Conflict):          # somebody else's form, version 1
            services.assign(ticket.id, 1, staff, staff.id)
        with pytest.raises(services.Conflict):          # cannot close what is not resolved
            services.close(ticket.id, 2, staff, "r", "phone", "f", 4)
        assert Ticket.get_by_id(ticket.id).status == "in_progress"
        # nothing was half-written: one history row per successful change
        assert TicketEvent.select().where(TicketEvent.ticket == ticket.id).count() == 2
    seed.run(flow)


def test_sla_check_warns_then_escalates_once(seed, tickets, settings, app):
    customer = seed.customer(owner="sales")          # the manager's department sees it
    opened = bj(2025, 9, 24, 9, 0)                   # a Wednesday
    ticket = tickets.open(customer.id, priority="urgent", now=opened,
                          assignee=seed.user("sales").id)   # sales: Team A under Sales
    assert ticket.response_due == bj(2025, 9, 24, 11, 0)

    def check(now):
        return services.check_sla(settings, now)
    # a 2-hour target warns 30 working minutes before (a quarter of it)
    assert seed.run(check, bj(2025, 9, 24, 10, 15)) == {"warned": 0, "breached": 0}
    assert seed.run(check, bj(2025, 9, 24, 10, 30)) == {"warned": 1, "breached": 0}
    assert seed.run(check, bj(2025, 9, 24, 10, 40)) == {"warned": 0, "breached": 0}  # once
    assert seed.run(check, bj(2025, 9, 24, 11, 0)) == {"warned": 0, "breached": 1}
    assert seed.run(check, bj(2025, 9, 24, 11, 5)) == {"warned": 0, "breached": 0}
    stored = tickets.get(ticket.id)
    manager = seed.user("manager")
    assert stored.escalated_to_id == manager.id and stored.response_breached_at
    mine = seed.run(services.search, manager, services.Filters(escalated=True), 25)
    assert [t.id for t in mine["rows"]] == [ticket.id]
    assert seed.run(lambda: services.sla_state(Ticket.get_by_id(ticket.id),
                                               bj(2025, 9, 24, 11, 5))) == "breached"
    # the resolution target (8 h: 17:00) warns 2 h before and escalates on its own
    assert seed.run(check, bj(2025, 9, 24, 15, 30)) == {"warned": 1, "breached": 0}
    assert seed.run(check, bj(2025, 9, 25, 9, 0)) == {"warned": 0, "breached": 1}
    kinds = seed.run(lambda: [(e.kind, e.note) for e in TicketEvent.select().where(
        TicketEvent.ticket == ticket.id, TicketEvent.kind != "created").order_by(TicketEvent.id)])
    assert kinds == [("assigned", "Sales One"), ("warned", "response"), ("breached", "response"),
                     ("escalated", "Manager"), ("warned", "resolve"), ("breached", "resolve"),
                     ("escalated", "Manager")]
    # each warning reached the assignee, each breach the assignee and the manager, once
    from crm.notifications.models import Notification
    sales = seed.user("sales")
    got = seed.run(lambda: sorted((n.user_id, n.message.split(" ")[2], n.url)
                                  for n in Notification.select()))
    url = f"/service/tickets/{ticket.id}"
    assert got == sorted([(sales.id, "needs", url), (sales.id, "missed", url),
                          (manager.id, "missed", url), (sales.id, "must", url),
                          (sales.id, "missed", url), (manager.id, "missed", url)])
    texts = seed.run(lambda: [n.params for n in Notification.select().order_by(Notification.id)])
    assert ticket.number in texts[0] and "2025-09-24 11:00" in texts[0]


def test_sla_check_skips_holidays_and_answered_tickets(seed, tickets, settings):
    customer = seed.customer()
    ticket = tickets.open(customer.id, priority="urgent", now=bj(2025, 9, 30, 17, 0))
    # due 9 Oct 10:00 (1 working hour left): during the holiday nothing is late
    assert seed.run(services.check_sla, settings, bj(2025, 10, 5, 12, 0)) == \
        {"warned": 0, "breached": 0}
    staff = seed.user("service")
    seed.run(services.start, ticket.id, 1, staff, now=bj(2025, 10, 9, 9, 30))
    assert seed.run(services.check_sla, settings, bj(2025, 10, 9, 10, 30)) == \
        {"warned": 0, "breached": 0}      # answered in time; resolution due at 16:00


def test_escalation_goes_up_the_department_tree(seed):
    def targets():
        from crm.accounts.models import User
        ids = {u.username: u.id for u in User.select()}
        return (services.escalation_target(ids["sales"]),       # Team A -> Sales -> manager
                services.escalation_target(ids["service"]),     # Service: no manager -> admin
                services.escalation_target(None))
    manager, admin = seed.user("manager").id, seed.user("admin").id
    assert seed.run(targets) == (manager, admin, admin)
    # a manager who cannot see the ticket's customer is skipped: it goes to an administrator
    theirs, elsewhere = seed.customer("部门客户", owner="sales2"), seed.customer("总部客户")
    sales = seed.user("sales").id
    assert seed.run(services.escalation_target, sales, theirs.id) == manager
    assert seed.run(services.escalation_target, sales, elsewhere.id) == admin


def test_a_comment_by_a_handler_is_the_first_response(seed, tickets):
    customer = seed.customer()
    ticket = tickets.open(customer.id)
    seed.run(services.comment, ticket.id, seed.user("sales"), "看一下", False)
    assert tickets.get(ticket.id).responded_at is None
    seed.run(services.comment, ticket.id, seed.user("service"), "已联系客户", True)
    assert tickets.get(ticket.id).responded_at is not None


def test_editing_type_or_priority_moves_running_deadlines(seed, tickets, settings):
    customer = seed.customer()
    ticket = tickets.open(customer.id, priority="low", now=bj(2025, 9, 24, 9, 0))
    data = {k: getattr(ticket, k) for k in ("type", "channel", "subject", "content")}
    data.update(priority="urgent", contact=None, product=None)
    edited = seed.run(services.edit, ticket.id, 1, seed.user("service"), data, settings)
    assert edited.response_due == bj(2025, 9, 24, 11, 0)
    assert edited.resolve_due == bj(2025, 9, 24, 17, 0)


def test_sla_table_and_calendar_overrides_are_used(seed, tickets):
    seed.run(services.save_sla_table, {("complaint", "normal"): (3, 6)})
    seed.run(services.set_calendar_day, dt.date(2025, 9, 25), False, "公司活动")
    customer = seed.customer()
    ticket = tickets.open(customer.id, now=bj(2025, 9, 24, 16, 0))
    assert ticket.response_due == bj(2025, 9, 26, 10, 0)     # 2 h on the 24th, 25th off
    assert ticket.resolve_due == bj(2025, 9, 26, 13, 0)
    assert seed.run(services.sla_table)[("complaint", "normal")] == (3, 6)
    assert seed.run(services.delete_calendar_day, dt.date(2025, 9, 25)) == 1


def test_csat_and_analysis(seed, tickets):
    customer = seed.customer()
    staff = seed.user("service")
    product = seed.product("SKU-9", "热水器")
    now = dt.datetime.utcnow()
    for score, kind in ((5, "complaint"), (4, "complaint"), (2, "inquiry")):
        t = tickets.open(customer.id, type=kind, product=product.id)

        def finish(t=t, score=score):
            t2 = services.start(t.id, 1, staff)
            t2 = services.resolve(t2.id, t2.version, staff, "ok", "delivery")
            services.close(t2.id, t2.version, staff, "ok", "phone", "回访", score)
        seed.run(finish)
    admin = seed.user("admin")
    result = seed.run(services.csat, admin, 30)
    assert result["all"] == {"count": 3, "average": 3.7, "csat": 67}
    assert result["by_type"]["complaint"]["csat"] == 100
    data = seed.run(services.analysis, admin, 3, "Asia/Shanghai", now)
    month = data["months"][-1]
    assert data["by_month"][month]["complaint"] == 2 and data["by_month"][month]["inquiry"] == 1
    assert data["by_product"] == [("热水器", 2)]
    assert data["by_cause"] == [("delivery", 2)]


def test_demo_data_is_made_through_the_services_and_idempotent(app, seed):
    import random

    from plugins.service import hooks
    for name in ("张伟", "李娜", "王芳"):
        seed.customer(name)
    seed.run(hooks.crm_demo_data, app, random.Random(7))
    count = seed.run(lambda: Ticket.select().count())
    assert count == 3
    seed.run(hooks.crm_demo_data, app, random.Random(7))
    assert seed.run(lambda: Ticket.select().count()) == count
    closed = seed.run(lambda: list(Ticket.select().where(Ticket.status == "closed")))
    assert all(t.satisfaction and t.followup_note and t.resolution for t in closed)
