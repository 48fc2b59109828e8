"""Roles and permissions. Every route declares one permission; the modules' ``grants`` say which
roles hold it (``role_permissions``). The authorization-matrix test enumerates routes × roles
from these tables.

Permission names follow ``"<audience>:<resource>:<action>"`` and each module keeps its own
alphabetised. ``public`` routes need no token; ``authenticated`` ones need any valid token of the
route's audience.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache


class Role(StrEnum):
    ADMIN = "admin"
    CITIZEN = "citizen"
    CPPCC_MEMBER = "cppcc_member"
    DEPARTMENT_ADMIN = "department_admin"
    MAILBOX_CENTER = "mailbox_center"
    OFFICER = "officer"
    PROPOSAL_COMMITTEE = "proposal_committee"
    STAFF = "staff"


STAFF_ROLES = frozenset(Role) - {Role.CITIZEN}

# Role scope, declared here and nowhere else (the grant ceiling in backend/identity/grants.py reads it).
# A city-wide role reaches every department or is a city register: the mailbox centre reads and dispatches
# every letter, the proposal committee files proposals for the whole city, CPPCC membership is conferred by
# the CPPCC and belongs to no department, admin is admin. Only an admin grants, removes or manages them.
# A department role acts inside its holder's department and subtree; a department admin grants those
# within its own subtree. Every staff role is exactly one of the two (a test checks the partition).
CITY_WIDE_ROLES: frozenset[Role] = frozenset({
    Role.ADMIN, Role.CPPCC_MEMBER, Role.MAILBOX_CENTER, Role.PROPOSAL_COMMITTEE})
DEPARTMENT_ROLES: frozenset[Role] = frozenset({Role.DEPARTMENT_ADMIN, Role.OFFICER, Role.STAFF})


def city_wide(roles: tuple[str, ...] | list[str] | set[str] | frozenset[str]) -> set[str]:
    """The city-wide roles among ``roles``; an unknown role name counts as city-wide (fail closed)."""
    return {role for role in roles if role not in DEPARTMENT_ROLES}


class Permission(StrEnum):
    """The two permissions every module shares. A module's own permissions are a ``StrEnum`` in
    its package (``backend/<module>/permissions.py``), named ``"<audience>:<resource>:<action>"``,
    and its ``Module`` declares which roles hold them (``grants``)."""

    AUTHENTICATED = "authenticated"  # any valid token of the route's audience
    PUBLIC = "public"  # no token at all


@cache
def role_permissions() -> dict[str, frozenset[str]]:
    """Every role's permissions: ``authenticated`` for all, plus what each module grants."""
    from backend.modules import MODULES  # noqa: PLC0415 - the module list imports every module, each imports this

    held: dict[str, set[str]] = {role.value: {Permission.AUTHENTICATED.value} for role in Role}
    for module in MODULES:
        for role, permissions in module.grants.items():
            held[str(role)] |= {str(p) for p in permissions}
    return {role: frozenset(permissions) for role, permissions in held.items()}


def roles_holding(permission: str) -> frozenset[str]:
    return frozenset(role for role, held in role_permissions().items() if permission in held)


def permissions_of(roles: tuple[str, ...] | list[str]) -> frozenset[str]:
    """Everything the roles hold together; unknown role names hold nothing."""
    table = role_permissions()
    held: set[str] = set()
    for role in roles:
        held |= table.get(role, frozenset())
    return frozenset(held)


def holds(roles: tuple[str, ...] | list[str], permission: str) -> bool:
    return permission == Permission.PUBLIC or permission in permissions_of(roles)
