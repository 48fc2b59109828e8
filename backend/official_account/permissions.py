"""The Official Account's permissions (granted in ``backend/official_account/__init__.py``)."""

from enum import StrEnum


class OfficialAccountPermission(StrEnum):
    STAFF_WECHAT_MANAGE = "staff:wechat:manage"
