"""Business hours on China's working calendar: statutory holidays and make-up working days
(调休) from the ``chinesecalendar`` package, with an administrator's overrides on top.

Pure logic, no database and no Flask: ``WorkCalendar`` is built from the overrides (a dict
``{date: is_workday}``), the working day's start and end, and the business time zone.  Times
given to and returned by it are naive UTC, like every time the CRM stores.

The rule for a day, in order: an override; else ``chinese_calendar.is_workday`` (which knows
the State Council's yearly schedule, e.g. 2025-09-28, a Sunday, is a working day and
2025-10-01..08 are holidays); else, for a year the package does not know yet, Monday to Friday.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

try:   # the package is a dependency (setup.cfg); the fallback keeps a broken install usable
    import chinese_calendar
except ImportError:  # pragma: no cover
    chinese_calendar = None

MAX_DAYS = 3 * 366   # no SLA target is longer than this: a calendar without workdays stops here


class CalendarError(ValueError):
    """No working time found within MAX_DAYS (a calendar marked entirely off)."""


def statutory_workday(day: dt.date) -> bool:
    """China's official calendar alone (no overrides)."""
    if chinese_calendar is not None:
        try:
            return bool(chinese_calendar.is_workday(day))
        except (NotImplementedError, KeyError, ValueError):
            pass   # a year the package does not cover yet
    return day.weekday() < 5


def statutory_label(day: dt.date) -> str:
    """The holiday's English name from the package ("National Day"), or ""."""
    if chinese_calendar is None:
        return ""
    try:
        _on, name = chinese_calendar.get_holiday_detail(day)
    except (NotImplementedError, KeyError, ValueError):
        return ""
    return name or ""


def parse_clock(text: str, default: dt.time) -> dt.time:
    try:
        hours, minutes = str(text).split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, TypeError):
        return default


class WorkCalendar:
    def __init__(self, overrides: dict | None = None, start: dt.time = dt.time(9, 0),
                 end: dt.time = dt.time(18, 0), timezone: str = "Asia/Shanghai"):
        if end <= start:
            raise ValueError("the working day must end after it starts")
        self.overrides = dict(overrides or {})
        self.start = start
        self.end = end
        self.tz = ZoneInfo(timezone)

    # -- days ----------------------------------------------------------------------------------

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return bool(self.overrides[day])
        return statutory_workday(day)

    @property
    def minutes_per_day(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)

    # -- conversions ---------------------------------------------------------------------------

    def to_local(self, utc: dt.datetime) -> dt.datetime:
        return utc.replace(tzinfo=dt.timezone.utc).astimezone(self.tz).replace(tzinfo=None)

    def to_utc(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=self.tz).astimezone(dt.timezone.utc).replace(tzinfo=None)

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        return dt.datetime.combine(day, self.start), dt.datetime.combine(day, self.end)

    # -- arithmetic ----------------------------------------------------------------------------

    def add_minutes(self, start_utc: dt.datetime, minutes: int) -> dt.datetime:
        """The moment ``minutes`` of working time after ``start_utc`` (naive UTC in and out).

        Working time before the day's start or after its end, and on days off, does not count:
        a ticket opened on Friday 17:00 with 2 working hours is due on the next working day at
        10:00 (09:00-18:00), which after the National Day holiday may be a Sunday (调休)."""
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        current = self.to_local(start_utc)
        remaining = dt.timedelta(minutes=minutes)
        for _ in range(MAX_DAYS):
            day = current.date()
            if self.is_workday(day):
                opens, closes = self._window(day)
                if current < opens:
                    current = opens
                if current < closes:
                    available = closes - current
                    if remaining <= available:
                        return self.to_utc(current + remaining)
                    remaining -= available
            current = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0))
        raise CalendarError("no working time in the calendar")

    def add_hours(self, start_utc: dt.datetime, hours: float) -> dt.datetime:
        return self.add_minutes(start_utc, int(round(hours * 60)))

    def minutes_between(self, start_utc: dt.datetime, end_utc: dt.datetime) -> int:
        """Working minutes from ``start_utc`` to ``end_utc`` (negative when end is earlier)."""
        if end_utc < start_utc:
            return -self.minutes_between(end_utc, start_utc)
        a, b = self.to_local(start_utc), self.to_local(end_utc)
        total = dt.timedelta(0)
        day = a.date()
        for _ in range((b.date() - a.date()).days + 1):
            if self.is_workday(day):
                opens, closes = self._window(day)
                lo, hi = max(opens, a), min(closes, b)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return int(total.total_seconds() // 60)
