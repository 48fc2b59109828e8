"""``/ws``: live notifications for apps that are online (staff apps and the mini-program).

Protocol (JSON text frames; client messages at most 4 KB):

- authenticate with ``/ws?token=<access token>[&since=<notification id>]`` or, to keep the token
  out of URLs and logs, with a first message ``{"op": "auth", "token": ..., "since": ...}``
  within 10 s. Staff and mini-program tokens are both accepted. Sending ``auth`` again with a
  fresh token (same user) keeps a connection alive past the first token's expiry;
- the server answers ``{"type": "ready", "user_id", "replayed": n}``, having first replayed, as
  ``notification`` messages, what the user's inbox received after ``since`` (or sent
  ``{"type": "resync"}``: too much was missed, reload the inbox);
- then ``{"type": "notification", "notification": {...}}`` for each new inbox entry (the inbox
  API's shape; the client de-duplicates by ``id``), ``{"type": "event", "topic", "event"}`` on
  followed topics, ``{"type": "resync"}`` when live messages may have been lost;
- ``{"op": "subscribe" | "unsubscribe", "topics": [...]}`` follows topics (``department:<code>``
  and ``role:<role>`` of the caller, ``public:<name>``); ``{"op": "ping"}`` → ``{"type": "pong"}``
  for clients that cannot send WebSocket pings (the mini-program); the server pings every 25 s
  and drops connections that stop answering.

Limits (settings; per process):

- a socket follows at most ``YZT_WS_MAX_TOPICS`` topics: a ``subscribe`` that would go past it
  is refused whole with ``{"type": "error", "code": "too_many_topics", "limit": n}`` (the socket
  stays open);
- a client sends at most ``YZT_WS_MESSAGES_PER_SECOND`` messages a second (bursts up to that
  many): beyond, the socket is closed with 4429;
- at most ``YZT_WS_MAX_UNAUTHENTICATED`` sockets per client address may be open without a token
  (opened without ``?token=``, waiting for ``auth``): the next handshake is refused with HTTP 429
  and ``Retry-After``, before the upgrade. The address is the TCP peer (behind a reverse proxy:
  the proxy; let it limit per client too) and is only counted in memory, never logged.

Close codes: 4400 bad message, 4401 not authenticated (or token expired/revoked), 4408 no
``auth`` in time, 4429 too many messages. Only the replay reads the store; live messages come
from ``push.fanout``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson
import redis.asyncio as aioredis
import tornado.ioloop
import tornado.web
import tornado.websocket

from backend.auth.tokens import Principal
from backend.errors import Unauthenticated
from backend.http.base import error_body
from backend.notifications.queries import notifications_since
from push import keys
from push.channels.websocket import live_message, resync_message
from push.fanout import live_hub, topic_allowed

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

log = logging.getLogger(__name__)

AUTH_TIMEOUT = 10.0
TOKEN_CHECK_INTERVAL = 30.0
UNAUTHENTICATED_RETRY_AFTER = int(AUTH_TIMEOUT)  # by then the client's waiting sockets are gone


class MessageBudget:
    """A token bucket: ``rate`` messages a second on average, bursts of up to ``rate``."""

    def __init__(self, rate: int) -> None:
        self._rate = float(rate)
        self._tokens = float(rate)
        self._last = time.monotonic()  # real time, not the app clock: a rate, not a deadline

    def spend(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class LiveSocketHandler(tornado.websocket.WebSocketHandler):
    ctx: "AppContext"

    def initialize(self, ctx: "AppContext", route: str = "") -> None:
        self.ctx = ctx
        self.principal: Principal | None = None
        self._token = ""
        self._channels: set[str] = set()
        self._buffer: list[bytes] | None = None
        self._timers: list[Any] = []
        self._closed = False
        self._budget = MessageBudget(ctx.settings.ws_messages_per_second)
        self._slot: str | None = None  # held while open without a token

    def set_default_headers(self) -> None:
        self.clear_header("Server")  # no version banner, as on every other response

    def prepare(self) -> None:
        """Before the upgrade: a socket opened without a token takes one of its client's slots."""
        if self.get_query_argument("token", None):
            return  # authenticated (or refused) the moment it opens: it never waits
        slot = f"ws-unauthenticated:{self.request.remote_ip}"
        if not self.ctx.slots.take(slot, self.ctx.settings.ws_max_unauthenticated):
            self.set_status(429)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.set_header("Retry-After", str(UNAUTHENTICATED_RETRY_AFTER))
            self.finish(error_body("too_many_unauthenticated_sockets", "未登录的连接过多，请稍后再试"))
            return
        self._slot = slot

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(error_body("bad_request" if status_code < 500 else "internal_error", "请求无法处理"))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Tornado's own lines name the client address and the query string (with the token).
        if isinstance(value, tornado.web.HTTPError):
            log.debug("live socket: refused with %s", value.status_code)
            return
        log.error("live socket: uncaught exception", exc_info=(typ, value, tb))

    def on_finish(self) -> None:
        if self.get_status() != 101:  # no upgrade (refused handshake): on_close will not run
            self._give_back_slot()

    def _give_back_slot(self) -> None:
        if self._slot is not None:
            self.ctx.slots.give_back(self._slot)
            self._slot = None

    # Tornado reads these for its own ping/pong keep-alive.
    @property
    def ping_interval(self) -> float:
        return 25.0

    @property
    def ping_timeout(self) -> float:
        return 20.0

    @property
    def max_message_size(self) -> int:
        return 4096

    def check_origin(self, origin: str) -> bool:
        # Authentication is a bearer token the page must hold, never a cookie, so a foreign
        # page gains nothing by opening this socket: no cross-site risk to refuse.
        return True

    async def open(self, *args: Any, **kwargs: Any) -> None:
        token = self.get_query_argument("token", None)
        if token:
            await self._authenticate(token, self.get_query_argument("since", None))
        else:
            self._timers.append(tornado.ioloop.IOLoop.current().call_later(AUTH_TIMEOUT, self._auth_timeout))

    async def on_message(self, message: str | bytes) -> None:
        if self._closed:
            return
        if not self._budget.spend():
            self._refuse(4429, "rate_limited")
            return
        try:
            data = orjson.loads(message)
            op = data.get("op") if isinstance(data, dict) else None
        except orjson.JSONDecodeError:
            op = None
        if op == "auth" and isinstance(data.get("token"), str):
            since = data.get("since")
            await self._authenticate(data["token"], since if isinstance(since, str) else None)
        elif op is None:
            self._refuse(4400, "bad_message")
        elif self.principal is None:
            self._refuse(4401, "unauthenticated")
        elif op == "ping":
            self._send({"type": "pong"})
        elif op in ("subscribe", "unsubscribe") and isinstance(data.get("topics"), list):
            await self._topics(op, [t for t in data["topics"] if isinstance(t, str)])
        else:
            self._send({"type": "error", "code": "unknown_op"})

    def on_close(self) -> None:
        self._closed = True
        self._give_back_slot()
        for timer in self._timers:
            if isinstance(timer, tornado.ioloop.PeriodicCallback):
                timer.stop()
            else:
                tornado.ioloop.IOLoop.current().remove_timeout(timer)
        hub = live_hub(self.ctx)
        for channel in self._channels:
            hub.detach(channel, self._receive)
        self._channels = set()

    # --- authentication and replay --------------------------------------------------------------

    def _verify(self, token: str) -> Principal:
        try:
            return self.ctx.tokens.verify(token, "staff")
        except Unauthenticated:
            return self.ctx.tokens.verify(token, "mp")

    async def _authenticate(self, token: str, since: str | None) -> None:
        try:
            principal = self._verify(token)
        except Unauthenticated as exc:
            self._refuse(4401, exc.code)
            return
        if self.principal is not None:  # a fresh token for the same user keeps the connection
            if principal.user_id != self.principal.user_id:
                self._refuse(4401, "user_changed")
                return
            self.principal, self._token = principal, token
            self._send({"type": "reauthenticated"})
            return
        self.principal, self._token = principal, token
        self._give_back_slot()
        for timer in self._timers:
            tornado.ioloop.IOLoop.current().remove_timeout(timer)
        checker = tornado.ioloop.PeriodicCallback(self._check_token, TOKEN_CHECK_INTERVAL * 1000)
        checker.start()
        self._timers = [checker]
        try:
            replayed = await self._attach_and_replay(principal.user_id, since)
        except (asyncio.TimeoutError, aioredis.RedisError, OSError) as exc:
            log.warning("live socket: cannot follow %s now: %s", principal.user_id, exc)
            self._refuse(1011, "unavailable")  # the client reconnects later, with ``since``
            return
        if not self._closed:
            self._send({"type": "ready", "user_id": principal.user_id, "replayed": replayed})

    async def _attach_and_replay(self, user_id: str, since: str | None) -> int:
        """Subscribe first, buffer what arrives, then replay from the inbox, then flush the
        buffer without what the replay already sent: nothing is lost between the two."""
        channel = keys.live_user(user_id)
        self._buffer = []
        self._channels.add(channel)
        await live_hub(self.ctx).attach(channel, self._receive)
        sent: set[str] = set()
        if since:
            items, complete = await notifications_since(self.ctx.store, user_id, since)
            for item in items:
                self._write(live_message(item))
                sent.add(item["id"])
            if not complete:
                self._write(resync_message("too_many_missed" if items else "unknown_since"))
        buffered, self._buffer = self._buffer, None
        for data in buffered:
            if not sent or _notification_id(data) not in sent:
                self._write(data)
        return len(sent)

    def _check_token(self) -> None:
        try:
            self._verify(self._token)
        except Unauthenticated as exc:
            self._refuse(4401, exc.code)

    def _auth_timeout(self) -> None:
        if self.principal is None:
            self._refuse(4408, "auth_timeout")

    # --- topics --------------------------------------------------------------------------------

    async def _topics(self, op: str, topics: list[str]) -> None:
        assert self.principal is not None
        allowed = [t for t in dict.fromkeys(topics) if topic_allowed(self.principal, t)]
        refused = [t for t in dict.fromkeys(topics) if t not in allowed]
        if op == "subscribe":
            limit = self.ctx.settings.ws_max_topics
            following = {c for c in self._channels if c.startswith(keys.live_topic(""))}
            if len(following | {keys.live_topic(t) for t in allowed}) > limit:
                self._send({"type": "error", "code": "too_many_topics", "limit": limit})
                return
        hub = live_hub(self.ctx)
        for topic in allowed:
            channel = keys.live_topic(topic)
            if op == "subscribe" and channel not in self._channels:
                self._channels.add(channel)
                await hub.attach(channel, self._receive)
            elif op == "unsubscribe" and channel in self._channels:
                self._channels.discard(channel)
                hub.detach(channel, self._receive)
        self._send({"type": f"{op}d", "topics": allowed, "refused": refused})

    # --- writing -------------------------------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        """The hub's listener: on the hot path, no I/O but the socket write."""
        if self._buffer is not None:
            self._buffer.append(data)
        else:
            self._write(data)

    def _write(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            self.write_message(data)
        except tornado.websocket.WebSocketClosedError:
            self._closed = True

    def _send(self, message: dict[str, Any]) -> None:
        self._write(orjson.dumps(message))

    def _refuse(self, code: int, reason: str) -> None:
        self._send({"type": "error", "code": reason})
        self._closed = True
        self.close(code, reason)


def _notification_id(data: bytes) -> str | None:
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return (message.get("notification") or {}).get("id") if isinstance(message, dict) else None

