"""Shared fixtures: a real embedded redis-server per test session, a fresh app per test (its own
data directory, SQLite file and flushed Redis), the fake WeChat server on loopback, and an HTTP
client with named personas. Nothing external is reached: every peer listens on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis
import tornado.netutil

from backend.app import http_server, make_app
from backend.bootstrap import AppContext, bootstrap
from backend.config import Settings, load_settings
from backend.events import EVENT_STREAM
from backend.modules import declared_events
from backend.rediskit.embedded import EmbeddedRedis
from backend.todos.projection import project_entries
from backend.wechat.fake_server import FakeWeChat, run_fake_wechat

pytest_plugins = ["tests.hangs"]

OA_TOKEN = "yzt_test_token"
OA_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
MP_APPID = "wx_mp_test_appid"
OA_APPID = "wx_oa_test_appid"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One real redis-server for the whole run (started through the same code the app uses)."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    asyncio.run(server.start())
    yield server
    asyncio.run(server.stop())


@pytest.fixture
async def redis_client(redis_server: EmbeddedRedis) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
async def fake_wechat() -> AsyncIterator[FakeWeChat]:
    async with run_fake_wechat() as fake:
        yield fake


def make_settings(data_dir: Path, redis_url: str, wechat_url: str, **overrides: Any) -> Settings:
    env = {
        "YZT_DATA_DIR": str(data_dir), "YZT_REDIS_URL": redis_url, "YZT_LOG_LEVEL": "warning",
        "YZT_WECHAT_API_BASE": wechat_url, "YZT_WECOM_API_BASE": wechat_url,
        "YZT_OA_APPID": OA_APPID, "YZT_OA_SECRET": "oa_secret", "YZT_OA_TOKEN": OA_TOKEN,
        "YZT_OA_AES_KEY": OA_AES_KEY, "YZT_MP_APPID": MP_APPID, "YZT_MP_SECRET": "mp_secret",
        "YZT_WECOM_CORPID": "ww_test_corp", "YZT_WECOM_SECRET": "wecom_secret", "YZT_WECOM_AGENTID": "1000002",
    }
    return load_settings(env, **overrides)


@dataclass
class Response:
    status: int
    body: Any
    headers: Any

    @property
    def error_code(self) -> str | None:
        return self.body["error"]["code"] if isinstance(self.body, dict) and "error" in self.body else None


@dataclass
class ApiClient:
    """HTTP against the real server on loopback. ``as_(token)`` gives a client acting as someone."""

    base: str
    session: aiohttp.ClientSession
    token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_(self, token: str | None) -> "ApiClient":
        return ApiClient(self.base, self.session, token)

    async def request(self, method: str, path: str, json: Any = None, *, raw: bytes | None = None,
                      headers: dict[str, str] | None = None, params: dict[str, Any] | None = None) -> Response:
        sent = dict(headers or {})
        if self.token:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        data = raw if raw is not None else (orjson.dumps(json) if json is not None else None)
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        async with self.session.request(method, self.base + path, data=data, headers=sent, params=params) as resp:
            content = await resp.read()
            try:
                body = orjson.loads(content) if content else None
            except orjson.JSONDecodeError:
                body = content
            return Response(resp.status, body, resp.headers)

    async def get(self, path: str, **kw: Any) -> Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> Response:
        return await self.request("POST", path, json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> Response:
        return await self.request("PATCH", path, json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> Response:
        return await self.request("PUT", path, json, **kw)

    async def delete(self, path: str, **kw: Any) -> Response:
        return await self.request("DELETE", path, **kw)


@dataclass
class Harness:
    """A running app: its context, its client, the fake WeChat server, and personas."""

    ctx: AppContext
    client: ApiClient
    wechat: FakeWeChat
    _tokens: dict[str, str] = field(default_factory=dict)

    async def staff(self, username: str) -> ApiClient:
        """A logged-in staff client for a demo account (``yzt init-demo``'s accounts)."""
        if username not in self._tokens:
            resp = await self.client.post("/api/v1/auth/login",
                                          {"username": username, "password": f"{username}@Demo2026"})
            assert resp.status == 200, resp.body
            self._tokens[username] = resp.body["access_token"]
        return self.client.as_(self._tokens[username])

    async def settle(self) -> list[dict[str, Any]]:
        """Relay every pending event and project the to-dos they carry, as the background relay
        and projection would (projecting twice is harmless: it is version-gated). Returns the
        events on the stream, each once (delivery is at least once: compare by id)."""
        await self.ctx.relay.relay_once()
        entries = await self.ctx.redis.xrange(EVENT_STREAM)
        await project_entries(self.ctx, entries)
        unique: dict[str, dict[str, Any]] = {}
        for _entry_id, fields in entries:
            event = orjson.loads(fields[b"event"])
            unique.setdefault(event["id"], event)
        return list(unique.values())

    async def citizen(self, name: str) -> ApiClient:
        """A logged-in citizen: a wx.login code registered at the fake server, then /mp/v1/auth/login."""
        key = f"citizen:{name}"
        if key not in self._tokens:
            code = self.wechat.register_login(openid=f"openid-{name}", unionid=f"unionid-{name}")
            resp = await self.client.post("/mp/v1/auth/login", {"code": code})
            assert resp.status == 200, resp.body
            self._tokens[key] = resp.body["access_token"]
        return self.client.as_(self._tokens[key])


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis) -> Path:
    """The demo city, made once per run (argon2 hashing is deliberately slow) and copied per test."""
    from backend.demo import create_demo_city

    template = tmp_path_factory.mktemp("demo") / "data"
    settings = make_settings(template, redis_server.url, "http://127.0.0.1:9")

    async def build() -> None:
        async with bootstrap(settings, background=False) as ctx:
            await create_demo_city(ctx, with_cases=False)

    asyncio.run(build())
    return template


