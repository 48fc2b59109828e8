"""Redis stops mid-run and comes back.

While it is down, staff reads, logins and letter submission keep working, ``/healthz`` says
degraded, and the domain events wait in the store's outbox; when it is back, every event
reaches ``yzt:events`` (at least once, none lost) and so does a revocation made meanwhile.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson
import pytest
import redis.asyncio as aioredis
import tornado.netutil

from backend.app import http_server, make_app
from backend.auth.revocation import STREAM as REVOCATIONS
from backend.bootstrap import bootstrap
from backend.events import EVENT_STREAM, PENDING_FIELD
from backend.mailbox.queries import LETTERS
from backend.rediskit.embedded import EmbeddedRedis
from backend.wechat.fake_server import FakeWeChat
from tests.conftest import ApiClient, make_settings
from tests.faults.conftest import citizen_token, eventually, letter, new_key, staff_token

pytestmark = pytest.mark.slow


async def stream_events(url: str) -> list[dict[str, Any]]:
    client = aioredis.from_url(url)
    try:
        return [orjson.loads(fields[b"event"]) for _id, fields in await client.xrange(EVENT_STREAM)]
    finally:
        await client.aclose()


async def test_service_rides_out_a_redis_outage_and_loses_no_event(
        tmp_path: Path, fake_wechat: FakeWeChat, demo_data_dir: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_data_dir, data_dir)
    redis = EmbeddedRedis(tmp_path / "own-redis")  # this test's own server, to stop and start
    await redis.start()
    settings = fake_wechat.apply(make_settings(data_dir, redis.url, fake_wechat.url))
    async with AsyncExitStack() as stack:
        stack.push_async_callback(redis.stop)
        ctx = await stack.enter_async_context(bootstrap(settings))
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = http_server(make_app(ctx), settings)
        server.add_sockets(sockets)
        stack.callback(server.stop)
        session = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)))
        api = ApiClient(f"http://127.0.0.1:{sockets[0].getsockname()[1]}", session)
        center = api.as_(await staff_token(api, "center"))
        env_staff_token = await staff_token(api, "env")
        citizen = api.as_(await citizen_token(api, fake_wechat, "outage"))
        expected: Counter[tuple[str, str]] = Counter()

        before = await citizen.post("/mp/v1/letters", letter(0))
        assert before.status == 201, before.body
        expected[(before.body["id"], "letter.submitted")] += 1

        async def published() -> Counter[tuple[str, str]]:
            unique = {e["id"]: e for e in await stream_events(redis.url)}
            return Counter((e["subject"]["id"], e["type"]) for e in unique.values())

        async def all_published() -> bool:
            return await published() == expected
        await eventually(all_published, 10, "the first letter's event reaches the stream")

        # --- Redis goes away ----------------------------------------------------------------------
        await redis.stop()
        down_at = time.monotonic()

        health = await api.get("/healthz")
        assert health.status == 200, health.body
        assert health.body["status"] == "degraded" and health.body["parts"]["redis"] == "down", health.body

        for path in ("/api/v1/me", "/api/v1/letters", f"/api/v1/letters/{before.body['id']}"):
            resp = await center.get(path)
            assert resp.status == 200, (path, resp.body)
        assert (await citizen.get("/mp/v1/me")).status == 200
        assert (await citizen.get("/mp/v1/letters")).status == 200
        # Logins need no Redis either (staff: password; citizen: WeChat code exchange).
        assert await staff_token(api, "housing")
        assert await citizen_token(api, fake_wechat, "outage-newcomer")

        submitted = []
        for n in range(1, 6):
            key = new_key()
            resp = await citizen.post("/mp/v1/letters", letter(n), headers={"Idempotency-Key": key})
            assert resp.status == 201, resp.body
            replay = await citizen.post("/mp/v1/letters", letter(n), headers={"Idempotency-Key": key})
            assert replay.status == 201 and replay.body["id"] == resp.body["id"], replay.body
            submitted.append(resp.body)
            expected[(resp.body["id"], "letter.submitted")] += 1
        for target in (before.body["id"], submitted[0]["id"]):
            resp = await center.post(f"/api/v1/letters/{target}/dispatch", {"lead_department": "qd-env"})
            assert resp.status == 200, resp.body
            expected[(target, "letter.dispatched")] += 1

        # A logout while Redis is down holds at once in this process.
        env_staff = api.as_(env_staff_token)
        assert (await env_staff.get("/api/v1/me")).status == 200
        assert (await env_staff.post("/api/v1/auth/logout")).status == 204
        revoked = await env_staff.get("/api/v1/me")
        assert revoked.status == 401, revoked.body
        jti = jwt.decode(env_staff_token, options={"verify_signature": False})["jti"]

        # The events wait in the outbox; health shows it.
        waiting = await ctx.store.collection(LETTERS).find({PENDING_FIELD: True}, projection=["_id"])
        assert {doc["_id"] for doc in waiting} == {body["id"] for body in submitted} | {before.body["id"]}

        async def outbox_waiting() -> bool:
            body = (await api.get("/healthz")).body
            return body["status"] == "degraded" and body["parts"]["outbox"] == "waiting"
        await eventually(outbox_waiting, 5, "/healthz reports the outbox waiting")

        # --- Redis is back --------------------------------------------------------------------------
        await redis.start()
        up_at = time.monotonic()
        await eventually(all_published, 20, "every event of the outage reaches yzt:events")
        published_s = time.monotonic() - up_at
        assert await ctx.store.collection(LETTERS).count({PENDING_FIELD: True}) == 0

        async def healthy() -> bool:
            return (await api.get("/healthz")).body["status"] == "ok"
        await eventually(healthy, 10, "/healthz is ok again")

        # Nothing lost, nothing foreign; duplicates (at least once) only under the same event id.
        events = await stream_events(redis.url)
        raw = Counter((e["subject"]["id"], e["type"]) for e in events)
        assert set(raw) == set(expected) and all(raw[k] >= n for k, n in expected.items()), raw

        # The revocation made while Redis was down reaches the stream other processes follow.
        async def revocation_published() -> bool:
            client = aioredis.from_url(redis.url)
            try:
                entries = await client.xrange(REVOCATIONS)
            finally:
                await client.aclose()
            return any(fields.get(b"value") == jti.encode() for _id, fields in entries)
        await eventually(revocation_published, 10, "the logout made during the outage is published")
        assert (await env_staff.get("/api/v1/me")).status == 401
        print(f"\nredis down {up_at - down_at:.2f} s; outbox published {published_s:.2f} s after it came back; "
              f"{len(events)} stream entries for {sum(expected.values())} events")
