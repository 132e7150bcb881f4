"""The loyalty administration: the programme's settings, tiers, earning rules and the gift
catalogue (admins only), the nightly job from the page and from the command line."""
from __future__ import annotations

import re

from crm.cli import cli
from plugins.loyalty.models import LoyaltyGift, LoyaltyProgram, LoyaltyRule, LoyaltyTier
from tests.conftest import htmx

ADMIN_PAGES = ("/loyalty/admin", "/loyalty/admin/tiers", "/loyalty/admin/tiers/new",
               "/loyalty/admin/rules", "/loyalty/admin/gifts", "/loyalty/admin/gifts/new")


def text(response) -> str:
    return response.get_data(as_text=True)


def version_of(page: str) -> str:
    return re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)


def test_admin_pages_are_for_admins(client_for):
    admin, manager = client_for("admin"), client_for("manager")
    for url in ADMIN_PAGES:
        assert admin.get(url).status_code == 200, url
        assert manager.get(url).status_code == 403, url
    assert manager.post("/loyalty/admin/nightly").status_code == 403
    assert "/loyalty/admin" in text(admin.get("/"))           # the nav item
    assert "/loyalty/admin" not in text(manager.get("/"))


def test_programme_settings_with_a_stale_form(client_for, seed):
    client = client_for("admin")
    page = text(client.get("/loyalty/admin"))
    form = {"version": version_of(page), "pending_days": "3", "expiry_mode": "year_end",
            "expiry_days": "365", "expiry_years": "2", "cash_points_per_yuan": "50",
            "window_days": "180", "downgrade_policy": "recompute", "grace_days": "0",
            "card_prefix": "66"}
    assert client.post("/loyalty/admin", data=form).status_code == 303
    prog = seed.run(lambda: LoyaltyProgram.get_by_id(1))
    assert (prog.pending_days, prog.expiry_mode, prog.cash_points_per_yuan,
            prog.card_prefix) == (3, "year_end", 50, "66")
    stale = client.post("/loyalty/admin", data=form)            # the same version again
    assert stale.status_code == 422 and "changed the settings meanwhile" in text(stale)
    bad = client.post("/loyalty/admin", data={**form, "pending_days": "-1"})
    assert bad.status_code == 422
    part = client.get("/loyalty/admin", headers=htmx("program-form"))
    assert "<html" not in text(part) and 'id="program-form"' in text(part)


def test_tiers(client_for, seed):
    client = client_for("admin")
    assert "银卡" in text(client.get("/loyalty/admin/tiers"))
    silver = seed.run(lambda: LoyaltyTier.get(LoyaltyTier.code == "silver"))
    page = text(client.get(f"/loyalty/admin/tiers/{silver.id}"))
    assert 'value="2000.00"' in page                          # ¥2,000 of spend
    form = {"version": version_of(page), "code": "silver", "name": "银卡", "name_en": "Silver",
            "rank": "1", "basis": "spend", "threshold": "1500", "multiplier_pct": "125",
            "discount_pct": "3", "birthday_points": "60"}
    assert client.post(f"/loyalty/admin/tiers/{silver.id}", data=form).status_code == 303
    silver = seed.run(lambda: LoyaltyTier.get_by_id(silver.id))
    assert (silver.threshold, silver.multiplier_pct) == (150_000, 125)
    clash = client.post("/loyalty/admin/tiers/new", data={**form, "code": "bronze"})
    assert clash.status_code == 422 and "this code or this rank" in text(clash)
    fen = client.post("/loyalty/admin/tiers/new", data={**form, "code": "vip", "rank": "9",
                                                        "threshold": "1.234"})
    assert fen.status_code == 422
    made = client.post("/loyalty/admin/tiers/new", data={**form, "code": "vip", "rank": "9",
                                                         "basis": "points",
                                                         "threshold": "9000"})
    assert made.status_code == 303
    assert seed.run(lambda: LoyaltyTier.get(LoyaltyTier.code == "vip").threshold) == 9000
    assert client.get("/loyalty/admin/tiers/99999").status_code == 404
    seed.run(lambda: LoyaltyTier.delete().where(LoyaltyTier.code == "vip").execute())


def test_rules(client_for, seed):
    client = client_for("admin")
    form = {"purchase-rate": "2", "purchase-active": "y", "checkin-points": "8",
            "review-points": "20", "review-active": "y", "birthday-points": "100",
            "birthday-active": "y"}
    assert client.post("/loyalty/admin/rules", data=form).status_code == 303
    rules = seed.run(lambda: {r.kind: (r.points, r.rate, r.active) for r in LoyaltyRule.select()})
    assert rules["purchase"] == (0, 2, True) and rules["checkin"] == (8, 0, False)
    bad = client.post("/loyalty/admin/rules", data={**form, "review-points": "lots"})
    assert bad.status_code == 422 and "A whole number" in text(bad)


def test_gifts_and_their_stock(client_for, seed):
    client = client_for("admin")
    page = text(client.get("/loyalty/admin/gifts/new"))
    assert client.post("/loyalty/admin/gifts/new", data={
        "name": "雨伞", "name_en": "Umbrella", "points": "800", "add_stock": "10",
        "active": "y"}).status_code == 303
    gift = seed.run(lambda: LoyaltyGift.get(LoyaltyGift.name == "雨伞"))
    page = text(client.get(f"/loyalty/admin/gifts/{gift.id}"))
    form = {"version": version_of(page), "name": "雨伞", "name_en": "Umbrella",
            "points": "800", "add_stock": "-4", "active": "y"}
    assert client.post(f"/loyalty/admin/gifts/{gift.id}", data=form).status_code == 303
    assert seed.run(lambda: LoyaltyGift.get_by_id(gift.id).stock) == 6
    page = text(client.get(f"/loyalty/admin/gifts/{gift.id}"))
    below = client.post(f"/loyalty/admin/gifts/{gift.id}",
                        data={**form, "version": version_of(page), "add_stock": "-7"})
    assert below.status_code == 422 and "below zero" in text(below)
    assert seed.run(lambda: LoyaltyGift.get_by_id(gift.id).stock) == 6
    assert "Umbrella" in text(client.get("/loyalty/admin/gifts"))


def test_nightly_from_the_page_and_the_command_line(client_for, runner, shop):
    shop.credit(shop.member("夜间").id, 10)
    client = client_for("admin")
    done = client.post("/loyalty/admin/nightly")
    assert done.status_code == 303
    page = text(client.get("/loyalty/admin"))
    assert "every balance agrees with its ledger" in page
    result = runner.invoke(cli, ["loyalty-nightly"])
    assert result.exit_code == 0, result.output
    assert "0 differences" in result.output
