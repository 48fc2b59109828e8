import logging
from datetime import date, datetime, time, timedelta

import chinese_calendar
import pytest

from backend import workdays
from backend.clock import CHINA, UTC
from backend.workdays import add_workdays, calendar_covers, extend_for_pause, is_workday, workdays_between


def bj(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA)


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime.combine(date(y, m, d), time.max, CHINA)


# --- is_workday -------------------------------------------------------------------------------


def test_plain_week():
    assert date(2026, 3, 2).weekday() == 0
    assert all(is_workday(date(2026, 3, d)) for d in range(2, 7))
    assert not is_workday(date(2026, 3, 7))
    assert not is_workday(date(2026, 3, 8))


def test_holiday_and_adjusted_saturday_follow_chinese_calendar():
    # National Day 2026: Oct 1-7 off, Saturday Oct 10 is an adjusted workday (调休).
    assert all(chinese_calendar.is_holiday(date(2026, 10, d)) for d in range(1, 8))
    assert date(2026, 10, 10).weekday() == 5 and chinese_calendar.is_workday(date(2026, 10, 10))
    assert not is_workday(date(2026, 10, 1))  # a Thursday
    assert is_workday(date(2026, 10, 10))


def test_datetime_is_refused():
    with pytest.raises(TypeError):
        is_workday(datetime(2026, 3, 2, tzinfo=UTC))


# --- add_workdays -----------------------------------------------------------------------------


def test_start_day_does_not_count_and_deadline_is_end_of_day():
    due = add_workdays(bj(2026, 3, 2, 8), 1)  # Monday morning
    assert due == end_of(2026, 3, 3)
    assert due.tzinfo == UTC
    assert due.astimezone(CHINA).time() == time(23, 59, 59, 999999)


def test_zero_days_is_end_of_start_day_and_negative_refused():
    assert add_workdays(bj(2026, 3, 7, 12), 0) == end_of(2026, 3, 7)
    with pytest.raises(ValueError):
        add_workdays(bj(2026, 3, 2), -1)


def test_skips_weekend():
    assert add_workdays(bj(2026, 3, 6, 15), 1) == end_of(2026, 3, 9)  # Friday -> Monday
    assert add_workdays(bj(2026, 3, 7, 15), 1) == end_of(2026, 3, 9)  # Saturday -> Monday
    assert add_workdays(bj(2026, 3, 2), 10) == end_of(2026, 3, 16)


def test_spring_festival_2026():
    # Premises from the real table, so a wrong guess fails here rather than below.
    assert date(2026, 2, 14).weekday() == 5 and chinese_calendar.is_workday(date(2026, 2, 14))
    assert all(chinese_calendar.is_holiday(date(2026, 2, d)) for d in range(15, 24))
    assert all(chinese_calendar.is_workday(date(2026, 2, d)) for d in range(24, 28))
    start = bj(2026, 2, 13, 10)  # Friday before the festival
    # Sat 14 (调休), then Feb 24, 25, 26, 27.
    assert add_workdays(start, 1) == end_of(2026, 2, 14)
    assert add_workdays(start, 2) == end_of(2026, 2, 24)
    assert add_workdays(start, 5) == end_of(2026, 2, 27)


def test_start_date_is_taken_in_beijing_time():
    # 16:30 UTC on Friday Feb 13 is already Saturday Feb 14 in Beijing.
    assert add_workdays(datetime(2026, 2, 13, 16, 30, tzinfo=UTC), 1) == end_of(2026, 2, 24)
    assert add_workdays(datetime(2026, 2, 13, 15, 59, tzinfo=UTC), 1) == end_of(2026, 2, 14)


def test_national_day_2026():
    start = bj(2026, 9, 30, 10)  # Wednesday
    assert add_workdays(start, 1) == end_of(2026, 10, 8)
    assert add_workdays(start, 3) == end_of(2026, 10, 10)  # the adjusted Saturday


