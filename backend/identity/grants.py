"""The ceiling on role grants (授权上限): who may give which role to whom.

Every create, change and disable of a staff account passes ``check_grant`` before it is written:

- only an admin grants, removes or manages a city-wide role (``CITY_WIDE_ROLES`` in
  ``backend/auth/permissions.py``): a department admin can neither hand one out nor touch an account
  that holds one (a password reset there would be a take-over of the role);
- a department admin manages department roles of accounts within its own subtree only;
- nobody changes their own roles or department, or disables their own account;
- the last active admin is neither demoted nor disabled (the use case counts; see ``LastAdmin``).
"""

from __future__ import annotations

from collections.abc import Collection

from backend.auth.permissions import Role, city_wide
from backend.auth.tokens import Principal
from backend.errors import Conflict, Forbidden


class RoleGrantForbidden(Forbidden):
    code = "role_grant_forbidden"
    message = "只有系统管理员可以授予、撤销或管理全市范围的角色"


class DepartmentOutOfScope(Forbidden):
    code = "department_out_of_scope"
    message = "只能管理本部门及下级部门的账号"


class SelfChangeForbidden(Forbidden):
    code = "self_change_forbidden"
    message = "不能修改自己的角色或部门，也不能停用自己的账号"


class LastAdmin(Conflict):
    code = "last_admin"
    message = "这是最后一名启用的系统管理员，不能撤销其管理员角色或停用其账号"


def check_grant(actor: Principal, *, scope: list[str] | None, target_id: str | None,
                roles_before: Collection[str], roles_after: Collection[str],
                department_before: str | None, department_after: str | None, disabling: bool) -> None:
    """Refuse the change unless ``actor`` may make it. ``scope`` is the departments the actor manages
    (None: all, for an admin); ``target_id`` is None for a new account."""
    if scope is not None:  # not an admin: a department admin within its subtree
        above = city_wide(set(roles_before) | set(roles_after))
        if above:
            raise RoleGrantForbidden(details={"roles": sorted(above)})
        if department_after is None or department_after not in scope:
            raise DepartmentOutOfScope(details={"department": department_after})
    if target_id is not None and target_id == actor.user_id and (
            set(roles_before) != set(roles_after) or department_before != department_after or disabling):
        raise SelfChangeForbidden()


def removes_admin(*, roles_before: Collection[str], roles_after: Collection[str], was_disabled: bool,
                  disabling: bool) -> bool:
    """The change takes an active admin out of the active admins."""
    return Role.ADMIN in roles_before and not was_disabled and (Role.ADMIN not in roles_after or disabling)
