"""Time: UTC in storage, Asia/Shanghai (+08:00) in the API. Never naive datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

UTC = timezone.utc
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def utcnow() -> datetime:
    """The machine's time. Use cases read ``Context.clock`` instead, which tests can move."""
    return datetime.now(UTC)


class Clock:
    """The time as use cases, queries and jobs see it: one per context, so a test (or the demo
    sandbox) moves its own app's time with ``travel`` and nothing else in the process."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def stored(self) -> str:
        return to_storage(self.now())

    def travel(self, to: datetime) -> None:
        """Move this clock so that now is ``to`` (it keeps running from there)."""
        self._offset = to - datetime.now(UTC)

    def travel_back(self) -> None:
        self._offset = timedelta(0)


def to_storage(moment: datetime) -> str:
    """Stored form: ISO 8601 UTC with microseconds, so strings sort like times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_storage(text: str) -> datetime:
    return datetime.fromisoformat(text)  # 3.11 reads the trailing Z; strptime is ~50x slower


def to_api(text_or_moment: str | datetime | None) -> str | None:
    """API form: ISO 8601 in Beijing time, e.g. 2026-11-22T10:00:00+08:00."""
    if text_or_moment is None:
        return None
    if isinstance(text_or_moment, str):
        return _stored_to_api(text_or_moment)
    return text_or_moment.astimezone(CHINA).isoformat(timespec="seconds")


@lru_cache(maxsize=65536)
def _stored_to_api(text: str) -> str:
    # Lists show the same stored times page after page: convert each once.
    return from_storage(text).astimezone(CHINA).isoformat(timespec="seconds")


def now_stored() -> str:
    return to_storage(utcnow())