def test_year_boundary_with_adjusted_sunday():
    assert all(chinese_calendar.is_holiday(date(2026, 1, d)) for d in (1, 2, 3))
    assert date(2026, 1, 4).weekday() == 6 and chinese_calendar.is_workday(date(2026, 1, 4))
    start = bj(2025, 12, 30, 9)
    assert add_workdays(start, 1) == end_of(2025, 12, 31)
    assert add_workdays(start, 2) == end_of(2026, 1, 4)


def test_naive_datetime_refused():
    with pytest.raises(ValueError):
        add_workdays(datetime(2026, 3, 2), 1)


# --- fallback outside the calendar's years -----------------------------------------------------


def test_calendar_covers():
    assert calendar_covers(2026)
    assert not calendar_covers(2099)


def test_fallback_is_monday_to_friday_and_warns_once_per_year(monkeypatch, caplog):
    monkeypatch.setattr(workdays, "_fallback_warned", set())
    caplog.set_level(logging.WARNING, logger="backend.workdays")
    days = [date(2099, 1, 1) + timedelta(days=k) for k in range(14)]
    assert [is_workday(d) for d in days] == [d.weekday() < 5 for d in days]
    is_workday(date(2098, 6, 1))
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2
    assert "2099" in warned[0] and "2098" in warned[1]


def test_fallback_deadline():
    friday = next(d for d in (date(2099, 1, k) for k in range(1, 8)) if d.weekday() == 4)
    monday = friday + timedelta(days=3)
    start = datetime.combine(friday, time(10), CHINA)
    assert add_workdays(start, 1) == datetime.combine(monday, time.max, CHINA)


def test_crossing_into_an_uncovered_year_uses_the_fallback(monkeypatch, caplog):
    monkeypatch.setattr(workdays, "_fallback_warned", set())
    caplog.set_level(logging.WARNING, logger="backend.workdays")
    last = 2026
    while calendar_covers(last + 1):
        last += 1
    start = datetime.combine(date(last, 12, 31), time(12), CHINA)
    first_weekday = next(
        date(last + 1, 1, d) for d in range(1, 8) if date(last + 1, 1, d).weekday() < 5
    )
    assert add_workdays(start, 1) == datetime.combine(first_weekday, time.max, CHINA)
    assert any(str(last + 1) in r.getMessage() for r in caplog.records)


# --- workdays_between -------------------------------------------------------------------------


def test_between_partial_days_pro_rata():
    assert workdays_between(bj(2026, 3, 2, 10), bj(2026, 3, 2, 16)) == pytest.approx(0.25)
    # Friday 18:00 -> Monday 09:00: 6 h of Friday + 9 h of Monday, weekend free.
    assert workdays_between(bj(2026, 3, 6, 18), bj(2026, 3, 9, 9)) == pytest.approx(0.625)
    assert workdays_between(bj(2026, 3, 7, 8), bj(2026, 3, 8, 20)) == 0.0
    assert workdays_between(bj(2026, 3, 2, 10), bj(2026, 3, 2, 10)) == 0.0


def test_between_spring_festival_and_time_zones():
    # Feb 13, Feb 14 (调休) and Feb 24 are the only working days in [Feb 13, Feb 25).
    assert workdays_between(bj(2026, 2, 13), bj(2026, 2, 25)) == pytest.approx(3.0)
    utc_start = bj(2026, 2, 13).astimezone(UTC)
    utc_end = bj(2026, 2, 25).astimezone(UTC)
    assert workdays_between(utc_start, utc_end) == pytest.approx(3.0)


def test_between_agrees_with_deadlines():
    start = bj(2026, 2, 13)  # full start day counts, then 5 more working days
    assert workdays_between(start, add_workdays(start, 5)) == pytest.approx(6.0)


def test_between_refuses_reversed_interval():
    with pytest.raises(ValueError):
        workdays_between(bj(2026, 3, 3), bj(2026, 3, 2))


# --- extend_for_pause -------------------------------------------------------------------------


