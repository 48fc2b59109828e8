"""Access tokens: one fetch however many callers and processes need one."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis

from backend.config import Settings
from backend.wechat.errors import InvalidArgument, WeChatUnavailable
from backend.wechat.fake_server import FakeWeChat
from backend.wechat.tokens import App, TokenProvider

STABLE = "/cgi-bin/stable_token"


def provider(redis: aioredis.Redis, http: aiohttp.ClientSession, settings: Settings, **kw: object) -> TokenProvider:
    return TokenProvider(redis=redis, session=http, settings=settings, timeout=1.0, **kw)  # type: ignore[arg-type]


async def test_fifty_concurrent_callers_cause_one_fetch(tokens: TokenProvider, fake: FakeWeChat,
                                                        settings: Settings) -> None:
    results = await asyncio.gather(*(tokens.get(App.OA) for _ in range(50)))
    assert len(set(results)) == 1
    assert len(fake.calls_to(STABLE)) == 1
    assert fake.calls_to(STABLE)[0].body["appid"] == settings.oa_appid


async def test_two_processes_sharing_redis_cause_one_fetch(redis: aioredis.Redis, redis_url: str,
                                                           http: aiohttp.ClientSession, settings: Settings,
                                                           fake: FakeWeChat) -> None:
    other_redis = aioredis.from_url(redis_url)  # a second process has its own connections
    async with aiohttp.ClientSession() as other_http:
        first, second = provider(redis, http, settings), provider(other_redis, other_http, settings)
        results = await asyncio.gather(*(p.get(App.MP) for _ in range(50) for p in (first, second)))
    await other_redis.aclose()
    assert len(set(results)) == 1
    assert len(fake.calls_to(STABLE)) == 1


async def test_token_is_kept_in_redis_with_its_expiry(tokens: TokenProvider, redis: aioredis.Redis) -> None:
    token = await tokens.get(App.OA)
    ttl = await redis.pttl("yzt:wechat:token:oa")
    assert 7_000_000 < ttl <= 7_200_000
    stored = await redis.get("yzt:wechat:token:oa")
    assert stored is not None and orjson.loads(stored)["token"] == token


async def test_refreshes_ahead_of_expiry(redis: aioredis.Redis, http: aiohttp.ClientSession,
                                         settings: Settings, fake: FakeWeChat) -> None:
    first = await provider(redis, http, settings).get(App.OA)
    # Two hours later by the clock of a second process: less than 5 minutes left.
    later = provider(redis, http, settings, clock=lambda: time.time() + 6950)
    fake.clock = lambda: time.time() + 6950  # WeChat agrees, and hands out the next token
    second = await later.get(App.OA)
    assert second != first
    assert len(fake.calls_to(STABLE)) == 2


async def test_while_another_process_refreshes_the_current_token_is_used(
        redis: aioredis.Redis, http: aiohttp.ClientSession, settings: Settings, fake: FakeWeChat) -> None:
    token = await provider(redis, http, settings).get(App.OA)
    await redis.set("yzt:wechat:token:oa:lock", "someone-else", px=5000)
    nearly_expired = provider(redis, http, settings, clock=lambda: time.time() + 7000)
    assert await nearly_expired.get(App.OA) == token
    assert len(fake.calls_to(STABLE)) == 1


async def test_without_a_token_callers_wait_for_the_lock_holder(tokens: TokenProvider, redis: aioredis.Redis,
                                                                fake: FakeWeChat) -> None:
    await redis.set("yzt:wechat:token:wecom:lock", "someone-else", px=5000)
    waiting = asyncio.create_task(tokens.get(App.WECOM))
    await asyncio.sleep(0.2)
    assert not waiting.done() and not fake.calls_to("/cgi-bin/gettoken")
    await redis.delete("yzt:wechat:token:wecom:lock")  # the other process gave up without a token
    assert (await waiting).startswith("wecom-")
    assert len(fake.calls_to("/cgi-bin/gettoken")) == 1


async def test_concurrent_refreshes_of_one_stale_token_cause_one_fetch(
        redis: aioredis.Redis, redis_url: str, http: aiohttp.ClientSession, settings: Settings,
        fake: FakeWeChat) -> None:
    first = provider(redis, http, settings)
    stale = await first.get(App.OA)
    fake.revoke_token(stale)
    other_redis = aioredis.from_url(redis_url)
    second = provider(other_redis, http, settings)
    fresh = await asyncio.gather(*(p.refresh(App.OA, stale) for _ in range(20) for p in (first, second)))
    await other_redis.aclose()
    assert len(set(fresh)) == 1 and stale not in fresh
    assert len(fake.calls_to(STABLE)) == 2
    assert await first.get(App.OA) == fresh[0]


async def test_a_failed_fetch_reaches_every_waiter_and_frees_the_lock(tokens: TokenProvider, fake: FakeWeChat,
                                                                      redis: aioredis.Redis) -> None:
    fake.fail_next(STABLE, -1)
    results = await asyncio.gather(*(tokens.get(App.MP) for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, WeChatUnavailable) for r in results)
    assert await redis.get("yzt:wechat:token:mp:lock") is None
    assert await tokens.get(App.MP)
    assert len(fake.calls_to(STABLE)) == 2


async def test_missing_credentials_fail_without_a_call(redis: aioredis.Redis, http: aiohttp.ClientSession,
                                                       settings: Settings, fake: FakeWeChat) -> None:
    unconfigured = provider(redis, http, settings.replace(wecom_secret=""))
    with pytest.raises(InvalidArgument, match="YZT_WECOM_SECRET"):
        await unconfigured.get(App.WECOM)
    assert fake.calls == []
