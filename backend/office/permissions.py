"""The mobile office's permissions (granted in ``backend/office/__init__.py``)."""

from enum import StrEnum


class OfficePermission(StrEnum):
    STAFF_OFFICE_MANAGE = "staff:office:manage"  # document number prefixes of one's departments
    STAFF_OFFICE_USE = "staff:office:use"  # documents, notices, supervision tasks, delegation
