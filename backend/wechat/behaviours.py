"""What the Official Account does with each pushed message: the default ``responder``.

Collections:

- ``wechat_followers``: one document per follower, ``_id`` = OA openid (so concurrent subscribe
  events upsert one record): ``openid, unionid?, scene, followed, followed_at, unfollowed_at``.
- ``wechat_locations``: LOCATION reports, kept only while the user follows (deleted on unsubscribe,
  as WeChat's rules ask).
- ``wechat_receipts``: delivery receipts: TEMPLATESENDJOBFINISH and ``subscribe_msg_*`` events.
  They are stored only; nothing is published from here.
- ``oa_config`` (written by administrators): ``{"kind": "welcome", "text"}``,
  ``{"kind": "default", "text"}``, ``{"kind": "click", "key", "text"}`` and
  ``{"kind": "keyword", "keyword", "match": "exact" | "contains", "text"}``.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wechatpy.messages import BaseMessage
from wechatpy.replies import BaseReply, TextReply

from backend.clock import UTC, now_stored, to_storage
from backend.ids import new_id
from backend.store.interface import Document, DocumentStore

log = logging.getLogger(__name__)

WELCOME_TEXT = "您好，欢迎关注！您可以通过下方菜单办理业务、查询信息，也可以直接发送关键词获取帮助。"
DEFAULT_TEXT = "您的消息已收到。如需咨询、求助或投诉，请通过菜单中的“政府信箱”提交，我们会尽快处理。"

_RECEIPT_EVENTS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}


class DefaultBehaviours:
    """``responder`` for ``OfficialAccountCallback``: ``await behaviours(message)``."""

    def __init__(self, *, store: DocumentStore, config_ttl: float = 5.0) -> None:
        self._followers = store.collection("wechat_followers")
        self._locations = store.collection("wechat_locations")
        self._receipts = store.collection("wechat_receipts")
        self._config = store.collection("oa_config")
        self._config_ttl = config_ttl
        self._snapshot: tuple[float, _Config] | None = None

    def config_changed(self) -> None:
        """The administrators changed the replies in this process: use them from the next message.
        Other processes pick them up within ``config_ttl`` seconds."""
        self._snapshot = None

    async def _settings(self) -> "_Config":
        """The administrators' configuration, cached briefly: every message needs some of it."""
        cached = self._snapshot
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        config = _Config()
        for doc in await self._config.find({"kind": {"$in": ["keyword", "click", "welcome", "default"]}}):
            if doc["kind"] == "keyword":
                config.keywords.append((_normalise(str(doc.get("keyword", ""))), doc))
            elif doc["kind"] == "click":
                config.clicks[str(doc.get("key"))] = str(doc.get("text", ""))
            elif doc.get("text"):
                config.fixed[doc["kind"]] = str(doc["text"])
        self._snapshot = (time.monotonic() + self._config_ttl, config)
        return config

    async def __call__(self, message: BaseMessage) -> BaseReply | None:
        if message.type == "text":
            return _text(message, await self._keyword_reply(message.content or ""))
        if message.type == "event":
            event = message.event
            if event in ("subscribe", "subscribe_scan"):
                await self._follow(message)
                return _text(message, await self._configured("welcome", WELCOME_TEXT))
            if event == "unsubscribe":
                await self._unfollow(message.source)
                return None
            if event == "click":
                return await self._click(message)
            if event == "location":
                await self._store_location(message)
                return None
            if event == "templatesendjobfinish":
                await self._receipts.insert_one(_receipt(message, "template", {
                    "msg_id": str(message.id), "status": message.status}))
                return None
        raw_event = str(message._data.get("Event", "")).lower()  # noqa: SLF001 - wechatpy 1.8.18 keeps these raw
        if raw_event in _RECEIPT_EVENTS:
            await self._store_subscribe_receipts(message, raw_event)
            return None
        log.info("Official Account message not handled: type=%s event=%s", message.type, raw_event or "-")
        return None

    async def _follow(self, message: BaseMessage) -> None:
        now = now_stored()
        changes: dict[str, Any] = {"openid": message.source, "followed": True, "followed_at": now,
                                   "scene": message.scene_id if message.event == "subscribe_scan" else None,
                                   "updated_at": now}
        unionid = message._data.get("UnionId")  # noqa: SLF001 - not a wechatpy field
        if unionid:
            changes["unionid"] = unionid
        doc = await self._followers.find_one_and_update(
            {"_id": message.source}, {"$set": changes, "$inc": {"version": 1}}, upsert=True)
        if doc is not None and "created_at" not in doc:
            await self._followers.update_one({"_id": message.source, "created_at": {"$exists": False}},
                                             {"$set": {"created_at": now}})

    async def _unfollow(self, openid: str) -> None:
        now = now_stored()
        await self._followers.update_one({"_id": openid}, {
            "$set": {"followed": False, "unfollowed_at": now, "updated_at": now}, "$inc": {"version": 1}})
        removed = await self._locations.delete_many({"openid": openid})
        log.info("follower left; deleted %d location records", removed)

    async def _click(self, message: BaseMessage) -> BaseReply | None:
        text = (await self._settings()).clicks.get(str(message.key))
        if text is None:
            log.info("menu key %r has no configured reply", message.key)
            return None
        return _text(message, text)

    async def _store_location(self, message: BaseMessage) -> None:
        await self._locations.insert_one({
            "_id": new_id(), "openid": message.source, "latitude": message.latitude,
            "longitude": message.longitude, "precision": message.precision,
            "reported_at": _event_time(message), "created_at": now_stored()})

    async def _store_subscribe_receipts(self, message: BaseMessage, event: str) -> None:
        container = message._data.get(_RECEIPT_EVENTS[event]) or {}  # noqa: SLF001
        items = container.get("List") if isinstance(container, dict) else None
        if isinstance(items, dict):
            items = [items]  # xmltodict gives a dict for one <List>, a list for several
        receipts = [_receipt(message, event, {
            "template_id": item.get("TemplateId"),
            "status": item.get("SubscribeStatusString") or item.get("ErrorStatus"),
            "popup_scene": item.get("PopupScene"), "msg_id": item.get("MsgID"),
            "error_code": item.get("ErrorCode"),
        }) for item in items or [] if isinstance(item, dict)]
        if receipts:
            await self._receipts.insert_many(receipts)

    async def _keyword_reply(self, content: str) -> str:
        text = _normalise(content)
        rules = (await self._settings()).keywords
        for keyword, rule in rules:
            if rule.get("match", "exact") == "exact" and keyword == text:
                return str(rule["text"])
        contained = [(keyword, rule) for keyword, rule in rules
                     if rule.get("match") == "contains" and keyword and keyword in text]
        if contained:  # the most specific (longest) keyword wins
            return str(max(contained, key=lambda pair: len(pair[0]))[1]["text"])
        return await self._configured("default", DEFAULT_TEXT)

    async def _configured(self, kind: str, fallback: str) -> str:
        return (await self._settings()).fixed.get(kind, fallback)


@dataclass
class _Config:
    keywords: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    clicks: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)  # welcome, default


def _normalise(text: str) -> str:
    """Full-width letters and digits as half-width, case folded, spaces trimmed: 'ＷＩＦＩ ' == 'wifi'."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _text(message: BaseMessage, content: str) -> TextReply:
    return TextReply(message=message, content=content)


def _event_time(message: BaseMessage) -> str:
    return to_storage(datetime.fromtimestamp(message.time, UTC))


def _receipt(message: BaseMessage, kind: str, fields: dict[str, Any]) -> Document:
    return {"_id": new_id(), "kind": kind, "openid": message.source, "event_time": _event_time(message),
            "created_at": now_stored(), **fields}
