"""Activities and purchases: rows on existing customers found by the chosen key inside the
user's scope (never a customer created, never one outside the scope), written through the bulk
path, undone by deleting them."""
from __future__ import annotations

from crm.activities.models import Activity
from crm.customers.models import Customer
from crm.purchases.models import Purchase, PurchaseLine
from tests.imports.conftest import count, csv_bytes, job, rows, run_import


def test_activities(app, login, seed):
    own = seed.customer("杭州华信科技有限公司", owner="sales", phone="13812345678")
    other = seed.customer("上海远景贸易有限公司", owner="sales2", phone="13911112222")
    client = login("sales")
    data = csv_bytes([["客户编号", "跟进方式", "跟进时间", "跟进内容", "结果", "下次跟进日期"],
                      [own.number, "电话", "2025-03-01 14:30", "介绍新品", "有意向", "2025-03-08"],
                      [own.number, "拜访", "2025/03/02", "上门拜访", "", ""],
                      [other.number, "电话", "2025-03-01", "不该写入", "", ""],
                      ["C000000000", "电话", "2025-03-01", "没有这个客户", "", ""],
                      [own.number, "飞鸽传书", "2025-03-01", "未知方式", "", ""],
                      [own.number, "电话", "2025-03-01", "", "", ""]])
    job_id = run_import(client, data, name="activities.csv", kind="activities", key="number")
    assert [r.action for r in rows(seed, job_id, "commit")] == [
        "create", "create", "error", "error", "error", "error"]
    messages = [r.message for r in rows(seed, job_id, "commit")]
    assert "Not found or not yours" in messages[2] and "Not found or not yours" in messages[3]
    assert "not one of the choices" in messages[4] and "required" in messages[5]
    assert count(seed, Customer) == 2
    first = seed.run(Activity.get, Activity.summary == "介绍新品")
    assert (first.kind, first.outcome, str(first.next_followup_on)) == \
        ("call", "interested", "2025-03-08")
    assert first.occurred_at.isoformat() == "2025-03-01T06:30:00"      # Beijing time -> UTC
    assert first.user_id == seed.user("sales").id
    assert seed.get_customer(own.id).last_contacted_at is not None
    assert count(seed, Activity, Activity.customer == other.id) == 0
    client.post(f"/imports/{job_id}/undo")
    assert count(seed, Activity) == 0 and job(seed, job_id).status == "undone"


def test_purchases(app, login, seed):
    own = seed.customer("单丽", owner="sales", phone="13987654321")
    tea = seed.product("TEA-1", "龙井", 12800)
    seed.product("OLD-1", "旧款", 100, active=False)
    client = login("sales")
    data = csv_bytes([["手机", "商品编码", "数量", "购买日期", "备注"],
                      ["139 8765 4321", "TEA-1", "2", "2025-03-01", "门店"],
                      ["13987654321", "龙井", "", "2025-03-02", ""],
                      ["13987654321", "OLD-1", "1", "2025-03-02", ""],
                      ["13987654321", "TEA-1", "0", "2025-03-02", ""],
                      ["13700000000", "TEA-1", "1", "2025-03-02", ""]])
    job_id = run_import(client, data, name="purchases.csv", kind="purchases", key="phone")
    assert [r.action for r in rows(seed, job_id, "commit")] == [
        "create", "create", "error", "error", "error"]
    purchases = seed.run(lambda: list(Purchase.select().order_by(Purchase.id)))
    assert [(p.customer_id, p.total_fen) for p in purchases] == [(own.id, 25600), (own.id, 12800)]
    assert count(seed, Activity, Activity.kind == "purchase") == 2
    client.post(f"/imports/{job_id}/undo")
    assert count(seed, Purchase) == 0 and count(seed, PurchaseLine) == 0
    assert count(seed, Activity) == 0
    assert tea.id
