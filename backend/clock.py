"""Time: UTC in storage, Asia/Shanghai (+08:00) in the API. Never naive datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

UTC = timezone.utc
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


_offset = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset


def travel(to: datetime) -> None:
    """Move this process's clock so that now is ``to`` (it keeps running from there). For tests
    of deadlines and the demo sandbox; never called by the service itself."""
    global _offset
    _offset = to - datetime.now(UTC)


def travel_back() -> None:
    global _offset
    _offset = timedelta(0)


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
