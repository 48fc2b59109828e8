"""Electronic supervision (电子监察): the one warning job over every registered workflow, and the
overview per department and module."""

from backend.auth.permissions import Role
from backend.context import Context
from backend.registry import Job, Module
from backend.supervision.permissions import SupervisionPermission


async def _warn(ctx: Context) -> int:
    from backend.modules import all_workflows  # noqa: PLC0415 - the module list imports this module
    from backend.supervision.warnings import warn_due_cases  # noqa: PLC0415

    return await warn_due_cases(ctx, all_workflows())


_READERS = (Role.STAFF, Role.DEPARTMENT_ADMIN, Role.MAILBOX_CENTER, Role.ADMIN)

MODULE = Module(name="supervision", label="电子监察", jobs=(Job("supervision-warnings", 60, _warn),),
                grants={role: frozenset({SupervisionPermission.STAFF_SUPERVISION_READ}) for role in _READERS})
