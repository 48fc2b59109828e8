"""Mobile office (手机移动办公): official documents routed for approval and distribution (公文流转:
发文 and 收文), notices and meeting notices with read receipts (通知公告 / 会议通知), supervision
tasks (督查督办) and delegation (委托), for the civil servants of every department.

Each kind of case is a part (``documents/``, ``notices/``, ``tasks/``) with its own workflow on the
case kernel; this declaration puts them together. Nothing here is measured from likes, forwards or
time online (2026 rules for government mobile apps): only what was done and when.
"""

from backend.auth.permissions import Role
from backend.notifications.rules import combine
from backend.office import delegations, documents, notices, tasks
from backend.office.permissions import CIVIL_SERVANTS
from backend.office.permissions import OfficePermission as P
from backend.registry import Module

PARTS = (documents.PART, notices.PART, tasks.PART, delegations.PART)

MODULE = Module(
    name="office", label="移动办公",
    collections=tuple(spec for part in PARTS for spec in part.collections),
    workflows=tuple(workflow for part in PARTS for workflow in part.workflows),
    notifications=combine(*(part.rules for part in PARTS)),
    jobs=tuple(job for part in PARTS for job in part.jobs),
    events=frozenset().union(*(part.events for part in PARTS)),
    grants={
        **{role: frozenset({P.STAFF_OFFICE_USE}) for role in CIVIL_SERVANTS},
        Role.DEPARTMENT_ADMIN: frozenset({P.STAFF_OFFICE_USE, P.STAFF_OFFICE_MANAGE}),
        Role.ADMIN: frozenset({P.STAFF_OFFICE_MANAGE}),
    },
)
