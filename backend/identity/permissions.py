"""Identity's permissions (granted in ``backend/identity/__init__.py``)."""

from enum import StrEnum


class IdentityPermission(StrEnum):
    CITIZEN_PROFILE = "mp:profile:write"
    STAFF_DEPARTMENT_MANAGE = "staff:department:manage"
    STAFF_USER_MANAGE = "staff:user:manage"