def test_pause_within_one_day_changes_nothing():
    due = end_of(2026, 3, 6)
    assert extend_for_pause(due, bj(2026, 3, 4, 9), bj(2026, 3, 4, 17)) == due


def test_pause_keeps_working_days_left():
    due = end_of(2026, 3, 6)  # Friday; paused Wednesday with Thu + Fri left
    new_due = extend_for_pause(due, bj(2026, 3, 4, 10), bj(2026, 3, 9, 10))  # resumed Monday
    assert new_due == end_of(2026, 3, 11)  # Tue + Wed left after Monday
    assert new_due.tzinfo == UTC


def test_pause_over_weekend_only_is_free():
    due = end_of(2026, 3, 10)
    assert extend_for_pause(due, bj(2026, 3, 7, 10), bj(2026, 3, 8, 18)) == due


def test_pause_over_spring_festival():
    # Working days in (Feb 13, Feb 24]: Feb 14 (调休) and Feb 24 -> deadline moves by 2.
    # Then from Thu Feb 26: Fri 27 and Sat 28, another adjusted workday.
    assert date(2026, 2, 28).weekday() == 5 and chinese_calendar.is_workday(date(2026, 2, 28))
    due = end_of(2026, 2, 26)
    assert extend_for_pause(due, bj(2026, 2, 13, 10), bj(2026, 2, 24, 9)) == end_of(2026, 2, 28)


def test_pause_keeps_time_of_day_and_refuses_reversed():
    due = bj(2026, 3, 6, 17)
    assert extend_for_pause(due, bj(2026, 3, 5, 10), bj(2026, 3, 6, 10)) == bj(2026, 3, 9, 17)
    with pytest.raises(ValueError):
        extend_for_pause(due, bj(2026, 3, 6), bj(2026, 3, 5))


# --- the city's loaded tables ------------------------------------------------------------------


@pytest.fixture
def loaded():
    def load(*tables: workdays.HolidayTable) -> None:
        workdays.set_holiday_tables(tables)
    yield load
    workdays.set_holiday_tables([])


def test_a_loaded_table_covers_its_year(loaded):
    assert not calendar_covers(2099) and workdays.calendar_source(2099) is None
    loaded(workdays.HolidayTable(2099, frozenset({date(2099, 1, 1)}), frozenset({date(2099, 1, 3)})))
    assert calendar_covers(2099) and workdays.calendar_source(2099) == "table"
    assert date(2099, 1, 1).weekday() == 3 and not is_workday(date(2099, 1, 1))  # listed holiday, a Thursday
    assert date(2099, 1, 3).weekday() == 5 and is_workday(date(2099, 1, 3))  # listed adjusted workday
    assert is_workday(date(2099, 1, 2)) and not is_workday(date(2099, 1, 4))  # the rest: Monday-Friday
    assert add_workdays(datetime(2098, 12, 31, 10, tzinfo=CHINA), 2) == end_of(2099, 1, 3)


def test_a_loaded_table_replaces_chinese_calendar_for_its_year(loaded):
    assert not is_workday(date(2026, 10, 1)) and is_workday(date(2026, 10, 10))
    loaded(workdays.HolidayTable(2026, frozenset({date(2026, 10, 2)}), frozenset()))
    assert workdays.calendar_source(2026) == "table"
    assert is_workday(date(2026, 10, 1)) and not is_workday(date(2026, 10, 2)) and not is_workday(date(2026, 10, 10))
    workdays.set_holiday_tables([])
    assert workdays.calendar_source(2026) == "chinese_calendar" and not is_workday(date(2026, 10, 1))


def test_listeners_hear_of_changes_only(loaded, monkeypatch):
    heard: list[int] = []
    monkeypatch.setattr(workdays, "_listeners", [])
    workdays.on_tables_changed(lambda: heard.append(1))
    table = workdays.HolidayTable(2099, frozenset({date(2099, 1, 1)}), frozenset())
    loaded(table)
    loaded(table)  # the same tables again: nothing to forget
    assert heard == [1]
