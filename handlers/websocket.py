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

Close codes: 4400 bad message, 4401 not authenticated (or token expired/revoked), 4408 no
``auth`` in time. Only the replay reads the store; live messages come from ``push.fanout``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import orjson
import redis.asyncio as aioredis
import tornado.ioloop
import tornado.web
import tornado.websocket

from backend.auth.tokens import Principal
from backend.errors import Unauthenticated
from backend.notifications.queries import notifications_since
from push import keys
from push.channels.websocket import live_message, resync_message
from push.fanout import live_hub, topic_allowed

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

log = logging.getLogger(__name__)

AUTH_TIMEOUT = 10.0
TOKEN_CHECK_INTERVAL = 30.0
MAX_TOPICS = 20


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

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Tornado's own lines name the client address and the query string (with the token).
        if isinstance(value, tornado.web.HTTPError):
            log.debug("live socket: refused with %s", value.status_code)
            return
        log.error("live socket: uncaught exception", exc_info=(typ, value, tb))

    async def open(self, *args: Any, **kwargs: Any) -> None:
        token = self.get_query_argument("token", None)
        if token:
            await self._authenticate(token, self.get_query_argument("since", None))
        else:
            self._timers.append(tornado.ioloop.IOLoop.current().call_later(AUTH_TIMEOUT, self._auth_timeout))

    async def on_message(self, message: str | bytes) -> None:
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
            await self._topics(op, [t for t in data["topics"][:MAX_TOPICS] if isinstance(t, str)])
        else:
            self._send({"type": "error", "code": "unknown_op"})

    def on_close(self) -> None:
        self._closed = True
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

