"""The accounting model: idempotency keys, lots consumed soonest expiry first, the guards in
the database (CHECK, append-only), pending points, expiry, refunds pro rata, owed points,
gifts and cash offset.  Each test ends with a clean reconciliation."""
from __future__ import annotations

import datetime as dt

import pytest
from peewee import IntegrityError

from plugins.loyalty import services
from plugins.loyalty.models import (LoyaltyAllocation, LoyaltyEntry, LoyaltyGift, LoyaltyLot,
                                    LoyaltyMember, LoyaltyRedemption)
from tests.loyalty.conftest import T0

DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _books_balance(shop):
    yield
    assert shop.reconcile() == []


def entries(shop, member_id):
    return shop.run(lambda: list(LoyaltyEntry.select().where(LoyaltyEntry.member == member_id)
                                 .order_by(LoyaltyEntry.id)))


def test_the_same_key_twice_changes_nothing(shop, seed):
    member = shop.member()
    shop.credit(member.id, 1000)
    key = services.new_key()
    first = seed.run(lambda: services.redeem_cash(member.id, 300, key, now=T0))
    again = seed.run(lambda: services.redeem_cash(member.id, 300, key, now=T0))
    other = seed.run(lambda: services.redeem_cash(member.id, 500, key, now=T0))  # a changed form
    assert not first.replay and again.replay and other.replay
    assert again.entry.id == first.entry.id == other.entry.id
    assert again.redemption.id == first.redemption.id
    assert shop.get(member.id).balance == 700
    assert seed.run(lambda: LoyaltyRedemption.select().count()) == 1


def test_keys_are_per_member_and_must_be_well_formed(shop, seed):
    one, two = shop.member("王芳"), shop.member("李娜")
    shop.credit(one.id, 100)
    shop.credit(two.id, 100)
    key = services.new_key()
    seed.run(lambda: services.redeem_cash(one.id, 50, key, now=T0))
    result = seed.run(lambda: services.redeem_cash(two.id, 50, key, now=T0))
    assert not result.replay                   # another member's key is not a replay
    assert shop.get(two.id).balance == 50
    with pytest.raises(services.LoyaltyError):
        seed.run(lambda: services.redeem_cash(one.id, 10, "not-a-key", now=T0))


def test_adjustments_awards_and_checkins_are_idempotent(shop, seed):
    member = shop.member()
    key = services.new_key()
    seed.run(lambda: services.adjust(member.id, 40, "goodwill", key, now=T0))
    seed.run(lambda: services.adjust(member.id, 40, "goodwill", key, now=T0))
    seed.run(lambda: services.checkin(member.id, now=T0))
    assert seed.run(lambda: services.checkin(member.id, now=T0 + dt.timedelta(hours=3))).replay
    seed.run(lambda: services.checkin(member.id, now=T0 + DAY))       # another day
    seed.run(lambda: services.award(member.id, "review", "order-1", now=T0))
    assert seed.run(lambda: services.award(member.id, "review", "order-1", now=T0)).replay
    assert shop.get(member.id).balance == 40 + 5 + 5 + 20


def test_debits_take_the_soonest_expiring_lots_first(shop, seed):
    shop.program(expiry_days=100)
    member = shop.member()
    late = shop.credit(member.id, 100, now=T0 + 10 * DAY)      # expires T0+110
    early = shop.credit(member.id, 100, now=T0)                # expires T0+100
    shop.program(expiry_mode="never")
    never = shop.credit(member.id, 100, now=T0 + 20 * DAY)     # never expires
    result = seed.run(lambda: services.redeem_cash(member.id, 250, services.new_key(),
                                                   now=T0 + 30 * DAY))
    taken = seed.run(lambda: {a.lot.entry_id: a.points for a in LoyaltyAllocation.select()
                              .join(LoyaltyLot).where(LoyaltyAllocation.entry == result.entry.id)})
    assert taken == {early.entry.id: 100, late.entry.id: 100, never.entry.id: 50}


