"""Chinese working days for deadlines, warning levels and handling-time statistics.

Days are judged in Beijing time (a letter received at 01:00 Beijing on Saturday was received on
Saturday, even though it is still Friday in UTC). Official holidays and adjusted workdays (调休)
of a year come from the city's loaded holiday table for that year when there is one
(`set_holiday_tables`, fed by `backend/calendar/` from the data directory), else from
`chinese_calendar`. A loaded table replaces `chinese_calendar` for its year: a date it lists as a
holiday is off, one it lists as an adjusted workday is worked, every other date follows
Monday–Friday. For a year with neither, the fallback is plain Monday–Friday, reported by
`calendar_covers` and logged once per year, because a deadline computed that way ignores that
year's holidays.

All functions take timezone-aware datetimes (naive ones raise ValueError) and return UTC.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable, Iterable, Literal

import chinese_calendar

from backend.clock import CHINA, UTC

log = logging.getLogger(__name__)


CalendarSource = Literal["table", "chinese_calendar"]

_ONE_DAY = timedelta(days=1)
_fallback_warned: set[int] = set()


@dataclass(frozen=True)
class HolidayTable:
    """One year's official days off and adjusted working days (调休), as the city loaded them."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]


_tables: dict[int, HolidayTable] = {}
_listeners: list[Callable[[], None]] = []


def set_holiday_tables(tables: Iterable[HolidayTable]) -> None:
    """Replace the loaded tables of this process (every year not given has none afterwards)."""
    new = {table.year: table for table in tables}
    if new == _tables:
        return
    _tables.clear()
    _tables.update(new)
    for listener in _listeners:
        listener()


def on_tables_changed(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever the loaded tables change (to forget results cached by date)."""
    if listener not in _listeners:
        _listeners.append(listener)


def holiday_table(year: int) -> HolidayTable | None:
    return _tables.get(year)


def calendar_source(year: int) -> CalendarSource | None:
    """Where `year`'s holidays come from: a loaded table, `chinese_calendar`, or nowhere (None)."""
    if year in _tables:
        return "table"
    return "chinese_calendar" if _chinese_calendar_covers(year) else None


def calendar_covers(year: int) -> bool:
    """True if the holidays and adjusted workdays of `year` are known (a table or `chinese_calendar`)."""
    return calendar_source(year) is not None


@functools.cache
def _chinese_calendar_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


# The installed package's data never changes in a process, and its lookup validates the date
# each time: deadlines count the same few weeks of days over and over.
_chinese_calendar_workday = functools.lru_cache(maxsize=4096)(chinese_calendar.is_workday)


def is_workday(d: date) -> bool:
    """Whether the Beijing calendar date `d` is an official working day.

    For a year without a loaded table or `chinese_calendar` data, Monday–Friday are working days
    (warned once per year). A datetime is refused: which calendar day it falls on depends on the
    time zone.
    """
    if isinstance(d, datetime):
        raise TypeError("is_workday takes a date; convert datetimes to Beijing time first")
    table = _tables.get(d.year)
    if table is not None:
        if d in table.holidays:
            return False
        return d in table.workdays or d.weekday() < 5
    if _chinese_calendar_covers(d.year):
        return _chinese_calendar_workday(d)
    if d.year not in _fallback_warned:
        _fallback_warned.add(d.year)
        log.warning(
            "no holiday table for %d (chinese_calendar has none and none is loaded): counting "
            "Monday-Friday as working days; load the year's table (PUT /api/v1/calendar/%d)",
            d.year, d.year,
        )
    return d.weekday() < 5


def add_workdays(start: datetime, days: int) -> datetime:
    """Deadline `days` working days after `start`.

    Rule: counting starts the day after start's Beijing date (the start day never counts, even
    if it is a working day and the letter arrived at 08:00), and the deadline is the END of the
    Nth working day: 23:59:59.999999 Beijing time. Received Friday or Saturday with 1 working
    day -> end of Monday (if Monday is a working day). `days=0` means the end of the start day.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    return _end_of_day(_nth_workday_after(_beijing(start).date(), days))


def workdays_between(start: datetime, end: datetime) -> float:
    """Working days elapsed from `start` to `end`, for average-handling-time statistics.

    Partial days count pro rata by clock time: each working day contributes the fraction of its
    24 Beijing hours that lies inside [start, end); non-working days contribute nothing. Received
    Monday 10:00, answered Monday 16:00 -> 0.25; Friday 18:00 to Monday 09:00 -> 0.25 + 0.375.
    """
    s, e = _beijing(start), _beijing(end)
    if e < s:
        raise ValueError("end is before start")
    total = timedelta()
    day = s.date()
    while day <= e.date():
        if is_workday(day):
            day_start = datetime.combine(day, time.min, CHINA)
            total += min(e, day_start + _ONE_DAY) - max(s, day_start)
        day += _ONE_DAY
    return total / _ONE_DAY


def extend_for_pause(due_at: datetime, paused_at: datetime, resumed_at: datetime) -> datetime:
    """Deadline after the clock was stopped from `paused_at` to `resumed_at` (e.g. 补正).

    Rule: the deadline moves later by the number of working days after the pause's Beijing date
    up to and including the resume's Beijing date (0 for a pause within one day, never negative).
    That keeps the working days left after the resume day equal to those that were left after
    the pause day. The Beijing time of day of `due_at` is kept.
    """
    if resumed_at < paused_at:
        raise ValueError("resumed_at is before paused_at")
    paused_day, resumed_day = _beijing(paused_at).date(), _beijing(resumed_at).date()
    shift = sum(
        is_workday(paused_day + _ONE_DAY * k) for k in range(1, (resumed_day - paused_day).days + 1)
    )
    due = _beijing(due_at)
    moved = datetime.combine(_nth_workday_after(due.date(), shift), due.timetz())
    return moved.astimezone(UTC)


def _beijing(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware datetime")
    return moment.astimezone(CHINA)


def _nth_workday_after(day: date, n: int) -> date:
    while n > 0:
        day += _ONE_DAY
        if is_workday(day):
            n -= 1
    return day


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, CHINA).astimezone(UTC)
