"""The Official Account callback (公众号消息回调), independent of Tornado.

The HTTP handler passes the query arguments and body in and writes the bytes back out
(``text/xml``); ``ServiceError``s raised here become 403/400/413. WeChat's rules (WECHAT.md §1):

- Every request is signed with our token; safe mode (``encrypt_type=aes``) also encrypts the
  message and wants an encrypted reply. Compatible mode sends both forms: the encrypted one wins.
- WeChat waits 5 s, then retries (3 tries in all). A retry must get the same reply without running
  the behaviour again: the first reply is kept in Redis under the message's dedupe key.
- Answering ``success`` means "no reply". A behaviour slower than the deadline gets ``success`` at
  once, and its reply goes out later as a customer-service message.

Replay and downgrade. The signature covers only token, timestamp and nonce, not a plaintext
body, so one leaked signed URL would let anyone post any event (a victim's ``subscribe`` with
their UnionId) for ever. Hence:

- ``timestamp`` must lie within ``YZT_OA_REPLAY_WINDOW`` seconds (either side) of the app clock;
- each ``nonce`` is kept in Redis (``SET NX``, for twice the window: as long as its timestamp
  can pass) with a fingerprint of the request (signatures and body). The same nonce again with
  the same fingerprint is WeChat's retry, or an exact copy: it goes on to the MsgId dedupe,
  whose record lasts as long, so it gets the first reply and never runs the behaviour twice.
  The same nonce with anything else is refused;
- in safe mode (``YZT_OA_AES_KEY`` set and ``YZT_OA_COMPAT_MODE`` off) plaintext messages are
  refused: only the encrypted form, whose ``msg_signature`` covers the body, is accepted.

Without Redis the nonce cannot be checked; the window and safe mode still hold, and messages
are answered (as for the dedupe: better than "该公众号暂时无法提供服务" for everyone).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from contextlib import suppress
from typing import Any, Callable, Coroutine, Mapping
from xml.parsers.expat import ExpatError

import redis.asyncio as aioredis
import xmltodict
from redis.exceptions import RedisError
from wechatpy import parse_message
from wechatpy.messages import BaseMessage
from wechatpy.replies import ArticlesReply, BaseReply, ImageReply, TextReply, VideoReply, VoiceReply

from backend.clock import Clock
from backend.config import Settings
from backend.errors import Forbidden, PayloadTooLarge, ValidationFailed
from backend.wechat.client import WeChatClient
from backend.wechat.crypto import DecryptError, MessageCrypto, signature_matches

log = logging.getLogger(__name__)

Responder = Callable[[BaseMessage], Coroutine[Any, Any, BaseReply | None]]

SUCCESS = "success"
_PENDING = b"\x00"  # stored while the first delivery is being answered; a reply is b"=" + xml
_DONE = b"="
_UNSAFE_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_TIMESTAMP = re.compile(r"\d{1,12}")
_NONCE = re.compile(r"[0-9A-Za-z_-]{1,64}")


class OfficialAccountCallback:
    """Create one at start-up; close with ``aclose()`` at shutdown (it owns late replies)."""

    def __init__(self, *, settings: Settings, redis: aioredis.Redis, client: WeChatClient,
                 responder: Responder, clock: Clock | None = None, deadline: float = 4.0, dedupe_ttl: float = 60.0,
                 max_body: int = 64 * 1024, key_prefix: str = "yzt:wechat:oa") -> None:
        self._token = settings.oa_token
        self._clock = clock or Clock()
        self._crypto = MessageCrypto(token=settings.oa_token, appid=settings.oa_appid,
                                     aes_keys=[settings.oa_aes_key, settings.oa_previous_aes_key])
        self._safe_mode = bool(settings.oa_aes_key) and not settings.oa_compat_mode
        self._window = settings.oa_replay_window
        self._nonce_ttl_ms = 2 * settings.oa_replay_window * 1000
        self._redis = redis
        self._client = client
        self._responder = responder
        self._deadline = deadline
        self._pending_ttl_ms = int(dedupe_ttl * 1000)
        # A copy of a request is accepted as long as its nonce is remembered: its reply must be
        # remembered as long, or the copy would run the behaviour again.
        self._reply_ttl_ms = max(self._pending_ttl_ms, self._nonce_ttl_ms)
        self._max_body = max_body
        self._prefix = key_prefix
        self._late: set[asyncio.Task[None]] = set()

    def verify_get(self, args: Mapping[str, str]) -> str:
        """The URL check WeChat makes when the callback is configured: echo ``echostr`` back."""
        self._check_signature(args)
        return args.get("echostr", "")

    async def handle_post(self, args: Mapping[str, str], body: bytes) -> bytes:
        """One pushed message or event in; the passive reply (or ``success``) out."""
        if len(body) > self._max_body:
            raise PayloadTooLarge("消息内容过大")
        timestamp, nonce = self._check_signature(args)
        self._check_fresh(timestamp)
        encrypted_mode = args.get("encrypt_type", "raw").lower() == "aes"
        if self._safe_mode and not encrypted_mode:
            raise Forbidden("安全模式下只接受加密消息", code="wechat_plaintext_refused")
        fields = _parse_xml(body)
        encrypted = fields.get("Encrypt") if encrypted_mode else None
        if encrypted_mode and not (isinstance(encrypted, str) and signature_matches(
                (self._token, timestamp, nonce, encrypted), args.get("msg_signature", ""))):
            raise Forbidden("消息签名无效", code="wechat_signature_invalid")
        # Only a request that passed every signature check may claim a nonce.
        await self._claim_nonce(nonce, _fingerprint(args, body))
        key: bytes | None = None
        if isinstance(encrypted, str):
            try:
                xml, key = self._crypto.decrypt(encrypted)
            except DecryptError as exc:
                log.warning("cannot decrypt an Official Account message (check YZT_OA_AES_KEY): %s", exc)
                raise Forbidden("消息解密失败", code="wechat_decrypt_failed") from None
            fields = _parse_xml(xml.encode("utf-8"))
        else:
            try:
                xml = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationFailed("消息格式不正确", code="wechat_xml_invalid") from None
        dedupe_key = _dedupe_key(fields)
        reply = await self._reply_once(dedupe_key, parse_message(xml))
        if reply == SUCCESS:
            return SUCCESS.encode()  # plain even in safe mode, as WeChat's own samples do
        if key is not None:
            return self._crypto.encrypt_reply(reply, key, nonce).encode("utf-8")
        return reply.encode("utf-8")

    async def aclose(self, timeout: float = 10.0) -> None:
        """Let late replies finish (up to ``timeout``), then cancel the rest."""
        if self._late:
            await asyncio.wait(set(self._late), timeout=timeout)
        for task in set(self._late):
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    def _check_fresh(self, timestamp: str) -> None:
        if abs(self._clock.now().timestamp() - int(timestamp)) > self._window:
            raise Forbidden("消息已过期", code="wechat_timestamp_stale")

    async def _claim_nonce(self, nonce: str, fingerprint: bytes) -> None:
        key = f"{self._prefix}:nonce:{nonce}"
        try:
            if await self._redis.set(key, fingerprint, nx=True, px=self._nonce_ttl_ms):
                return
            seen = await self._redis.get(key)
        except RedisError as exc:
            log.warning("Redis unavailable, Official Account nonces not checked: %r", exc)
            return
        if isinstance(seen, str):  # a client made with decode_responses=True
            seen = seen.encode("latin-1")
        if seen is not None and seen != fingerprint:
            raise Forbidden("请求已被使用", code="wechat_nonce_reused")

    def _check_signature(self, args: Mapping[str, str]) -> tuple[str, str]:
        timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
        if not self._token:
            log.error("YZT_OA_TOKEN is not set: refusing every Official Account callback")
            raise Forbidden("签名无效", code="wechat_signature_invalid")
        if not (_TIMESTAMP.fullmatch(timestamp) and _NONCE.fullmatch(nonce)
                and signature_matches((self._token, timestamp, nonce), args.get("signature", ""))):
            raise Forbidden("签名无效", code="wechat_signature_invalid")
        return timestamp, nonce

    async def _reply_once(self, dedupe_key: str, message: BaseMessage) -> str:
        """The reply to this message, computed by the first delivery only."""
        key = f"{self._prefix}:seen:{dedupe_key}"
        try:
            first = await self._redis.set(key, _PENDING, nx=True, px=self._pending_ttl_ms)
        except RedisError as exc:
            # Answering twice on a retry is better than "该公众号暂时无法提供服务" for everyone.
            log.warning("Redis unavailable, answering without deduplication: %r", exc)
            return await self._respond(message)
        if first:
            try:
                reply = await self._respond(message)
            except BaseException:
                await self._redis.delete(key)  # let WeChat's retry try again
                raise
            try:
                await self._redis.set(key, _DONE + reply.encode("utf-8"), px=self._reply_ttl_ms)
            except RedisError as exc:  # retries will answer "success"; this delivery still gets its reply
                log.warning("could not keep the reply for %s: %r", dedupe_key, exc)
            return reply
        give_up = time.monotonic() + self._deadline
        while True:
            stored = await self._redis.get(key)
            if isinstance(stored, str):  # a client made with decode_responses=True
                stored = stored.encode("utf-8")
            if stored is not None and stored.startswith(_DONE):
                return stored[len(_DONE):].decode("utf-8")
            if stored is None or time.monotonic() > give_up:
                # The first delivery failed, or is still running: it answers on its own.
                log.info("duplicate Official Account message %s not yet answered", dedupe_key)
                return SUCCESS
            await asyncio.sleep(0.05)

    async def _respond(self, message: BaseMessage) -> str:
        task = asyncio.create_task(self._responder(message))
        try:
            done, _ = await asyncio.wait({task}, timeout=self._deadline)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            late = asyncio.create_task(self._reply_late(task, message))
            self._late.add(late)
            late.add_done_callback(self._late.discard)
            return SUCCESS
        reply = task.result()
        return SUCCESS if reply is None else _render(reply, message)

    async def _reply_late(self, task: asyncio.Task[BaseReply | None], message: BaseMessage) -> None:
        try:
            reply = await task
        except Exception:
            log.exception("Official Account behaviour failed after the reply deadline")
            return
        if reply is None:
            return
        custom = _as_custom_message(reply)
        if custom is None:
            log.warning("a late %s reply cannot be sent as a customer-service message", reply.type)
            return
        try:
            await self._client.send_custom_message(message.source, *custom)
        except Exception:
            log.exception("could not send the late reply to %s", message.source)


def _fingerprint(args: Mapping[str, str], body: bytes) -> bytes:
    """What makes a delivery this delivery: its signed parameters and its body."""
    digest = hashlib.sha256()
    for name in ("timestamp", "nonce", "signature", "msg_signature", "encrypt_type"):
        digest.update(args.get(name, "").encode("utf-8") + b"\n")
    digest.update(body)
    return digest.digest()


def _parse_xml(data: bytes) -> dict[str, Any]:
    """The ``<xml>`` element as a dict. DTDs are refused outright (entity expansion, external
    entities); xmltodict also disables entities, this is the second lock on the door."""
    if _UNSAFE_XML.search(data):
        raise ValidationFailed("消息格式不正确", code="wechat_xml_invalid")
    try:
        parsed = xmltodict.parse(data, disable_entities=True)
    except (ExpatError, ValueError):
        raise ValidationFailed("消息格式不正确", code="wechat_xml_invalid") from None
    fields = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(fields, dict):
        raise ValidationFailed("消息格式不正确", code="wechat_xml_invalid")
    return fields


def _dedupe_key(fields: dict[str, Any]) -> str:
    """MsgId for messages; for events (no MsgId) sender + CreateTime + Event, plus EventKey or the
    template MsgID so that two different events in one second stay apart."""
    if not (isinstance(fields.get("MsgType"), str) and isinstance(fields.get("FromUserName"), str)
            and isinstance(fields.get("CreateTime"), str) and fields["CreateTime"].isdigit()):
        raise ValidationFailed("消息缺少必要字段", code="wechat_xml_invalid")
    if fields["MsgType"] != "event" and isinstance(fields.get("MsgId"), str):
        return f"msg:{fields['MsgId']}"
    extra = next((fields[name] for name in ("EventKey", "MsgID") if isinstance(fields.get(name), str)), "")
    return f"evt:{fields['FromUserName']}:{fields['CreateTime']}:{fields.get('Event', '')}:{extra}"


def _render(reply: BaseReply, message: BaseMessage) -> str:
    if not reply.source:
        reply.source = message.target
    if not reply.target:
        reply.target = message.source
    return str(reply.render())


def _as_custom_message(reply: BaseReply) -> tuple[str, dict[str, Any]] | None:
    """A passive reply turned into the equivalent customer-service message."""
    if isinstance(reply, TextReply):
        return "text", {"content": reply.content}
    if isinstance(reply, ImageReply):
        return "image", {"media_id": reply.media_id}
    if isinstance(reply, VoiceReply):
        return "voice", {"media_id": reply.media_id}
    if isinstance(reply, VideoReply):
        return "video", {"media_id": reply.media_id, "title": reply.title, "description": reply.description}
    if isinstance(reply, ArticlesReply) and reply.articles:
        article = reply.articles[0]  # one article when answering a user (WECHAT.md §1)
        return "news", {"articles": [{"title": article.get("title", ""), "description": article.get("description", ""),
                                      "url": article.get("url", ""), "picurl": article.get("image", "")}]}
    return None
