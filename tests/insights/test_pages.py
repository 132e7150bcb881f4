"""The insights pages: full pages and htmx partials, roles, scope, CSV, settings and targets,
the dashboard cards, the customer panel and the command."""
from __future__ import annotations

import re

from plugins.insights import segments
from plugins.insights.models import Setting, Target
from tests.conftest import htmx
from tests.insights.conftest import NOW


def small_world(facts):
    mine = facts.customer("我的沉睡客户 MINE")
    theirs = facts.customer("别人的沉睡客户 THEIRS", owner="sales2")
    facts.purchase(mine, "2025-01-10", 12300)
    facts.purchase(theirs, "2025-01-10", 45600)
    facts.run(segments.refresh, NOW)
    return mine, theirs


def test_kpi_page_full_and_partial(facts, client, login):
    small_world(facts)
    login("admin")
    page = client.get("/insights")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for label in ("Repurchase rate", "Churn rate", "Customer lifetime value", "CSAT",
                  "Win rate", "SLA compliance", "Definition", "By owner"):
        assert label in text, label
    assert "<svg" in text and "<table" in text and 'name="period"' in text
    part = client.get("/insights?period=12m", headers=htmx("kpis"))
    body = part.get_data(as_text=True)
    assert part.status_code == 200 and body.lstrip().startswith('<div id="kpis"')
    assert "<html" not in body and "Last 12 months" in body
    assert "Vary" in part.headers and "HX-Request" in part.headers["Vary"]
    assert client.get("/insights?period=bogus").status_code == 200


def test_kpi_page_through_htmx_loads_each_card_after_itself(facts, client, login, app):
    """A link of the menu (htmx, boosted) gets the page at once with a placeholder per KPI that
    loads its card (``/insights/kpi``); a figure this process already holds is in the page."""
    small_world(facts)
    login("admin")
    app.config["INSIGHTS_CACHE_SECONDS"] = 300
    app.extensions.pop("insights.cache", None)
    page = client.get("/insights", headers={"HX-Request": "true", "HX-Boosted": "true"})
    text = page.get_data(as_text=True)
    cards = re.findall(r'hx-get="(/insights/kpi\?[^"]+)" hx-trigger="load"', text)
    assert page.status_code == 200 and len(cards) >= 8, text
    assert 'aria-busy="true"' in text and "Computing" in text
    assert 'hx-get="/insights/funnel?period=month"' in text
    assert '<p class="big">' not in text                      # nothing computed yet
    churn = next(url for url in cards if "kpi=churn_rate" in url).replace("&amp;", "&")
    card = client.get(churn, headers=htmx("kpi-churn_rate"))
    body = card.get_data(as_text=True)
    assert card.status_code == 200 and body.lstrip().startswith(
        '<section class="card" id="kpi-churn_rate"')
    assert "Churn rate" in body and '<p class="big">' in body and "<html" not in body
    funnel = client.get("/insights/funnel?period=month", headers=htmx("lead-funnel"))
    assert funnel.get_data(as_text=True).lstrip().startswith('<section id="lead-funnel"')
    # the churn card and the funnel are known now: the next visit has them in the page
    again = client.get("/insights", headers={"HX-Request": "true", "HX-Boosted": "true"})
    text = again.get_data(as_text=True)
    assert 'kpi=churn_rate' not in text and text.count('<p class="big">') == 1
    assert 'hx-get="/insights/funnel' not in text and 'id="lead-funnel"' in text
    # without htmx: every figure in the page, and a card is a page of its own
    plain = client.get("/insights").get_data(as_text=True)
    assert 'hx-get="/insights/kpi' not in plain and plain.count('<p class="big">') >= 8
    alone = client.get(churn).get_data(as_text=True)
    assert "<html" in alone and "Churn rate" in alone


