"""The holiday calendar's permissions (granted in ``backend/calendar/__init__.py``)."""

from enum import StrEnum


class CalendarPermission(StrEnum):
    STAFF_CALENDAR_MANAGE = "staff:calendar:manage"
