"""The pipeline's domain logic: entry rules, moves with stage history and time in stage,
stuck deals, optimistic locking, and the forecast / conversion / win-rate figures."""
from __future__ import annotations

import datetime as dt

import pytest

from plugins.sales import services
from plugins.sales.models import Deal, DealProduct, Stage, StageHistory

T0 = dt.datetime(2026, 3, 1, 2, 0)


def days(n):
    return T0 + dt.timedelta(days=n)


def test_default_stages(seed):
    rows = seed.run(lambda: [(s.name, s.probability, s.kind, s.rule_list)
                             for s in services.stages()])
    assert rows == [("初步接触", 10, "open", []), ("需求分析", 20, "open", []),
                    ("方案报价", 40, "open", ["amount"]),
                    ("合同签订", 70, "open", ["amount", "close_date"]),
                    ("回款完成", 100, "won", ["amount"]), ("输单", 0, "lost", ["reason"])]


def test_entry_rules():
    quote = Stage(name="方案报价", rules="amount")
    contract = Stage(name="合同签订", rules="amount,close_date,products")
    lost = Stage(name="输单", rules="reason", kind="lost")
    assert services.missing_for(quote, {"amount_fen": 0}, 0) == ["amount"]
    assert services.missing_for(quote, {"amount_fen": 1}, 0) == []
    assert services.missing_for(contract, {"amount_fen": 5}, 0) == ["close_date", "products"]
    assert services.missing_for(contract, {"amount_fen": 5, "expected_close": dt.date.today()},
                                1) == []
    assert services.missing_for(lost, {"reason": "  "}, 0) == ["reason"]
    assert services.missing_for(Stage(name="x", rules=""), {}, 0) == []


def test_move_enforces_rules_and_keeps_history(seed, deals):
    customer = seed.customer()
    deal = deals.open(customer.id, now=days(0))
    quote, contract = deals.stage("方案报价"), deals.stage("合同签订")
    user = seed.user("sales")

    def flow():
        with pytest.raises(services.RuleError) as error:
            services.move(deal.id, 1, user, quote, now=days(3))
        assert error.value.missing == ["amount"]
        assert Deal.get_by_id(deal.id).stage_id == deal.stage_id          # nothing written
        assert StageHistory.select().where(StageHistory.deal == deal.id).count() == 1
        moved = services.move(deal.id, 1, user, quote, {"amount_fen": 1280000}, now=days(3))
        assert (moved.stage_id, moved.amount_fen, moved.version) == (quote.id, 1280000, 2)
        with pytest.raises(services.RuleError) as error:
            services.move(deal.id, 2, user, contract, now=days(10))
        assert error.value.missing == ["close_date"]
        moved = services.move(deal.id, 2, user, contract,
                              {"expected_close": dt.date(2026, 4, 30)}, now=days(10))
        assert moved.closed_at is None
        with pytest.raises(services.Conflict):
            services.move(deal.id, 2, user, quote, now=days(11))          # stale version
        rows = services.history(moved, now=days(15))
        assert [(r["stage"].name, r["duration"].days, r["left_at"] is None) for r in rows] == \
            [("初步接触", 3, False), ("方案报价", 7, False), ("合同签订", 5, True)]
        won = services.move(deal.id, 3, user, deals_stage("回款完成"), now=days(20))
        assert won.closed_at == days(20)
    deals_stage = deals.stage
    seed.run(flow)


def test_creating_in_a_stage_applies_its_rules(seed, deals):
    customer = seed.customer()
    with pytest.raises(services.RuleError):
        deals.open(customer.id, stage="方案报价")
    deal = deals.open(customer.id, stage="方案报价", amount_fen=500000)
    assert deals.get(deal.id).amount_fen == 500000


def test_update_keeps_the_current_stage_rules_and_products(seed, deals):
    customer = seed.customer()
    tea, pot = seed.product("SKU-1", "茶叶"), seed.product("SKU-2", "茶具")
    deal = deals.open(customer.id, stage="方案报价", amount_fen=100, products=[tea.id])
    user = seed.user("sales")
    data = {"title": "改名", "amount_fen": 0, "expected_close": None, "owner": user.id,
            "probability": 55, "source": "website", "contact": None, "notes": "", "reason": ""}
    with pytest.raises(services.RuleError):
        seed.run(services.update_deal, deal.id, 1, user, data, [tea.id])
    updated = seed.run(services.update_deal, deal.id, 1, user, dict(data, amount_fen=900),
                       [pot.id, tea.id, pot.id])
    assert (updated.title, updated.probability, updated.version) == ("改名", 55, 2)
    assert seed.run(lambda: sorted(p for (p,) in DealProduct.select(DealProduct.product)
                                   .where(DealProduct.deal == deal.id).tuples())) == \
        sorted([tea.id, pot.id])
    with pytest.raises(services.Conflict):
        seed.run(services.update_deal, deal.id, 1, user, data, None)


def test_stuck_deals_per_stage_threshold(seed, deals, app):
    customer = seed.customer()
    fresh = deals.open(customer.id, now=dt.datetime.utcnow() - dt.timedelta(days=3))
    old = deals.open(customer.id, now=dt.datetime.utcnow() - dt.timedelta(days=20),
                     title="老项目")
    admin = seed.user("admin")
    result = seed.run(services.search, admin, services.Filters(stuck=True), 25)
    assert [d.id for d in result["rows"]] == [old.id]
    stage = deals.stage("初步接触")
    assert seed.run(services.is_stuck, deals.get(old.id), stage)
    assert not seed.run(services.is_stuck, deals.get(fresh.id), stage)
    seed.run(services.save_stage, stage.id, {"stuck_days": 30})
    assert seed.run(services.search, admin, services.Filters(stuck=True), 25)["total"] == 0


