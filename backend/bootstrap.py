"""Builds every adapter once, in order, and closes them in reverse (one AsyncExitStack).

``yzt serve``, ``yzt worker`` and the tests all go through ``bootstrap``; tests pass overrides
(e.g. the fake WeChat server's URL) through the settings, never by patching.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Coroutine

import aiohttp
import redis.asyncio as aioredis

from backend.auth.revocation import RevocationList
from backend.auth.throttle import LoginThrottle, Schedule
from backend.auth.tokens import TokenService
from backend.clock import Clock
from backend.config import Settings
from backend.context import Context
from backend.datadir import tighten
from backend.files.factory import open_file_store
from backend.http.idempotency import IdempotencyStore
from backend.http.metrics import HttpMetrics
from backend.http.slots import Slots
from backend.identity.directory import DepartmentNames
from backend.outbox import OutboxRelay
from backend.personal_data import PersonalData
from backend.rediskit.embedded import EmbeddedRedis
from backend.rediskit.supervisor import RedisSupervisor
from backend.search.factory import open_search
from backend.search.segment import warm_up as warm_up_search
from backend.store.factory import open_store
from backend.wechat.behaviours import DefaultBehaviours
from backend.wechat.callback import OfficialAccountCallback
from backend.wechat.client import WeChatClient
from backend.wechat.tokens import TokenProvider

log = logging.getLogger(__name__)

STUCK_TASK_REPORT_SECONDS = 5.0


@dataclass
class AppContext(Context):
    """The narrow ``Context`` plus what only the HTTP layer, push and the workers need. One per
    process; use cases are typed against ``Context`` and never import this."""

    redis: aioredis.Redis
    idempotency: IdempotencyStore
    metrics: HttpMetrics
    relay: OutboxRelay
    http_session: aiohttp.ClientSession
    wechat_tokens: TokenProvider
    oa_callback: OfficialAccountCallback
    oa_behaviours: DefaultBehaviours
    login_throttle: LoginThrottle
    live_hub: Any = None  # push's WebSocket fan-out hub, set by push.fanout when push runs here
    slots: Slots = field(default_factory=Slots)  # concurrent uploads, unauthenticated sockets
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """A tracked background task: kept referenced, cancelled and awaited at shutdown."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_tasks(self) -> None:
        # Cancel until done: a client library that turns a cancellation into its own error
        # (redis-py can, in a blocking read) would otherwise leave the task running.
        pending = set(self._tasks)
        reported = False
        started = time.monotonic()
        while pending:
            for task in pending:
                task.cancel()
            _done, pending = await asyncio.wait(pending, timeout=0.5)
            if pending and not reported and time.monotonic() - started > STUCK_TASK_REPORT_SECONDS:
                reported = True  # say once where shutdown waits, so that a hang names its cause
                for task in pending:
                    log.error("shutdown: task %s still running after cancel, at %s", task.get_name(),
                              " → ".join(_awaiting(task.get_coro())))


async def start_embedded_redis(settings: Settings, stack: AsyncExitStack) -> str:
    """The Redis URL to use: the configured one, or the data directory's embedded server, owned
    by ``stack``: the running one if another process (``yzt serve``) has it, else our own, which
    is then stopped with the stack. Either way it is supervised while the stack is open: if it
    exits it is started again (``backend/rediskit/supervisor.py``)."""
    if settings.redis_url:
        return settings.redis_url
    server = EmbeddedRedis(settings.data_dir)
    stack.push_async_callback(server.close)  # stops it only if this process started it
    await server.open()
    watcher = asyncio.get_running_loop().create_task(RedisSupervisor(server).watch(), name="redis-supervisor")
    stack.push_async_callback(_cancel, watcher)
    return server.url


def login_throttle(settings: Settings, redis: aioredis.Redis, personal_data: PersonalData,
                   clock: Clock) -> LoginThrottle:
    def schedule(free: int) -> Schedule:
        return Schedule(free=free, delay=settings.login_delay_seconds, max_delay=settings.login_max_delay_seconds,
                        forget=settings.login_forget_seconds)
    return LoginThrottle(redis=redis, pair=schedule(settings.login_free_attempts),
                         client=schedule(settings.login_client_free_attempts),
                         digest=lambda text: personal_data.lookup_hash(text, kind="login"), clock=clock)


def _awaiting(coro: Any) -> list[str]:
    """Where a suspended coroutine waits: each frame of its await chain, outermost first."""
    places = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            places.append(f"{frame.f_code.co_name} ({frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno})")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return places


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


@asynccontextmanager
async def bootstrap(settings: Settings, *, redis_url: str | None = None,
                    background: bool = True) -> AsyncIterator[AppContext]:
    """Open every part; ``redis_url`` set by a parent process that already runs Redis."""
    from backend.modules import register_modules, start_background  # noqa: PLC0415 - modules import the context type

    async with AsyncExitStack() as stack:
        await asyncio.get_running_loop().run_in_executor(None, tighten, settings.data_dir)
        url = redis_url or await start_embedded_redis(settings, stack)
        store = open_store(settings)
        await store.open()
        stack.push_async_callback(store.close)
        redis = aioredis.from_url(url, health_check_interval=30, socket_connect_timeout=2, socket_timeout=5)
        stack.push_async_callback(redis.aclose)
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10, connect=3))
        stack.push_async_callback(session.close)
        wechat_tokens = TokenProvider(redis=redis, session=session, settings=settings)
        revocations = RevocationList(redis)
        tokens = TokenService(secret=settings.jwt_secret, store=store, revocations=revocations,
                              access_ttl=settings.access_token_ttl, refresh_ttl=settings.refresh_token_ttl)
        personal_data = PersonalData(settings.data_key, settings.previous_data_key)
        wechat = WeChatClient(session=session, settings=settings, tokens=wechat_tokens)
        behaviours = DefaultBehaviours(store=store)
        clock = Clock()
        oa_callback = OfficialAccountCallback(settings=settings, redis=redis, client=wechat, responder=behaviours,
                                              clock=clock)
        stack.push_async_callback(oa_callback.aclose)
        ctx = AppContext(
            settings=settings, store=store, clock=clock, redis=redis, tokens=tokens,
            idempotency=IdempotencyStore(store.collection("idempotency_keys")),
            metrics=HttpMetrics(), relay=OutboxRelay(store=store, redis=redis, collections=[]),
            files=open_file_store(settings, store), search=open_search(store),
            http_session=session, wechat_tokens=wechat_tokens, wechat=wechat, oa_callback=oa_callback,
            oa_behaviours=behaviours,
            department_names=DepartmentNames(store), personal_data=personal_data,
            login_throttle=login_throttle(settings, redis, personal_data, clock),
        )
        stack.push_async_callback(ctx.cancel_tasks)
        await tokens.create_indexes()
        await register_modules(ctx)
        await ctx.relay.create_indexes()
        ctx.spawn(revocations.follow(), name="revocations")
        # jieba's dictionary takes about a second to load: load it while already serving
        # (a search meanwhile waits for it), so that start-up stays short.
        ctx.spawn(warm_up_search(), name="search-warm-up")
        if background:
            ctx.spawn(ctx.relay.run(), name="outbox-relay")
            start_background(ctx)
        yield ctx
