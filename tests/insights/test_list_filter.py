"""The "segment" filter the insights plugin adds to the core customer list
(``crm_customer_list_filters``): a segment opens as the ordinary list, inside the user's scope."""
from __future__ import annotations

import pytest

from crm.db import utcnow


@pytest.fixture
def plugins():
    from plugins.insights import hooks as insights
    return [insights]


def _score(seed, customer_id, segment):
    from plugins.insights.models import CustomerScore
    seed.run(lambda: CustomerScore.insert(customer_id=customer_id, segment=segment,
                                          computed_at=utcnow()).execute())


def test_segment_filter_narrows_the_list_within_the_scope(client, login, seed):
    mine_dormant = seed.customer("沉睡客户甲有限公司", owner="sales")
    mine_active = seed.customer("活跃客户乙有限公司", owner="sales")
    theirs_dormant = seed.customer("别人的沉睡客户有限公司", owner="sales2")
    _score(seed, mine_dormant.id, "dormant")
    _score(seed, mine_active.id, "active")
    _score(seed, theirs_dormant.id, "dormant")
    login("sales")
    page = client.get("/customers?x_segment=dormant").get_data(as_text=True)
    assert "沉睡客户甲有限公司" in page
    assert "活跃客户乙有限公司" not in page
    assert "别人的沉睡客户有限公司" not in page          # outside the rep's scope
    assert 'name="x_segment"' in client.get("/customers").get_data(as_text=True)


def test_unknown_segment_is_ignored_with_a_message(client, login, seed):
    seed.customer("某客户有限公司", owner="sales")
    login("sales")
    response = client.get("/customers?x_segment=nonsense")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "某客户有限公司" in body and "Unknown segment." in body


def test_the_segment_page_links_to_the_list(client, login, seed):
    login("manager")
    page = client.get("/insights/segments/dormant").get_data(as_text=True)
    assert "/customers?x_segment=dormant" in page
