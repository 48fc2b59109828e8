"""Live fan-out: one Redis pub/sub connection per process carries messages to the WebSocket
connections held by that process, whichever process published them.

A process subscribes to ``yzt:live:user:<id>`` while at least one connection of that user is
open here, and to ``yzt:live:topic:<topic>`` while someone here follows the topic; Redis then
sends each message only to processes that have a listener for it. The path from Redis to the
sockets touches no store and no other Redis key: a dictionary lookup and a write per socket.

``attach`` returns only once Redis confirmed the subscription, so a caller that then loads a
snapshot (the inbox replay) cannot miss a message published in between (the "record the
position before the snapshot" rule). If the pub/sub connection drops, every local listener is
told to resync, since messages published meanwhile are gone.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any, Callable, Coroutine

import orjson
import redis.asyncio as aioredis

from backend.auth.tokens import Principal
from backend.tasks import raise_if_cancelling
from push import keys
from push.channels.websocket import resync_message

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

log = logging.getLogger(__name__)

Listener = Callable[[bytes], None]
Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[Any]"]

CONFIRM_TIMEOUT = 5.0


class LiveHub:
    def __init__(self, redis: aioredis.Redis, *, spawn: Spawn) -> None:
        self._redis = redis
        self._spawn = spawn
        self._listeners: dict[str, set[Listener]] = {}
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._idle: set[str] = set()  # channels left without listeners, to unsubscribe
        self._pubsub: Any = None
        self._task: asyncio.Task[Any] | None = None
        self._start_lock = asyncio.Lock()
        self._control = f"{keys.LIVE_PREFIX}control:{os.getpid()}:{id(self)}"

    @property
    def listener_count(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())

    async def attach(self, channel: str, listener: Listener) -> None:
        """Deliver every message published on ``channel`` to ``listener`` (called on the loop,
        must not block) until ``detach``."""
        await self._ensure_started()
        self._listeners.setdefault(channel, set()).add(listener)
        future = self._confirmed.get(channel)
        if future is None:
            future = self._confirmed[channel] = asyncio.get_running_loop().create_future()
            await self._pubsub.subscribe(channel)
        await asyncio.wait_for(asyncio.shield(future), timeout=CONFIRM_TIMEOUT)

    def detach(self, channel: str, listener: Listener) -> None:
        """Stop delivering to ``listener``. Synchronous, so a closing socket can call it from
        ``on_close``; the hub's own loop unsubscribes from Redis when a channel has no listener."""
        listeners = self._listeners.get(channel)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            del self._listeners[channel]
            self._confirmed.pop(channel, None)
            self._idle.add(channel)

    async def _unsubscribe_idle(self) -> None:
        idle = [channel for channel in self._idle if channel not in self._listeners]
        self._idle.clear()
        if idle:
            await self._pubsub.unsubscribe(*idle)

    async def _ensure_started(self) -> None:
        if self._task is not None:
            return
        async with self._start_lock:
            if self._task is None:
                self._pubsub = await self._connect()
                self._task = self._spawn(self._run(), "live-hub")

    async def _connect(self) -> Any:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._control, *self._listeners)
        return pubsub

    async def _run(self) -> None:
        backoff = 0.2
        try:
            while True:
                try:
                    if self._idle:
                        await self._unsubscribe_idle()
                    message = await self._pubsub.get_message(timeout=0.5)
                    if message is not None:
                        self._dispatch(message)
                    backoff = 0.2
                except (aioredis.RedisError, OSError) as exc:
                    raise_if_cancelling()
                    log.warning("live hub: pub/sub connection lost (%s); reconnecting", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    await self._reconnect()
        except asyncio.CancelledError:
            await self._close()
            raise

    async def _reconnect(self) -> None:
        await self._close()
        try:
            self._pubsub = await self._connect()
        except (aioredis.RedisError, OSError):
            self._pubsub = self._redis.pubsub()  # retried on the next turn
            return
        for future in self._confirmed.values():
            if not future.done():
                future.set_result(None)
        lost = resync_message("live_reconnected")
        for channel in list(self._listeners):
            self._deliver(channel, lost)

    async def _close(self) -> None:
        if self._pubsub is not None:
            try:
                await self._pubsub.aclose()
            except (aioredis.RedisError, OSError):
                pass

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        if kind == "message":
            self._deliver(name, message["data"])
        elif kind == "subscribe":
            future = self._confirmed.get(name)
            if future is not None and not future.done():
                future.set_result(None)

    def _deliver(self, channel: str, data: bytes) -> None:
        for listener in list(self._listeners.get(channel, ())):
            try:
                listener(data)
            except Exception:  # noqa: BLE001 - one broken connection must not stop the others
                log.exception("live hub: a listener on %s failed", channel)


def live_hub(ctx: "AppContext") -> LiveHub:
    """The process's hub, created on first use.

    Kept on the context (one per process). ``AppContext`` does not declare the attribute yet;
    the lead adds ``live_hub: Any = None`` to it, until then it is set here."""
    hub = getattr(ctx, "live_hub", None)
    if hub is None:
        hub = LiveHub(ctx.redis, spawn=lambda coro, name: ctx.spawn(coro, name=name))
        ctx.live_hub = hub  # type: ignore[attr-defined]  # see the docstring
    return hub


def topic_allowed(principal: Principal, topic: str) -> bool:
    """Who may follow a live topic: anyone its ``public:`` topics; staff their own department's
    and their roles' topics. Everything else is refused (a topic shows what changed, and that
    alone can be sensitive)."""
    kind, _, name = topic.partition(":")
    if not name or len(topic) > 100:
        return False
    if kind == "public":
        return True
    if principal.audience != "staff":
        return False
    if kind == "department":
        return principal.department == name
    if kind == "role":
        return name in principal.roles
    return False


async def publish_topic(redis: aioredis.Redis, topic: str, message: dict[str, Any]) -> int:
    """Send ``message`` to every follower of ``topic`` in every process; returns how many
    processes had one."""
    return int(await redis.publish(keys.live_topic(topic), orjson.dumps({"type": "topic", "topic": topic,
                                                                           "message": message})))
