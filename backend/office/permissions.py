"""The mobile office's permissions (granted in ``backend/office/__init__.py``)."""

from enum import StrEnum

from backend.auth.permissions import Role

# Who works in the office: every staff role of a department, and the mailbox centre's clerks. The
# office is granted to these roles, and its workflows let them act (their guards say on what).
CIVIL_SERVANTS = frozenset({Role.STAFF, Role.DEPARTMENT_ADMIN, Role.OFFICER, Role.MAILBOX_CENTER,
                            Role.PROPOSAL_COMMITTEE})


class OfficePermission(StrEnum):
    STAFF_OFFICE_MANAGE = "staff:office:manage"  # document number prefixes of one's departments
    STAFF_OFFICE_USE = "staff:office:use"  # documents, notices, supervision tasks, delegation
