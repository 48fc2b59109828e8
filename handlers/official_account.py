"""The Official Account's server callback (``/wechat/callback``): WeChat, not a user, calls it.

Signatures, decryption, deduplication and the 5-second rule live in
``backend/wechat/callback.py``; this only moves bytes in and out.
"""

from __future__ import annotations

from typing import Any

from backend.auth.permissions import Permission
from backend.http.endpoint import endpoint
from backend.http.routes import ID, Route
from backend.official_account import queries as oa_queries
from backend.official_account import use_cases as oa
from backend.official_account.permissions import OfficialAccountPermission
from backend.official_account.schemas import ConfigOut, FixedReplyIn, KeywordReplyIn, MenuIn
from handlers.base import StaffHandler

ADMIN_TAGS = ("wechat-admin",)


class OfficialAccountCallbackHandler(StaffHandler):
    @endpoint(permission=Permission.PUBLIC, summary="公众号服务器地址校验（返回 echostr）", errors=(403,),
              tags=("wechat",), media_type="text/plain")
    async def get(self) -> str:
        return self.ctx.oa_callback.verify_get(self._args())

    @endpoint(permission=Permission.PUBLIC, summary="公众号消息与事件推送（明文、兼容、安全模式）",
              errors=(403, 413), tags=("wechat",), media_type="text/xml")
    async def post(self) -> bytes:
        return await self.ctx.oa_callback.handle_post(self._args(), self.request.body)

    def _args(self) -> dict[str, str]:
        return {name: values[-1].decode("utf-8", "replace") for name, values in self.request.query_arguments.items()}


class ConfigHandler(StaffHandler):
    @endpoint(permission=OfficialAccountPermission.STAFF_WECHAT_MANAGE, summary="公众号配置：欢迎语、默认回复、关键词、菜单",
              response=ConfigOut, tags=ADMIN_TAGS)
    async def get(self) -> dict[str, Any]:
        return await oa_queries.get_config(self.ctx.store)


class KeywordRepliesHandler(StaffHandler):
    @endpoint(permission=OfficialAccountPermission.STAFF_WECHAT_MANAGE, summary="新增关键词回复（精确或包含匹配）",
              body=KeywordReplyIn, status=201, idempotent=True, tags=ADMIN_TAGS)
    async def post(self) -> dict[str, Any]:
        return await oa.do_add_keyword_reply(self.ctx, self.body, acting_user=self.principal,
                                             cache=self.ctx.oa_behaviours, reply_id=self.new_object_id())


class KeywordReplyHandler(StaffHandler):
    @endpoint(permission=OfficialAccountPermission.STAFF_WECHAT_MANAGE, summary="删除关键词回复", status=204, errors=(404,),
              tags=ADMIN_TAGS)
    async def delete(self, reply_id: str) -> None:
        await oa.do_delete_keyword_reply(self.ctx, reply_id, acting_user=self.principal,
                                         cache=self.ctx.oa_behaviours)


class FixedReplyHandler(StaffHandler):
    @endpoint(permission=OfficialAccountPermission.STAFF_WECHAT_MANAGE, summary="设置关注欢迎语（welcome）或默认回复（default）",
              body=FixedReplyIn, tags=ADMIN_TAGS)
    async def put(self, kind: str) -> dict[str, Any]:
        return await oa.do_set_fixed_reply(self.ctx, kind, self.body, acting_user=self.principal,  # type: ignore[arg-type]  # the route admits only welcome|default
                                           cache=self.ctx.oa_behaviours)


class MenuHandler(StaffHandler):
    @endpoint(permission=OfficialAccountPermission.STAFF_WECHAT_MANAGE, summary="保存自定义菜单（含点击回复）", body=MenuIn,
              tags=ADMIN_TAGS)
    async def put(self) -> dict[str, Any]:
        return await oa.do_save_menu(self.ctx, self.body, acting_user=self.principal, cache=self.ctx.oa_behaviours)


class MenuPublishHandler(StaffHandler):
    @endpoint(permission=OfficialAccountPermission.STAFF_WECHAT_MANAGE, summary="发布菜单到微信", errors=(404, 502, 503),
              tags=ADMIN_TAGS)
    async def post(self) -> dict[str, Any]:
        return await oa.do_publish_menu(self.ctx, acting_user=self.principal)


ROUTES = [
    Route(r"/api/v1/wechat/config", ConfigHandler),
    Route(r"/api/v1/wechat/keyword-replies", KeywordRepliesHandler),
    Route(rf"/api/v1/wechat/keyword-replies/{ID.format('reply_id')}", KeywordReplyHandler),
    Route(r"/api/v1/wechat/replies/(?P<kind>welcome|default)", FixedReplyHandler),
    Route(r"/api/v1/wechat/menu", MenuHandler),
    Route(r"/api/v1/wechat/menu/publish", MenuPublishHandler),
    Route(r"/wechat/callback", OfficialAccountCallbackHandler),
]
