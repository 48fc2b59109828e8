"""Citizen identity in the mini-program: WeChat login, sessions, ``/me``."""

from __future__ import annotations

from typing import Any

from backend.auth.permissions import Permission
from backend.http.endpoint import endpoint
from backend.http.routes import Route
from backend.identity import queries, use_cases
from backend.identity.permissions import IdentityPermission
from backend.identity.schemas import CitizenLoginIn, PhoneBindIn, RefreshIn, TokenPairOut, UserOut
from miniprogram_api.base import CitizenHandler

TAGS = ("identity",)


class LoginHandler(CitizenHandler):
    @endpoint(permission=Permission.PUBLIC, summary="微信登录（wx.login 的 code）", body=CitizenLoginIn,
              response=TokenPairOut, errors=(401, 403, 429, 503), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_login_citizen(self.ctx, self.body.code)


class RefreshHandler(CitizenHandler):
    @endpoint(permission=Permission.PUBLIC, summary="刷新令牌", body=RefreshIn, response=TokenPairOut,
              errors=(401,), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_refresh(self.ctx, self.body.refresh_token, "mp")


class LogoutHandler(CitizenHandler):
    @endpoint(permission=Permission.AUTHENTICATED, summary="退出登录", status=204, tags=TAGS)
    async def post(self) -> None:
        await use_cases.do_logout(self.ctx, self.principal)


class MeHandler(CitizenHandler):
    @endpoint(permission=Permission.AUTHENTICATED, summary="当前用户", response=UserOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await queries.get_me(self.ctx.store, self.ctx.department_names, self.ctx.personal_data,
                                    self.principal)


class PhoneHandler(CitizenHandler):
    @endpoint(permission=IdentityPermission.CITIZEN_PROFILE, summary="绑定微信手机号（code，或旧版 encryptedData+iv）",
              body=PhoneBindIn, response=UserOut, errors=(401, 429, 503), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_bind_phone(self.ctx, self.body, acting_user=self.principal)


ROUTES = [
    Route(r"/mp/v1/auth/login", LoginHandler),
    Route(r"/mp/v1/auth/refresh", RefreshHandler),
    Route(r"/mp/v1/auth/logout", LogoutHandler),
    Route(r"/mp/v1/me", MeHandler),
    Route(r"/mp/v1/me/phone", PhoneHandler),
]