def test_the_database_refuses_a_negative_balance_and_edits_of_the_ledger(shop, seed):
    member = shop.member()
    shop.credit(member.id, 10)
    with pytest.raises(IntegrityError):
        seed.run(lambda: LoyaltyMember.update(balance=LoyaltyMember.balance - 11)
                 .where(LoyaltyMember.id == member.id).execute())
    with pytest.raises(Exception, match="append-only"):
        seed.run(lambda: LoyaltyEntry.update(points=1000).execute())
    with pytest.raises(Exception, match="append-only"):
        seed.run(lambda: LoyaltyEntry.delete().execute())
    with pytest.raises(IntegrityError):
        seed.run(lambda: LoyaltyLot.update(remaining=LoyaltyLot.points + 1).execute())
    assert shop.get(member.id).balance == 10


def test_not_enough_points_writes_nothing(shop, seed):
    member = shop.member()
    shop.credit(member.id, 99)
    before = len(entries(shop, member.id))
    with pytest.raises(services.NotEnoughPoints):
        seed.run(lambda: services.redeem_cash(member.id, 100, services.new_key(), now=T0))
    with pytest.raises(services.NotEnoughPoints):
        seed.run(lambda: services.adjust(member.id, -100, "typo", services.new_key(), now=T0))
    assert len(entries(shop, member.id)) == before
    assert shop.get(member.id).balance == 99


def test_purchase_points_are_pending_through_the_return_window(shop, seed):
    shop.program(pending_days=7)
    member = shop.member()
    purchase = shop.purchase(member, 12_345, when=T0)          # ¥123.45: 123 points
    m = shop.get(member.id)
    assert (m.balance, m.pending) == (0, 123)
    with pytest.raises(services.NotEnoughPoints):               # pending is not spendable
        seed.run(lambda: services.redeem_cash(member.id, 100, services.new_key(),
                                              now=T0 + 6 * DAY))
    assert seed.run(lambda: services.settle(member.id, T0 + 6 * DAY)) == (0, 0)
    assert seed.run(lambda: services.settle(member.id, T0 + 7 * DAY)) == (1, 0)
    m = shop.get(member.id)
    assert (m.balance, m.pending) == (123, 0)
    release = entries(shop, member.id)[-1]
    assert (release.kind, release.points, release.pending) == ("release", 123, -123)
    # earning again for the same purchase (the outbox delivering it again) changes nothing
    again = seed.run(lambda: services.earn_for_purchase(purchase.id, now=T0 + 8 * DAY))
    assert again.replay and shop.get(member.id).balance == 123


def test_points_expire_after_n_days(shop, seed):
    shop.program(pending_days=0, expiry_days=30)
    member = shop.member()
    shop.purchase(member, 10_000, when=T0)                      # 100 points, expire T0+30
    seed.run(lambda: services.redeem_cash(member.id, 40, services.new_key(), now=T0 + DAY))
    assert seed.run(lambda: services.settle(member.id, T0 + 29 * DAY)) == (0, 0)
    assert shop.get(member.id).balance == 60
    run = seed.run(lambda: services.nightly(T0 + 30 * DAY))      # the nightly job expires it
    assert run.expired >= 1 and run.differences == 0
    m = shop.get(member.id)
    assert m.balance == 0
    expiry = entries(shop, member.id)[-1]
    assert (expiry.kind, expiry.points) == ("expire", -60)
    assert seed.run(lambda: services.settle(member.id, T0 + 31 * DAY)) == (0, 0)   # once


def test_points_expire_at_the_end_of_the_year(shop, seed):
    shop.program(pending_days=0, expiry_mode="year_end", expiry_years=1)
    member = shop.member()
    shop.purchase(member, 5_000, when=T0)                       # earned in 2026
    lot = seed.run(lambda: LoyaltyLot.get(LoyaltyLot.member == member.id))
    # the end of 2027 in Shanghai: 2028-01-01 00:00 +08:00
    assert lot.expires_at == dt.datetime(2027, 12, 31, 16, 0)
    seed.run(lambda: services.nightly(dt.datetime(2027, 12, 31, 15, 59)))
    assert shop.get(member.id).balance == 50
    seed.run(lambda: services.nightly(dt.datetime(2027, 12, 31, 16, 0)))
    assert shop.get(member.id).balance == 0


def test_pending_points_can_expire_too(shop, seed):
    shop.program(pending_days=10, expiry_days=5)                # a silly configuration
    member = shop.member()
    shop.purchase(member, 10_000, when=T0)
    seed.run(lambda: services.nightly(T0 + 6 * DAY))
    m = shop.get(member.id)
    assert (m.balance, m.pending) == (0, 0)