def test_kpi_card_route_refuses_what_the_page_would_not_show(facts, client, login):
    small_world(facts)
    login("admin")
    assert client.get("/insights/kpi?kpi=nonsense").status_code == 404
    assert client.get("/insights/kpi").status_code == 404
    assert client.get("/insights/kpi?kpi=churn_rate&period=bogus&by=bogus").status_code == 200
    client.post("/logout")
    login("sales")
    assert client.get("/insights/kpi?kpi=churn_rate").status_code == 200
    assert client.get("/insights/kpi?kpi=cac").status_code == 404       # not offered to reps
    client.post("/logout")
    login("clerk")
    assert client.get("/insights/kpi?kpi=churn_rate").status_code == 403
    assert client.get("/insights/funnel").status_code == 403


def test_roles(facts, client, login):
    small_world(facts)
    login("clerk")
    for url in ("/insights", "/insights/segments", "/insights/segments/dormant"):
        assert client.get(url).status_code == 403, url
    client.post("/logout")
    login("sales")
    assert client.get("/insights").status_code == 200
    assert client.get("/insights/settings").status_code == 403
    assert client.get("/insights/targets").status_code == 403
    assert client.post("/insights/refresh").status_code == 403


def test_segment_pages_follow_the_scope(facts, client, login):
    mine, theirs = small_world(facts)
    login("sales")
    overview = client.get("/insights/segments").get_data(as_text=True)
    assert "/insights/segments/dormant" in overview
    page = client.get("/insights/segments/dormant")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "MINE" in text and "THEIRS" not in text
    assert f"/customers/{mine}" in text and "No purchase or contact for" in text
    part = client.get("/insights/segments/dormant", headers=htmx("results"))
    assert part.get_data(as_text=True).lstrip().startswith('<div id="results"')
    assert client.get("/insights/segments/nonsense").status_code == 404
    csv = client.get("/insights/segments/dormant/export.csv")
    body = csv.get_data(as_text=True)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "MINE" in body and "THEIRS" not in body and "123.00" in body
    client.post("/logout")
    login("service")                                   # sees every customer, may not export
    assert client.get("/insights/segments/dormant/export.csv").status_code == 403


def test_settings_and_refresh(facts, client, login):
    small_world(facts)
    login("admin")
    assert client.get("/insights/settings").status_code == 200
    values = dict(segments.DEFAULTS, dormant_days=400)
    response = client.post("/insights/settings", data=values)
    assert response.status_code == 303
    assert facts.run(lambda: Setting.get_by_id("dormant_days").value) == 400
    bad = client.post("/insights/settings", data=dict(values, new_days="x", churn_drop_pct=0))
    assert bad.status_code == 422 and "Enter a whole number." in bad.get_data(as_text=True)
    assert client.post("/insights/refresh").status_code == 303
    # the refresh runs at the real time: January 2025 is more than 400 days ago
    assert facts.run(lambda: segments.sizes(facts.seed.user("admin"))["dormant"]) == 2


def test_targets(facts, client, login):
    small_world(facts)
    login("admin")
    assert client.get("/insights/targets").status_code == 200
    response = client.post("/insights/targets", data={
        "value_repurchase_rate": "40", "deadline_repurchase_rate": "2026-12-31",
        "value_churn_rate": "5.5"})
    assert response.status_code == 303
    saved = facts.run(lambda: {t.kpi: (float(t.value), t.deadline) for t in Target.select()})
    assert saved["repurchase_rate"][0] == 40.0 and str(saved["repurchase_rate"][1]) == \
        "2026-12-31"
    assert saved["churn_rate"] == (5.5, None)
    page = client.get("/insights").get_data(as_text=True)
    assert "<progress" in page and "Target 40.0%" in page
    bad = client.post("/insights/targets", data={"value_clv": "-1",
                                                 "value_csat": "90", "deadline_csat": "soon"})
    assert bad.status_code == 422
    client.post("/insights/targets", data={"value_churn_rate": "5.5"})   # the others emptied
    assert facts.run(lambda: [t.kpi for t in Target.select()]) == ["churn_rate"]


