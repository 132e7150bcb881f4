"""Business-hour SLA arithmetic on China's working calendar (no database).

2025's National Day and Mid-Autumn holiday: 1-8 October off; Sunday 28 September and Saturday
11 October are make-up working days (调休).  Working hours 09:00-18:00 Beijing time (UTC+8);
times in and out are naive UTC, like the database's.
"""
from __future__ import annotations

import datetime as dt

import pytest

from plugins.service.services import DEFAULT_SLA_TABLE, deadlines
from plugins.service.workdays import CalendarError, WorkCalendar, statutory_workday


def bj(*args) -> dt.datetime:
    """A Beijing wall-clock time as naive UTC."""
    return dt.datetime(*args) - dt.timedelta(hours=8)


@pytest.fixture
def cal():
    return WorkCalendar()


def test_the_official_calendar_knows_holidays_and_make_up_days():
    assert statutory_workday(dt.date(2025, 9, 26))          # a Friday
    assert not statutory_workday(dt.date(2025, 9, 27))      # a Saturday
    assert statutory_workday(dt.date(2025, 9, 28))          # a Sunday, make-up working day
    assert not statutory_workday(dt.date(2025, 10, 1))      # National Day (a Wednesday)
    assert not statutory_workday(dt.date(2025, 10, 8))
    assert statutory_workday(dt.date(2025, 10, 11))         # a Saturday, make-up working day


def test_within_one_working_day(cal):
    assert cal.add_hours(bj(2025, 9, 24, 10, 0), 4) == bj(2025, 9, 24, 14, 0)
    assert cal.add_hours(bj(2025, 9, 24, 10, 0), 8) == bj(2025, 9, 24, 18, 0)   # at closing
    assert cal.add_hours(bj(2025, 9, 24, 10, 0), 9) == bj(2025, 9, 25, 10, 0)


def test_outside_working_hours_counts_from_the_next_opening(cal):
    assert cal.add_hours(bj(2025, 9, 24, 7, 30), 1) == bj(2025, 9, 24, 10, 0)
    assert cal.add_hours(bj(2025, 9, 24, 20, 0), 1) == bj(2025, 9, 25, 10, 0)
    assert cal.add_minutes(bj(2025, 9, 24, 20, 0), 0) == bj(2025, 9, 25, 9, 0)


def test_friday_evening_runs_into_the_make_up_sunday(cal):
    # Friday 26 Sep 17:00 + 2 h: 1 h on Friday, Saturday off, Sunday 28 is a working day
    assert cal.add_hours(bj(2025, 9, 26, 17, 0), 2) == bj(2025, 9, 28, 10, 0)


def test_the_golden_week_does_not_count(cal):
    # Tuesday 30 Sep 17:00 + 8 h: 1 h on the 30th, 1-8 October off, 7 h on Thursday the 9th
    assert cal.add_hours(bj(2025, 9, 30, 17, 0), 8) == bj(2025, 10, 9, 16, 0)
    # a ticket opened during the holiday starts counting on the 9th at 09:00
    assert cal.add_hours(bj(2025, 10, 3, 11, 0), 1) == bj(2025, 10, 9, 10, 0)


def test_the_make_up_saturday_counts(cal):
    # Friday 10 Oct 09:00 + 18 h: 9 h on Friday, 9 h on the make-up Saturday the 11th
    assert cal.add_hours(bj(2025, 10, 10, 9, 0), 18) == bj(2025, 10, 11, 18, 0)
    # one more hour skips Sunday the 12th
    assert cal.add_hours(bj(2025, 10, 10, 9, 0), 19) == bj(2025, 10, 13, 10, 0)


def test_minutes_between_across_the_holiday(cal):
    assert cal.minutes_between(bj(2025, 9, 30, 17, 0), bj(2025, 10, 9, 10, 0)) == 120
    assert cal.minutes_between(bj(2025, 10, 9, 10, 0), bj(2025, 9, 30, 17, 0)) == -120
    assert cal.minutes_between(bj(2025, 10, 2, 0, 0), bj(2025, 10, 5, 0, 0)) == 0
    start = bj(2025, 9, 26, 17, 0)
    assert cal.minutes_between(start, cal.add_hours(start, 30)) == 30 * 60


def test_overrides_beat_the_official_calendar():
    company_day_off = {dt.date(2025, 10, 9): False, dt.date(2025, 10, 12): True}
    cal = WorkCalendar(company_day_off)
    assert cal.add_hours(bj(2025, 9, 30, 17, 0), 8) == bj(2025, 10, 10, 16, 0)
    # Sunday 12 Oct made a working day by the administrator
    assert cal.add_hours(bj(2025, 10, 11, 17, 0), 2) == bj(2025, 10, 12, 10, 0)


def test_a_year_the_package_does_not_cover_falls_back_to_monday_to_friday(cal):
    # 2031-01-03 is a Friday, the 4th and 5th a weekend
    assert cal.add_hours(bj(2031, 1, 3, 17, 0), 2) == bj(2031, 1, 6, 10, 0)


def test_other_working_hours_and_time_zone():
    cal = WorkCalendar(start=dt.time(8, 30), end=dt.time(17, 30), timezone="Asia/Urumqi")
    start = dt.datetime(2025, 9, 24, 3, 0)          # 09:00 in Urumqi (UTC+6)
    assert cal.add_hours(start, 8) == dt.datetime(2025, 9, 24, 11, 0)   # 17:00 there
    assert cal.add_hours(start, 9) == dt.datetime(2025, 9, 25, 3, 0)    # 09:00 next day


def test_a_calendar_without_working_days_stops():
    never = WorkCalendar({dt.date(2025, 1, 1) + dt.timedelta(days=i): False
                          for i in range(3 * 366 + 10)})
    with pytest.raises(CalendarError):
        never.add_hours(bj(2025, 1, 1, 9, 0), 1)


def test_deadlines_follow_the_table(cal):
    start = bj(2025, 9, 30, 17, 0)
    response, resolve = deadlines("complaint", "urgent", start, cal, DEFAULT_SLA_TABLE)
    assert response == bj(2025, 10, 9, 10, 0)         # 2 h
    assert resolve == bj(2025, 10, 9, 16, 0)          # 8 h
    response, _resolve = deadlines("inquiry", "normal", start, cal,
                                   {("inquiry", "normal"): (3, 5)})
    assert response == bj(2025, 10, 9, 11, 0)