@asynccontextmanager
async def running_app(settings: Settings, wechat: FakeWeChat) -> AsyncIterator[Harness]:
    """The app of ``settings`` served on loopback until the block ends (the ``harness`` fixture's
    engine, for a test that needs its own settings or a restart)."""
    async with AsyncExitStack() as stack:
        ctx = await stack.enter_async_context(bootstrap(settings))
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        port = sockets[0].getsockname()[1]
        server = http_server(make_app(ctx), settings)
        server.add_sockets(sockets)
        stack.callback(server.stop)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        yield Harness(ctx=ctx, client=ApiClient(f"http://127.0.0.1:{port}", session), wechat=wechat)
        await ctx.relay.relay_once()
        emitted = {orjson.loads(fields[b"event"])["type"] for _id, fields in await ctx.redis.xrange(EVENT_STREAM)}
        assert emitted <= declared_events(), f"events no module declares: {sorted(emitted - declared_events())}"


def demo_settings(tmp_path: Path, demo_data_dir: Path, redis_server: EmbeddedRedis, fake_wechat: FakeWeChat,
                  **overrides: Any) -> Settings:
    """Settings over a fresh copy of the demo city (``overrides`` as for ``make_settings``)."""
    data_dir = tmp_path / "data"
    shutil.copytree(demo_data_dir, data_dir)
    return fake_wechat.apply(make_settings(data_dir, redis_server.url, fake_wechat.url, **overrides))


@pytest.fixture
async def harness(tmp_path: Path, redis_server: EmbeddedRedis, redis_client: aioredis.Redis,
                  fake_wechat: FakeWeChat, demo_data_dir: Path) -> AsyncIterator[Harness]:
    async with running_app(demo_settings(tmp_path, demo_data_dir, redis_server, fake_wechat), fake_wechat) as app:
        yield app


@pytest.fixture
async def center(harness: Harness) -> ApiClient:
    """The mailbox centre's clerk."""
    return await harness.staff("center")
