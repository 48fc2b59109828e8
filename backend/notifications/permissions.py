"""The notification centre's permissions (granted in ``backend/notifications/__init__.py``)."""

from enum import StrEnum


class NotificationPermission(StrEnum):
    STAFF_PUSH_MANAGE = "staff:push:manage"