def test_forecast_is_weighted_by_month_and_owner(seed, deals):
    customer = seed.customer(owner="sales")
    today = dt.date(2026, 3, 15)
    deals.open(customer.id, stage="方案报价", amount_fen=100000,
               expected_close=dt.date(2026, 3, 20))                          # 40 %
    deals.open(customer.id, "sales2", stage="合同签订", amount_fen=200000,
               expected_close=dt.date(2026, 4, 2))                           # 70 %
    deals.open(customer.id, stage="需求分析", amount_fen=50000, probability=90,
               expected_close=dt.date(2026, 2, 1))                           # late: this month
    deals.open(customer.id, stage="需求分析", amount_fen=10000)                # no date
    deals.open(customer.id, stage="需求分析", amount_fen=10000,
               expected_close=dt.date(2026, 9, 1))                           # out of range
    deals.open(customer.id, stage="回款完成", amount_fen=999999)               # won: not open
    data = seed.run(services.forecast, seed.user("admin"), 3, today)
    assert data["months"] == ["2026-03", "2026-04", "2026-05"]
    assert data["by_owner"] == [("Sales One", {"2026-03": 40000 + 45000, "2026-04": 0,
                                               "2026-05": 0}),
                                ("Sales Two", {"2026-03": 0, "2026-04": 140000, "2026-05": 0})]
    assert data["totals"]["2026-03"] == 85000 and data["undated"] == 2000


def test_conversion_win_rate_and_time_to_close(seed, deals):
    customer = seed.customer(owner="sales")
    user = seed.user("sales")
    now = dt.datetime.utcnow()
    first, second = deals.stage("初步接触"), deals.stage("需求分析")
    won, lost = deals.stage("回款完成"), deals.stage("输单")
    a = deals.open(customer.id, now=now - dt.timedelta(days=30), amount_fen=100)
    b = deals.open(customer.id, now=now - dt.timedelta(days=20), amount_fen=100)
    deals.open(customer.id, now=now - dt.timedelta(days=10))

    def flow():
        x = services.move(a.id, 1, user, second, now=now - dt.timedelta(days=25))
        services.move(x.id, x.version, user, won, now=now - dt.timedelta(days=10))
        services.move(b.id, 1, user, lost, {"reason": "预算不足"}, now=now - dt.timedelta(days=5))
        return services.pipeline_figures(seed.user("admin"), 180, now)
    data = seed.run(flow)
    assert (data["won"], data["lost"], data["win_rate"], data["avg_days"]) == (1, 1, 50, 20.0)
    by_stage = {c["stage"].name: (c["entered"], c["onward"], c["rate"])
                for c in data["conversion"]}
    assert by_stage["初步接触"] == (3, 1, 33)
    assert by_stage["需求分析"] == (1, 1, 100)
    assert by_stage["方案报价"] == (0, 0, None)
    assert first.kind == "open"


def test_lists_are_scoped_by_customer(seed, deals):
    own = seed.customer("自己的客户", owner="sales")
    other = seed.customer("别人的客户", owner="sales2")
    mine = deals.open(own.id)
    deals.open(other.id, "sales2")
    result = seed.run(services.search, seed.user("sales"), services.Filters(), 25)
    assert [d.id for d in result["rows"]] == [mine.id]
    assert seed.run(services.deal_for, seed.user("sales"), mine.id).id == mine.id
    columns = seed.run(services.board, seed.user("sales"))
    assert sum(count for _s, _d, count, _a in columns) == 1


def test_demo_data(app, seed):
    import random

    from plugins.sales import hooks
    for name in ("张伟", "李娜", "王芳", "赵磊", "刘洋", "陈静"):
        seed.customer(name, owner="sales")
    seed.run(hooks.crm_demo_data, app, random.Random(3))
    count = seed.run(lambda: Deal.select().count())
    assert count >= 1
    seed.run(hooks.crm_demo_data, app, random.Random(3))
    assert seed.run(lambda: Deal.select().count()) == count


def test_entering_the_contract_stage_notifies_the_managers_who_see_the_customer(seed, deals):
    from crm.notifications.models import Notification
    customer = seed.customer(owner="sales")          # Team A: under the manager's Sales
    other = seed.customer("总部客户有限公司")          # the admin's: the manager cannot see it
    contract = deals.stage("合同签订")
    assert contract.notify_role == "manager"
    user = seed.user("sales")
    mine = deals.open(customer.id, amount_fen=100, expected_close=dt.date(2026, 5, 1))
    theirs = deals.open(other.id, "admin", amount_fen=100, expected_close=dt.date(2026, 5, 1))
    seed.run(services.move, mine.id, 1, user, contract)
    seed.run(services.move, theirs.id, 1, seed.user("admin"), contract)
    manager = seed.user("manager")
    notes = seed.run(lambda: list(Notification.select()))
    assert [(n.user_id, n.url, n.kind) for n in notes] == \
        [(manager.id, f"/sales/deals/{mine.id}", "sales.stage")]
    assert "合同签订" in notes[0].params and "年度采购" in notes[0].params
    # a stage without a role notifies nobody
    seed.run(services.move, mine.id, 2, user, deals.stage("需求分析"))
    assert seed.run(lambda: Notification.select().count()) == 1


def test_an_amount_above_32_bits_is_stored(seed, deals):
    """A 30-million-yuan deal: 3 x 10^9 fen, past a 32-bit integer (migration 0003)."""
    customer = seed.customer()
    deal = deals.open(customer.id, now=days(0))
    quote = deals.stage("方案报价")
    user = seed.user("sales")
    seed.run(lambda: services.move(deal.id, 1, user, quote, {"amount_fen": 3_000_000_000},
                                   now=days(1)))
    assert deals.get(deal.id).amount_fen == 3_000_000_000
