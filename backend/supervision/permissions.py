"""Supervision's permissions (granted in ``backend/supervision/__init__.py``)."""

from enum import StrEnum


class SupervisionPermission(StrEnum):
    STAFF_SUPERVISION_READ = "staff:supervision:read"
