"""The traffic light of a clock: yellow within N working days, red on the due day, overdue after."""

from datetime import date, datetime, time, timedelta

from backend.cases.deadline import DeadlinePolicy, Moment
from backend.clock import CHINA, to_storage

POLICY = DeadlinePolicy("handling", "办理", days=5, unit=lambda settings, doc: None)


def bj(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, tzinfo=CHINA)


def due_end_of(y: int, m: int, d: int) -> str:
    return to_storage(datetime.combine(date(y, m, d), time(23, 59, 59), CHINA))


def test_yellow_counts_working_days_not_calendar_days() -> None:
    due = due_end_of(2026, 3, 9)  # Monday
    assert POLICY.level(due, bj(2026, 3, 4)) == "normal"   # Wed: two working days reach Fri
    assert POLICY.level(due, bj(2026, 3, 5)) == "yellow"   # Thu: Fri, Mon
    assert POLICY.level(due, bj(2026, 3, 6)) == "yellow"   # Fri: the weekend does not count
    assert POLICY.level(due, bj(2026, 3, 9, 8)) == "red"   # the due day
    assert POLICY.level(due, bj(2026, 3, 10, 0)) == "overdue"


def test_overdue_strictly_after_the_due_instant() -> None:
    due_at = datetime(2026, 3, 9, 17, tzinfo=CHINA)
    assert POLICY.level(to_storage(due_at), due_at) == "red"
    assert POLICY.level(to_storage(due_at), due_at + timedelta(microseconds=1000)) == "overdue"


def test_yellow_across_the_spring_festival() -> None:
    due = due_end_of(2026, 2, 25)
    assert POLICY.level(due, bj(2026, 2, 13)) == "normal"  # Fri 13: Sat 14 is a workday, then Tue 24
    assert POLICY.level(due, bj(2026, 2, 16)) == "yellow"  # in the holiday: Tue 24, Wed 25


def test_a_policy_without_a_yellow_band() -> None:
    strict = DeadlinePolicy("strict", "严格", days=1, unit=lambda settings, doc: None, yellow_within=0)
    due = due_end_of(2026, 3, 9)
    assert strict.level(due, bj(2026, 3, 6)) == "normal"
    assert strict.level(due, bj(2026, 3, 9)) == "red"


def test_one_moment_displays_many_clocks() -> None:
    moment = Moment(bj(2026, 3, 5))
    running = {"running": True, "due_at": due_end_of(2026, 3, 9), "policy": "handling"}
    assert moment.display(running, POLICY) == "yellow"
    assert moment.display({**running, "paused_at": to_storage(bj(2026, 3, 4))}, POLICY) == "paused"
    assert moment.display({**running, "running": False}, POLICY) is None
    assert moment.display(None, POLICY) is None
