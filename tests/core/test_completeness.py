"""Data completeness per customer, per field and per owner, inside the user's scope."""
from __future__ import annotations

from crm import access
from crm.customers import completeness


def test_report_counts_required_fields(seed):
    seed.customer("杭州华信科技有限公司", owner="sales", phone="13812345678", industry="软件",
                  region="杭州", contacts=[{"name": "李雷"}])
    seed.customer("王芳", owner="sales", industry="零售")                 # no phone, no region
    seed.customer("李娜", owner="sales2", email="ln@example.com", industry="教育", region="上海")
    with seed.ctx():
        sales = seed.user("sales")
        report = completeness.report(access.scoped_customers(sales))
        assert (report.total, report.complete) == (2, 1)
        assert report.rate == 0.5 and not report.on_target
        filled = {name: count for name, _label, count, _req in report.fields}
        assert filled["reachable"] == 1 and filled["region"] == 1 and filled["contact"] == 1
        rows, total = completeness.incomplete(access.scoped_customers(sales))
        assert total == 1
        customer, missing = rows[0]
        assert customer.name == "王芳"
        with seed.app.test_request_context(headers={"Accept-Language": "en"}):
            assert [str(m) for m in missing] == ["Phone or e-mail", "Region"]
        admin_report = completeness.report(access.scoped_customers(seed.user("admin")))
        assert (admin_report.total, admin_report.complete) == (3, 2)
        assert {(o[0], o[1], o[2]) for o in admin_report.owners} == {
            (seed.user("sales").name, 2, 1), (seed.user("sales2").name, 1, 1)}


def test_the_page(client, login, seed):
    seed.customer("王芳", owner="sales", industry="零售")
    login("sales")
    page = client.get("/customers/completeness").get_data(as_text=True)
    assert "0.0% of 1 customers are complete" in page and "王芳" in page
    client.post("/logout")
    login("clerk")
    assert client.get("/customers/completeness").status_code == 403