def test_a_refund_takes_back_points_pro_rata_and_cumulatively(shop, seed):
    shop.program(pending_days=7)
    member = shop.member()
    purchase = shop.purchase(member, 100_000, when=T0)          # ¥1,000: 1,000 points pending
    key = lambda n: f"refund:test:{n}"                          # noqa: E731
    seed.run(lambda: services.refund_purchase(purchase.id, 25_000, key(1), now=T0 + DAY))
    assert shop.get(member.id).pending == 750
    seed.run(lambda: services.refund_purchase(purchase.id, 33_333, key(2), now=T0 + DAY))
    # refunded 583.33 of 1,000 in all: floor(1000 * 58333 / 100000) = 583 points back
    assert shop.get(member.id).pending == 1000 - 583
    again = seed.run(lambda: services.refund_purchase(purchase.id, 33_333, key(2),
                                                      now=T0 + DAY))
    assert again.replay and shop.get(member.id).pending == 417
    seed.run(lambda: services.refund_purchase(purchase.id, 99_999, key(3), now=T0 + DAY))
    m = shop.get(member.id)
    assert (m.balance, m.pending) == (0, 0)                    # everything refunded: all back
    spend, earned = seed.run(lambda: services.qualifying(member.id, T0 + 2 * DAY, 365))
    assert (spend, earned) == (0, 0)


def test_a_refund_of_spent_points_records_what_is_owed_and_repays_it(shop, seed):
    shop.program(pending_days=0)
    member = shop.member()
    purchase = shop.purchase(member, 50_000, when=T0)           # 500 points, spendable at once
    seed.run(lambda: services.redeem_cash(member.id, 450, services.new_key(), now=T0))
    shop.credit(member.id, 30, now=T0)                          # 80 spendable now
    seed.run(lambda: services.refund_purchase(purchase.id, 50_000, "refund:test:all",
                                              now=T0 + DAY))
    m = shop.get(member.id)
    assert (m.balance, m.pending, m.owed) == (0, 0, 420)       # 80 taken back, 420 owed
    shop.credit(member.id, 100, now=T0 + 2 * DAY)               # repays 100 of it
    m = shop.get(member.id)
    assert (m.balance, m.owed) == (0, 320)
    shop.credit(member.id, 400, now=T0 + 3 * DAY)
    m = shop.get(member.id)
    assert (m.balance, m.owed) == (80, 0)


def test_a_refund_before_its_purchase_event_earns_first_then_reverses(shop, seed):
    shop.program(pending_days=0)
    member = shop.member()
    purchase = shop.purchase(member, 20_000, when=T0, earn=False)
    seed.run(lambda: services.refund_purchase(purchase.id, 10_000, "refund:test:early",
                                              now=T0 + DAY))
    assert shop.get(member.id).balance == 100
    late = seed.run(lambda: services.earn_for_purchase(purchase.id, now=T0 + 2 * DAY))
    assert late.replay and shop.get(member.id).balance == 100


def test_purchases_before_enrolment_earn_nothing(shop, seed):
    member = shop.member(now=T0)
    old = shop.purchase(member, 10_000, when=T0 - 3 * DAY, earn=False)
    same_day = shop.purchase(member, 10_000, when=T0 - dt.timedelta(hours=2), earn=False)
    assert seed.run(lambda: services.earn_for_purchase(old.id, now=T0)) is None
    assert seed.run(lambda: services.earn_for_purchase(same_day.id, now=T0)) is not None


def test_a_gift_takes_points_and_stock_or_nothing(shop, seed):
    member = shop.member()
    shop.credit(member.id, 1000)
    gift = seed.run(lambda: LoyaltyGift.create(name="保温杯", points=300, stock=2))
    seed.run(lambda: services.redeem_gift(member.id, gift.id, 2, services.new_key(), now=T0))
    assert shop.get(member.id).balance == 400
    assert seed.run(lambda: LoyaltyGift.get_by_id(gift.id).stock) == 0
    with pytest.raises(services.OutOfStock):
        seed.run(lambda: services.redeem_gift(member.id, gift.id, 1, services.new_key(),
                                              now=T0))
    assert shop.get(member.id).balance == 400                  # the debit rolled back too
    seed.run(lambda: LoyaltyGift.update(active=False, stock=5).execute())
    with pytest.raises(services.LoyaltyError):
        seed.run(lambda: services.redeem_gift(member.id, gift.id, 1, services.new_key(),
                                              now=T0))


