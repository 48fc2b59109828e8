"""Staff identity: login and sessions, ``/me``, departments and staff accounts."""

from __future__ import annotations

from typing import Any

from backend.auth.permissions import Permission
from backend.http.endpoint import endpoint
from backend.http.routes import CODE, ID, Route
from backend.identity import queries, use_cases
from backend.identity.permissions import IdentityPermission
from backend.identity.schemas import (
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    DepartmentQuery,
    RefreshIn,
    StaffLoginIn,
    StaffUserIn,
    StaffUserPatch,
    StaffUserQuery,
    TokenPairOut,
    UserOut,
)
from handlers.base import StaffHandler

TAGS = ("identity",)


class LoginHandler(StaffHandler):
    @endpoint(permission=Permission.PUBLIC, summary="工作人员登录", body=StaffLoginIn, response=TokenPairOut,
              errors=(401, 429), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        # The peer address (xheaders is off) and X-Forwarded-For go to the throttle only, hashed: never logged.
        return await use_cases.do_login_staff(self.ctx, self.body.username, self.body.password,
                                              throttle=self.ctx.login_throttle, peer=self.request.remote_ip,
                                              forwarded_for=self.request.headers.get("X-Forwarded-For"))


class RefreshHandler(StaffHandler):
    @endpoint(permission=Permission.PUBLIC, summary="刷新令牌", body=RefreshIn, response=TokenPairOut,
              errors=(401,), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_refresh(self.ctx, self.body.refresh_token, "staff")


class LogoutHandler(StaffHandler):
    @endpoint(permission=Permission.AUTHENTICATED, summary="退出登录", status=204, tags=TAGS)
    async def post(self) -> None:
        await use_cases.do_logout(self.ctx, self.principal)


class MeHandler(StaffHandler):
    @endpoint(permission=Permission.AUTHENTICATED, summary="当前用户", response=UserOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await queries.get_me(self.ctx.store, self.ctx.department_names, self.ctx.personal_data,
                                    self.principal)


class DepartmentsHandler(StaffHandler):
    @endpoint(permission=Permission.AUTHENTICATED, summary="部门列表", query=DepartmentQuery, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await queries.list_departments(self.ctx.store, self.query.parent)

    @endpoint(permission=IdentityPermission.STAFF_DEPARTMENT_MANAGE, summary="新建部门", body=DepartmentIn,
              response=DepartmentOut, status=201, idempotent=True, errors=(404, 409), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_create_department(self.ctx, self.body, acting_user=self.principal)


class DepartmentHandler(StaffHandler):
    @endpoint(permission=Permission.AUTHENTICATED, summary="部门详情", response=DepartmentOut, errors=(404,), tags=TAGS)
    async def get(self, code: str) -> dict[str, Any]:
        return queries.department_out(await queries.get_department(self.ctx.store, code))

    @endpoint(permission=IdentityPermission.STAFF_DEPARTMENT_MANAGE, summary="修改部门", body=DepartmentPatch,
              response=DepartmentOut, errors=(404, 409), tags=TAGS)
    async def patch(self, code: str) -> dict[str, Any]:
        return await use_cases.do_update_department(self.ctx, code, self.body, acting_user=self.principal,
                                                    expected_version=self.if_match_version())

    @endpoint(permission=IdentityPermission.STAFF_DEPARTMENT_MANAGE, summary="删除部门", status=204,
              errors=(404, 409), tags=TAGS)
    async def delete(self, code: str) -> None:
        await use_cases.do_delete_department(self.ctx, code, acting_user=self.principal)


class StaffUsersHandler(StaffHandler):
    @endpoint(permission=IdentityPermission.STAFF_USER_MANAGE, summary="工作人员账号列表", query=StaffUserQuery, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await queries.list_staff_users(self.ctx.store, self.ctx.personal_data, self.principal,
                                              department=self.query.department, limit=self.query.limit,
                                              cursor=self.query.cursor)

    @endpoint(permission=IdentityPermission.STAFF_USER_MANAGE, summary="新建工作人员账号", body=StaffUserIn,
              response=UserOut, status=201, idempotent=True, errors=(403, 404, 409), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_create_staff_user(self.ctx, self.body, acting_user=self.principal)


class StaffUserHandler(StaffHandler):
    @endpoint(permission=IdentityPermission.STAFF_USER_MANAGE, summary="工作人员账号详情", response=UserOut,
              errors=(404,), tags=TAGS)
    async def get(self, user_id: str) -> dict[str, Any]:
        return await queries.get_staff_user(self.ctx.store, self.ctx.personal_data, self.principal, user_id)

    @endpoint(permission=IdentityPermission.STAFF_USER_MANAGE, summary="修改工作人员账号", body=StaffUserPatch,
              response=UserOut, errors=(403, 404, 409), tags=TAGS)
    async def patch(self, user_id: str) -> dict[str, Any]:
        return await use_cases.do_update_staff_user(self.ctx, user_id, self.body, acting_user=self.principal,
                                                    expected_version=self.if_match_version())

    @endpoint(permission=IdentityPermission.STAFF_USER_MANAGE, summary="停用工作人员账号", status=204,
              errors=(403, 404, 409), tags=TAGS)
    async def delete(self, user_id: str) -> None:
        await use_cases.do_update_staff_user(self.ctx, user_id, StaffUserPatch(disabled=True),
                                             acting_user=self.principal, expected_version=self.if_match_version())


ROUTES = [
    Route(r"/api/v1/auth/login", LoginHandler),
    Route(r"/api/v1/auth/refresh", RefreshHandler),
    Route(r"/api/v1/auth/logout", LogoutHandler),
    Route(r"/api/v1/me", MeHandler),
    Route(r"/api/v1/departments", DepartmentsHandler),
    Route(rf"/api/v1/departments/{CODE.format('code')}", DepartmentHandler),
    Route(r"/api/v1/staff-users", StaffUsersHandler),
    Route(rf"/api/v1/staff-users/{ID.format('user_id')}", StaffUserHandler),
]
