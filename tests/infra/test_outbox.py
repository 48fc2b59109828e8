"""Domain events through the outbox (backend/events.py, backend/outbox.py), against a real
redis-server of the test's own that it stops and starts (never the session's).

Proves: an event is written with its state change and reaches the stream ``yzt:events``; with
Redis stopped, writes still succeed, the events wait in their documents and the relay reports
itself unhealthy; when the same server (same data directory) is back, every waiting event is
published (at least once, each id present) and the outboxes drain; meanwhile the service keeps
serving, with ``/healthz`` saying what is down.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis
import tornado.netutil

from backend.app import http_server, make_app
from backend.bootstrap import AppContext, bootstrap
from backend.events import EVENT_STREAM, OUTBOX_FIELD, PENDING_FIELD, doc_with_events, new_event, with_event
from backend.mailbox.queries import LETTERS
from backend.rediskit.embedded import EmbeddedRedis
from backend.wechat.fake_server import FakeWeChat
from tests.conftest import ApiClient, Harness, make_settings

pytestmark = pytest.mark.timeout(60)

PROBES = "infra_outbox_probes"
LETTER = {
    "type": "complain", "title": "夜间施工噪音扰民", "content": "工地每天夜间施工到凌晨两点，噪音严重影响休息，请尽快处理。",
    "addressee": {"kind": "mayor"}, "public": False, "contact_phone": "13812345678", "writer_name": "张三",
}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    """Await ``check()`` until true (bounded); returns the seconds it took."""
    began = time.monotonic()
    while not await check():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - began


async def stream_events(url: str) -> list[dict[str, Any]]:
    """Every event in ``yzt:events``, read through a client of its own (not the app's)."""
    client = aioredis.from_url(url)
    try:
        entries: Any = await client.xrange(EVENT_STREAM)
        return [orjson.loads(fields[b"event"]) for _id, fields in entries]
    finally:
        await client.aclose()


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    """A redis-server for this test alone: the test stops and restarts it."""
    server = EmbeddedRedis(tmp_path / "own-redis")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def quiet_ctx(tmp_path: Path, own_redis: EmbeddedRedis) -> AsyncIterator[AppContext]:
    """An app context without background tasks: the test drives the relay itself."""
    settings = make_settings(tmp_path / "data", own_redis.url, "http://127.0.0.1:9")
    async with bootstrap(settings, redis_url=own_redis.url, background=False) as ctx:
        ctx.relay.register(PROBES)
        yield ctx


@pytest.fixture
async def app(tmp_path: Path, own_redis: EmbeddedRedis, fake_wechat: FakeWeChat,
              demo_data_dir: Path) -> AsyncIterator[Harness]:
    """The running app (background relay on) over HTTP, like ``harness`` but on ``own_redis``."""
    data_dir = tmp_path / "data"
    shutil.copytree(demo_data_dir, data_dir)
    settings = fake_wechat.apply(make_settings(data_dir, own_redis.url, fake_wechat.url))
    async with AsyncExitStack() as stack:
        ctx = await stack.enter_async_context(bootstrap(settings, redis_url=own_redis.url, background=True))
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = http_server(make_app(ctx), settings)
        server.add_sockets(sockets)
        stack.callback(server.stop)
        session = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)))
        yield Harness(ctx=ctx, client=ApiClient(f"http://127.0.0.1:{sockets[0].getsockname()[1]}", session),
                      wechat=fake_wechat)


def availability(health: dict[str, Any]) -> dict[str, Any]:
    """``/healthz`` without its calendar part (which depends on today's date), as compared here."""
    return {"status": health["status"],
            "parts": {part: health["parts"][part] for part in ("store", "redis", "outbox")}}


def probe_event(subject_id: str, n: int) -> dict[str, Any]:
    return new_event("probe.changed", collection=PROBES, subject_id=subject_id, actor=None, data={"n": n})


async def test_relay_moves_events_and_keeps_them_while_redis_is_down(quiet_ctx: AppContext,
                                                                      own_redis: EmbeddedRedis) -> None:
    ctx, probes = quiet_ctx, quiet_ctx.store.collection(PROBES)

    # (a) an insert and its events are one write; the relay moves them to the stream
    e1, e2 = probe_event("p1", 1), probe_event("p1", 2)
    await probes.insert_one(doc_with_events({"_id": "p1", "state": "new", "version": 1}, e1, e2))
    assert await ctx.relay.relay_once() == 2
    assert [e["id"] for e in await stream_events(own_redis.url)] == [e1.id, e2.id]
    stored = await probes.find_one({"_id": "p1"})
    assert stored is not None and not stored.get(OUTBOX_FIELD) and PENDING_FIELD not in stored
    assert await ctx.relay.relay_once() == 0  # nothing twice

    # (b) Redis stopped: writes (insert, and an update with its event) still succeed; the events wait
    await own_redis.stop()
    e3, e4 = probe_event("p2", 3), probe_event("p1", 4)
    await probes.insert_one(doc_with_events({"_id": "p2", "state": "new", "version": 1}, e3))
    assert await probes.update_one({"_id": "p1", "version": 1},
                                   with_event({"$set": {"state": "done", "version": 2}}, e4))
    with pytest.raises((OSError, aioredis.RedisError)):
        await ctx.relay.relay_once()
    for doc_id, event, state in (("p2", e3, "new"), ("p1", e4, "done")):
        stored = await probes.find_one({"_id": doc_id})
        assert stored is not None and stored["state"] == state  # the change and its event, together
        assert [e["id"] for e in stored[OUTBOX_FIELD]] == [event.id] and stored[PENDING_FIELD] is True

    # (c) the same server back (same data directory): the waiting events flow, the old ones are kept
    await own_redis.start()
    assert await ctx.relay.relay_once() == 2
    ids = [e["id"] for e in await stream_events(own_redis.url)]
    assert ids[:2] == [e1.id, e2.id] and sorted(ids[2:]) == sorted([e3.id, e4.id])
    for doc_id in ("p1", "p2"):
        stored = await probes.find_one({"_id": doc_id})
        assert stored is not None and not stored.get(OUTBOX_FIELD) and PENDING_FIELD not in stored
    assert await ctx.relay.relay_once() == 0


