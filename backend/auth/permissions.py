"""Roles and permissions. Every route declares one ``Permission``; ``ROLE_PERMISSIONS`` says
which roles hold it. The authorization-matrix test enumerates routes × roles from these tables.

Permission names follow ``"<audience>:<resource>:<action>"`` and are kept alphabetised.
``public`` routes need no token; ``authenticated`` ones need any valid token of the route's
audience.
"""

from __future__ import annotations

from enum import StrEnum


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


class Permission(StrEnum):
    AUTHENTICATED = "authenticated"
    CITIZEN_LETTER_READ = "mp:letter:read"
    CITIZEN_LETTER_WRITE = "mp:letter:write"
    CITIZEN_PROFILE = "mp:profile:write"
    PUBLIC = "public"
    STAFF_CALENDAR_MANAGE = "staff:calendar:manage"
    STAFF_DEPARTMENT_MANAGE = "staff:department:manage"
    STAFF_LETTER_CENTER = "staff:letter:center"
    STAFF_LETTER_HANDLE = "staff:letter:handle"
    STAFF_LETTER_READ = "staff:letter:read"
    STAFF_PUSH_MANAGE = "staff:push:manage"
    STAFF_STATISTICS_READ = "staff:statistics:read"
    STAFF_SUPERVISION_READ = "staff:supervision:read"
    STAFF_USER_MANAGE = "staff:user:manage"
    STAFF_WECHAT_MANAGE = "staff:wechat:manage"


_EVERY_STAFF = {Permission.AUTHENTICATED}
_LETTER_STAFF = {Permission.STAFF_LETTER_READ, Permission.STAFF_LETTER_HANDLE, Permission.STAFF_SUPERVISION_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CITIZEN: frozenset({Permission.AUTHENTICATED, Permission.CITIZEN_LETTER_READ,
                             Permission.CITIZEN_LETTER_WRITE, Permission.CITIZEN_PROFILE}),
    Role.STAFF: frozenset(_EVERY_STAFF | _LETTER_STAFF),
    Role.OFFICER: frozenset(_EVERY_STAFF),
    Role.CPPCC_MEMBER: frozenset(_EVERY_STAFF),
    Role.PROPOSAL_COMMITTEE: frozenset(_EVERY_STAFF),
    Role.DEPARTMENT_ADMIN: frozenset(_EVERY_STAFF | _LETTER_STAFF | {
        Permission.STAFF_USER_MANAGE, Permission.STAFF_STATISTICS_READ}),
    Role.MAILBOX_CENTER: frozenset(_EVERY_STAFF | _LETTER_STAFF | {
        Permission.STAFF_LETTER_CENTER, Permission.STAFF_STATISTICS_READ}),
    Role.ADMIN: frozenset(_EVERY_STAFF | {
        Permission.STAFF_CALENDAR_MANAGE,
        Permission.STAFF_DEPARTMENT_MANAGE, Permission.STAFF_USER_MANAGE,
        Permission.STAFF_PUSH_MANAGE, Permission.STAFF_STATISTICS_READ, Permission.STAFF_WECHAT_MANAGE,
        Permission.STAFF_SUPERVISION_READ}),
}


def roles_holding(permission: Permission) -> frozenset[Role]:
    return frozenset(role for role, held in ROLE_PERMISSIONS.items() if permission in held)


def permissions_of(roles: tuple[str, ...] | list[str]) -> frozenset[Permission]:
    """Everything the roles hold together; unknown role names hold nothing."""
    held: set[Permission] = set()
    for role in roles:
        if role in Role._value2member_map_:
            held |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(held)


def holds(roles: tuple[str, ...] | list[str], permission: Permission) -> bool:
    return permission is Permission.PUBLIC or permission in permissions_of(roles)
