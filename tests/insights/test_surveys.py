"""NPS and CSAT short links: made from the customer page (in scope only), answered once on a
page without sign-in, expired after their time, and the NPS KPI computed by hand."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from plugins.insights import kpis, segments, surveys
from plugins.insights.models import Survey
from tests.insights.conftest import NOW


def make(facts, customer_id, kind="nps", days=14, now=None):
    def run():
        survey = surveys.create(customer_id, None, kind, days, now=now)
        return survey, surveys.token_for(survey)
    with facts.seed.app.test_request_context():
        return facts.run(run)


def test_a_link_is_made_in_scope_only(facts, client, login):
    mine = facts.customer("我的客户")
    theirs = facts.customer("别人的客户", owner="sales2")
    login("sales")
    response = client.post(f"/insights/customers/{mine}/surveys", data={"kind": "nps"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "/insights/survey?t=" in page                       # the flash shows the link
    assert client.post(f"/insights/customers/{theirs}/surveys",
                       data={"kind": "nps"}).status_code == 404
    assert client.post(f"/insights/customers/{mine}/surveys",
                       data={"kind": "bogus"}).status_code == 400
    assert facts.run(lambda: [(s.customer_id, s.kind) for s in Survey.select()]) == [(mine, "nps")]
    panel = client.get(f"/customers/{mine}/panels/insights_segment").get_data(as_text=True)
    assert "open link" in panel and "Make a CSAT link" in panel


def test_answered_once_without_signing_in(facts, app):
    customer = facts.customer("客户")
    survey, token = make(facts, customer)
    anonymous = app.test_client()
    page = anonymous.get(f"/insights/survey?t={token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "recommend us" in text
    assert 'action="/insights/survey" method="post"' in text      # a real form: no JS needed
    assert 'value="10"' in text and "客户" not in text           # the customer is not named
    assert anonymous.post("/insights/survey", data={"t": token}).status_code == 422
    done = anonymous.post("/insights/survey", data={"t": token, "score": "9",
                                                    "comment": "很好 <b>"})
    assert done.status_code == 303
    again = anonymous.post("/insights/survey", data={"t": token, "score": "0"})
    assert again.status_code == 200 and "Thank you" in again.get_data(as_text=True)
    row = facts.run(lambda: Survey.get_by_id(survey.id))
    assert (row.score, row.comment) == (9, "很好 <b>")


def test_bad_tampered_and_expired_links(facts, app):
    customer = facts.customer("客户")
    _survey, token = make(facts, customer, now=dt.datetime(2020, 1, 1))
    anonymous = app.test_client()
    assert anonymous.get(f"/insights/survey?t={token}").status_code == 410
    assert anonymous.post("/insights/survey", data={"t": token, "score": "5"}).status_code == 410
    tampered = re.sub(r"^(\w+)", "999", token)
    assert anonymous.get(f"/insights/survey?t={tampered}").status_code == 404
    assert anonymous.get("/insights/survey").status_code == 404
    assert anonymous.get("/insights/survey?t=<script>").status_code == 404


def test_nps_and_survey_csat(facts):
    c = facts.customer("客户")
    with facts.seed.app.test_request_context():
        def answer_all():
            for score in (10, 9, 9, 7, 2):                   # 3 promoters, 1 detractor
                s = surveys.create(c, None, "nps", now=dt.datetime(2026, 6, 1))
                assert surveys.answer(s, score, "", now=dt.datetime(2026, 6, 2))
            for score in (5, 3):
                s = surveys.create(c, None, "csat", now=dt.datetime(2026, 6, 1))
                surveys.answer(s, score, "", now=dt.datetime(2026, 6, 3))
            s = surveys.create(c, None, "nps", now=dt.datetime(2026, 6, 1))   # unanswered
            with pytest.raises(ValueError):
                surveys.answer(s, 11, "")
        facts.run(answer_all)
    admin = facts.seed.user("admin")

    def value(key):
        p = kpis.period("month", "Asia/Shanghai", NOW)
        return kpis.compute(kpis.BY_KEY[key], admin, p, segments.settings()).value
    assert facts.run(value, "nps") == pytest.approx(100 * (3 - 1) / 5)
    assert facts.run(value, "survey_csat") == pytest.approx(100 * 1 / 2)