async def test_an_event_added_during_a_relay_pass_is_not_lost(quiet_ctx: AppContext,
                                                              own_redis: EmbeddedRedis) -> None:
    """Several writers append while the relay runs: every event reaches the stream."""
    ctx, probes = quiet_ctx, quiet_ctx.store.collection(PROBES)
    sent = [probe_event("p", 0)]
    await probes.insert_one(doc_with_events({"_id": "p", "n": 0}, sent[0]))

    async def writer() -> None:
        for n in range(1, 31):
            event = probe_event("p", n)
            sent.append(event)
            await probes.update_one({"_id": "p"}, with_event({"$set": {"n": n}}, event))
            await asyncio.sleep(0)

    async def relay() -> None:
        for _ in range(30):
            await ctx.relay.relay_once()
            await asyncio.sleep(0)

    await asyncio.gather(writer(), relay())
    await ctx.relay.relay_once()
    published = [e["id"] for e in await stream_events(own_redis.url)]
    assert set(published) == {e.id for e in sent}
    stored = await probes.find_one({"_id": "p"})
    assert stored is not None and not stored.get(OUTBOX_FIELD) and PENDING_FIELD not in stored


@pytest.mark.slow
async def test_service_keeps_serving_while_redis_is_down_and_events_flow_when_back(
        app: Harness, own_redis: EmbeddedRedis) -> None:
    ctx, letters = app.ctx, app.ctx.store.collection(LETTERS)
    citizen = await app.citizen("wang")
    center = await app.staff("center")

    async def submit() -> str:
        resp = await citizen.post("/mp/v1/letters", LETTER)
        assert resp.status == 201, resp.body
        return resp.body["id"]

    async def published(*letter_ids: str) -> bool:
        subjects = {e["subject"]["id"] for e in await stream_events(own_redis.url) if e["type"] == "letter.submitted"}
        return set(letter_ids) <= subjects

    # (a) the background relay, woken by the use case, publishes the letter's event
    first = await submit()
    took = await eventually(lambda: published(first), 3, "the first letter's event in the stream")
    print(f"\nevent in the stream {took * 1000:.0f} ms after the write")
    assert availability((await app.client.get("/healthz")).body) == {
        "status": "ok", "parts": {"store": "ok", "redis": "ok", "outbox": "ok"}}

    # (b) Redis stopped: the service still serves, writes succeed, the events wait in the documents
    await own_redis.stop()
    waiting = [await submit(), await submit()]
    async def relay_unhealthy() -> bool:
        return not ctx.relay.healthy

    await eventually(relay_unhealthy, 5, "the relay noticing Redis is down")
    outboxes = {}
    for letter_id in waiting:
        doc = await letters.find_one({"_id": letter_id})
        assert doc is not None and doc["state"] == "submitted" and doc[PENDING_FIELD] is True
        assert [e["type"] for e in doc[OUTBOX_FIELD]] == ["letter.submitted"]
        outboxes[letter_id] = doc[OUTBOX_FIELD][0]["id"]
    health = await app.client.get("/healthz")
    assert health.status == 200
    assert availability(health.body) == {"status": "degraded",
                                         "parts": {"store": "ok", "redis": "down", "outbox": "waiting"}}
    me = await center.get("/api/v1/me")  # token checks need no Redis
    assert me.status == 200 and me.body["username"] == "center", me.body
    assert (await app.client.post("/api/v1/auth/login",  # nor does a staff login
                                  {"username": "env", "password": "env@Demo2026"})).status == 200

    # (c) the same server back: a write wakes the relay, and every waiting event flows with it
    await own_redis.start()
    began = time.monotonic()
    after = await submit()
    await eventually(lambda: published(*waiting, after), 5, "the waiting events in the stream")
    print(f"waiting events in the stream {(time.monotonic() - began) * 1000:.0f} ms after Redis came back")
    events = await stream_events(own_redis.url)
    ids = [e["id"] for e in events]
    assert set(outboxes.values()) <= set(ids)  # each waiting event, by its id (at least once)
    assert [e["subject"]["id"] for e in events].count(first) == 1  # kept across the restart (AOF)
    for letter_id in [*waiting, after]:
        doc = await letters.find_one({"_id": letter_id})
        assert doc is not None and not doc.get(OUTBOX_FIELD) and PENDING_FIELD not in doc
    async def relay_healthy() -> bool:
        return ctx.relay.healthy

    await eventually(relay_healthy, 5, "the relay healthy again")
    health = await app.client.get("/healthz")
    assert availability(health.body) == {"status": "ok", "parts": {"store": "ok", "redis": "ok", "outbox": "ok"}}, \
        health.body
