"""Writes of the Official Account configuration (``oa_config``; shapes in backend/wechat/behaviours.py)."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from backend.auth.tokens import Principal
from backend.clock import now_stored
from backend.context import Context
from backend.errors import NotFound, ServiceError, Unavailable
from backend.official_account.schemas import FixedReplyIn, KeywordReplyIn, MenuButton, MenuIn
from backend.wechat.errors import WeChatError

OA_CONFIG = "oa_config"


class MenuNotSaved(NotFound):
    code = "menu_not_saved"
    message = "尚未保存菜单"


class MenuPublishFailed(ServiceError):
    code = "menu_publish_failed"
    http_status = 502
    message = "微信拒绝了菜单，请检查菜单内容"


class ConfigCache(Protocol):
    """The callback's cached configuration: told when this process changed it."""

    def config_changed(self) -> None: ...


async def do_add_keyword_reply(ctx: Context, data: KeywordReplyIn, *, acting_user: Principal, cache: ConfigCache,
                               reply_id: str) -> dict[str, Any]:
    doc = {"_id": reply_id, "kind": "keyword", "keyword": data.keyword, "match": data.match.value, "text": data.text,
           "created_by": acting_user.user_id, "created_at": now_stored()}
    if await ctx.store.collection(OA_CONFIG).find_one({"_id": reply_id}) is None:
        await ctx.store.collection(OA_CONFIG).insert_one(doc)
    cache.config_changed()
    return keyword_out(doc)


async def do_delete_keyword_reply(ctx: Context, reply_id: str, *, acting_user: Principal, cache: ConfigCache) -> None:
    if not await ctx.store.collection(OA_CONFIG).delete_one({"_id": reply_id, "kind": "keyword"}):
        raise NotFound("关键词回复不存在", code="keyword_reply_not_found")
    cache.config_changed()


async def do_set_fixed_reply(ctx: Context, kind: Literal["welcome", "default"], data: FixedReplyIn, *,
                             acting_user: Principal, cache: ConfigCache) -> dict[str, Any]:
    await ctx.store.collection(OA_CONFIG).update_one(
        {"_id": kind}, {"$set": {"kind": kind, "text": data.text, "updated_by": acting_user.user_id,
                                 "updated_at": now_stored()}}, upsert=True)
    cache.config_changed()
    return {"kind": kind, "text": data.text}


def _click_buttons(buttons: list[MenuButton]) -> list[MenuButton]:
    leaves = [leaf for button in buttons for leaf in (button.sub_button or [button])]
    return [leaf for leaf in leaves if leaf.type == "click"]


async def do_save_menu(ctx: Context, data: MenuIn, *, acting_user: Principal, cache: ConfigCache) -> dict[str, Any]:
    """Keep the menu and its click replies; publishing to WeChat is a separate step."""
    config = ctx.store.collection(OA_CONFIG)
    menu = data.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    await config.update_one({"_id": "menu"}, {"$set": {"kind": "menu", "menu": menu, "updated_at": now_stored(),
                                                       "updated_by": acting_user.user_id}}, upsert=True)
    clicks = _click_buttons(data.button)
    await config.delete_many({"kind": "click", "key": {"$nin": [b.key for b in clicks]}})
    for button in clicks:
        await config.update_one({"_id": f"click:{button.key}"},
                                {"$set": {"kind": "click", "key": button.key, "text": button.reply}}, upsert=True)
    cache.config_changed()
    return menu


def _for_wechat(button: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in button.items() if k not in ("reply", "sub_button")}
    if button.get("sub_button"):
        out["sub_button"] = [_for_wechat(sub) for sub in button["sub_button"]]
    return out


async def do_publish_menu(ctx: Context, *, acting_user: Principal) -> dict[str, Any]:
    saved = await ctx.store.collection(OA_CONFIG).find_one({"_id": "menu"})
    if saved is None:
        raise MenuNotSaved()
    try:
        await ctx.wechat.create_menu({"button": [_for_wechat(b) for b in saved["menu"]["button"]]})
    except WeChatError as exc:
        if exc.errcode == -1:
            raise Unavailable("微信服务暂时不可用，请稍后再发布") from None
        raise MenuPublishFailed(details={"errcode": exc.errcode}) from None
    await ctx.store.collection(OA_CONFIG).update_one({"_id": "menu"}, {"$set": {
        "published_at": now_stored(), "published_by": acting_user.user_id}})
    return {"published": True}


def keyword_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], "keyword": doc["keyword"], "match": doc["match"], "text": doc["text"]}
