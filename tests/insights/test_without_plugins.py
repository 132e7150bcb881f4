"""Without the service and sales plugins their KPIs are not offered (their tables are missing);
the plugin never imports them."""
from __future__ import annotations

import pytest

from plugins.insights import hooks as insights_hooks
from plugins.insights import kpis


@pytest.fixture
def plugins():
    return [insights_hooks]


def test_only_core_kpis_without_the_tables(seed, client, login):
    keys = {k.key for k in seed.run(kpis.available)}
    assert keys == {"repurchase_rate", "churn_rate", "clv", "clv_predicted",
                    "interaction_frequency",
                    "completeness", "nps", "survey_csat", "cac", "lead_conversion"}
    login("admin")
    text = client.get("/insights").get_data(as_text=True)
    assert "Repurchase rate" in text and 'id="kpi-csat"' not in text and "Win rate" not in text
    # the lead funnel without the sales plugin: no "deal opened" step
    assert 'id="lead-funnel"' in text and "Deal opened" not in text


def test_the_plugin_does_not_import_service_or_sales():
    import pathlib
    root = pathlib.Path(kpis.__file__).parent
    for path in root.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "plugins.service" not in source and "plugins.sales" not in source, path