def test_cash_offset_converts_at_the_programme_rate(shop, seed):
    member = shop.member()
    shop.credit(member.id, 1000)
    result = seed.run(lambda: services.redeem_cash(member.id, 250, services.new_key(), now=T0))
    assert result.redemption.cash_fen == 250                    # 100 points = ¥1
    shop.program(cash_points_per_yuan=200)                      # 2 points per fen
    with pytest.raises(services.LoyaltyError, match="multiple of 2"):
        seed.run(lambda: services.redeem_cash(member.id, 3, services.new_key(), now=T0))
    result = seed.run(lambda: services.redeem_cash(member.id, 400, services.new_key(), now=T0))
    assert result.redemption.cash_fen == 200
    for bad in (0, -5, 1.5, True):
        with pytest.raises(services.LoyaltyError):
            seed.run(lambda: services.redeem_cash(member.id, bad, services.new_key(), now=T0))


def test_birthday_points_once_a_year_with_the_tier_bonus(shop, seed):
    member = shop.member(birthday=dt.date(1990, 3, 2))
    run = seed.run(lambda: services.nightly(T0))                # 2 March in Shanghai
    assert run.birthdays == 1
    assert seed.run(lambda: services.nightly(T0 + dt.timedelta(hours=2))).birthdays == 0
    assert shop.get(member.id).balance == 100                   # standard tier: no bonus
    leap = shop.member("刘洋", birthday=dt.date(1992, 2, 29))
    seed.run(lambda: services.nightly(dt.datetime(2027, 2, 28, 4, 0)))   # not a leap year
    assert shop.get(leap.id).balance == 100


def test_enrolment_rules(shop, seed):
    customer = seed.customer("赵敏", kind="person")
    member, replay = seed.run(lambda: services.enrol(customer, card_no="8800001234",
                                                     now=T0))
    assert not replay and member.card_no == "8800001234"
    with pytest.raises(services.AlreadyMember):
        seed.run(lambda: services.enrol(customer, now=T0))
    other = seed.customer("钱伟", kind="person")
    with pytest.raises(services.LoyaltyError):
        seed.run(lambda: services.enrol(other, card_no="8800001234", now=T0))
    with pytest.raises(services.LoyaltyError):
        seed.run(lambda: services.enrol(other, card_no="12ab", now=T0))
    generated, _ = seed.run(lambda: services.enrol(other, now=T0))
    number = generated.card_no
    assert number.startswith("88") and len(number) == 11
    assert services.luhn_digit(number[:-1]) == number[-1]


def test_the_reconciliation_reports_every_kind_of_difference(shop, seed):
    member = shop.member()
    shop.credit(member.id, 100)
    seed.run(lambda: services.redeem_cash(member.id, 30, services.new_key(), now=T0))
    lot = seed.run(lambda: LoyaltyLot.get(LoyaltyLot.member == member.id))

    def corrupt(balance=0, remaining=0):
        LoyaltyMember.update(balance=LoyaltyMember.balance + balance).where(
            LoyaltyMember.id == member.id).execute()
        LoyaltyLot.update(remaining=LoyaltyLot.remaining + remaining).where(
            LoyaltyLot.id == lot.id).execute()
    seed.run(lambda: corrupt(balance=5))
    problems = shop.reconcile()
    assert any(f"member {member.id}: cached" in p and "ledger" in p for p in problems)
    assert any(f"member {member.id}: cached" in p and "lots" in p for p in problems)
    seed.run(lambda: corrupt(balance=-5, remaining=-10))
    problems = shop.reconcile()
    assert any(p.startswith(f"lot {lot.id}:") for p in problems)
    run = seed.run(lambda: services.nightly(T0))
    assert run.differences == len(problems) and f"lot {lot.id}" in run.report
    seed.run(lambda: corrupt(remaining=10))         # put it right for the autouse check