def test_dashboard_cards_and_panel(facts, client, login):
    mine, _theirs = small_world(facts)
    login("sales")
    home = client.get("/").get_data(as_text=True)
    assert "/dashboard/cards/insights_kpis" in home and "/dashboard/cards/insights_segments" in home
    card = client.get("/dashboard/cards/insights_kpis", headers=htmx("card-insights_kpis"))
    assert card.status_code == 200 and "Repurchase rate" in card.get_data(as_text=True)
    assert "could not be loaded" not in card.get_data(as_text=True)
    sizes = client.get("/dashboard/cards/insights_segments").get_data(as_text=True)
    assert "/insights/segments/dormant" in sizes and "could not be loaded" not in sizes
    panel = client.get(f"/customers/{mine}/panels/insights_segment",
                       headers=htmx("panel-insights_segment"))
    text = panel.get_data(as_text=True)
    assert panel.status_code == 200 and "Dormant" in text and "No purchase or contact" in text
    client.post("/logout")
    login("clerk")
    assert "insights_kpis" not in client.get("/").get_data(as_text=True)


def test_command(facts, runner):
    facts.customer("someone")
    result = runner.invoke(args=["insights-refresh"])
    assert result.exit_code == 0, result.output
    assert "insights:" in result.output and "(1 customers)" in result.output


def test_settled_figures_are_kept_in_the_database(facts, client, login, app, monkeypatch):
    """A settled period's figures are computed once and found again by another process (here:
    the in-process cache emptied), until they expire; the nightly job computes them ahead for
    administrators and managers; a spend change drops the acquisition cost's."""
    from plugins.insights import kpis, views
    from plugins.insights.models import Figure
    small_world(facts)
    app.config["INSIGHTS_CACHE_SECONDS"] = 300
    computed = []
    real = kpis.compute

    def counting(kpi, user, p, *args, **kwargs):
        computed.append((kpi.key, p.start))
        return real(kpi, user, p, *args, **kwargs)
    monkeypatch.setattr(kpis, "compute", counting)
    login("admin")
    first = client.get("/insights?period=last_month").get_data(as_text=True)
    # every KPI of both periods, but the lead conversion (its 90-day window is still open)
    def settled(found):
        return {(k, start) for k, start in found if k != "lead_conversion"}
    assert facts.run(lambda: Figure.select().count()) == len(settled(computed)) > 20
    computed.clear()
    app.extensions.pop("insights.cache", None)          # another process, or a restart
    again = client.get("/insights?period=last_month").get_data(as_text=True)
    assert not settled(computed)                        # the others from the database
    big = re.compile(r'<p class="big"><strong>([^<]*)</strong>')
    assert big.findall(again) == big.findall(first)
    # through htmx only the lead conversion is pending (the others are known)
    lazy = client.get("/insights?period=last_month", headers={"HX-Request": "true",
                                                              "HX-Boosted": "true"})
    assert re.findall(r'hx-get="/insights/kpi\?kpi=(\w+)', lazy.get_data(as_text=True)) in (
        [], ["lead_conversion"])
    # expired rows are not used
    facts.run(lambda: Figure.update(expires_at=NOW.replace(year=2000)).execute())
    app.extensions.pop("insights.cache", None)
    computed.clear()
    client.get("/insights?period=last_month")
    assert settled(computed)
    # the nightly job: every administrator and manager, ahead of their visit
    facts.run(lambda: Figure.delete().execute())
    app.extensions.pop("insights.cache", None)
    assert facts.run(views.warm) == 2                  # admin and manager
    assert facts.run(lambda: Figure.select().count()) > 0
    computed.clear()
    app.extensions.pop("insights.cache", None)
    client.get("/insights?period=last_month")
    assert not settled(computed)
    # a spend change: the acquisition cost is computed again
    assert facts.run(lambda: Figure.select().where(Figure.kpi == "cac").count()) > 0
    with app.test_request_context():
        facts.run(views._forget, "cac")
    assert facts.run(lambda: Figure.select().where(Figure.kpi == "cac").count()) == 0
