"""kill -9 of the embedded redis-server while citizens submit letters, in ``yzt serve`` with one
process (supervised by the serving process) and with ``--processes 2`` (by the parent): the same
``RedisSupervisor`` restarts it.

Proves: submissions keep being acknowledged while Redis is down; the server is started again
(with its data: the AOF), and the restart is logged; ``/healthz`` is ok again; every acknowledged
letter's ``letter.submitted`` event reaches ``yzt:events`` (at least once: compared by event id
and letter id), including those written while Redis was down.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis

from backend.events import EVENT_STREAM
from backend.wechat.fake_server import FakeWeChat
from tests.conftest import ApiClient, Response
from tests.faults.conftest import Server, citizen_token, eventually, fake_settings, letter, new_key, redis_servers_under

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

BURST = 120
CONCURRENCY = 8
KILL_AFTER = 30  # acknowledged submissions before the kill -9


async def stream_events(socket: Path) -> list[dict[str, Any]]:
    client = aioredis.Redis(unix_socket_path=str(socket), socket_timeout=5)
    try:
        return [orjson.loads(fields[b"event"]) for _id, fields in await client.xrange(EVENT_STREAM)]
    finally:
        await client.aclose()


@pytest.mark.parametrize("processes", [1, 2])
async def test_a_killed_redis_server_is_restarted_and_no_event_is_lost(
        tmp_path: Path, fake_wechat: FakeWeChat, processes: int) -> None:
    data_dir = tmp_path / "data"
    socket = data_dir / "redis" / "redis.sock"
    server = Server(fake_settings(data_dir, fake_wechat), processes=processes).start()
    try:
        await server.wait_ready()
        [first_redis] = redis_servers_under(data_dir)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
            api = ApiClient(server.base, session)
            citizen = api.as_(await citizen_token(api, fake_wechat, "redis-killed"))
            answers: list[Response] = []
            todo = list(range(BURST))
            killed_at: float | None = None

            async def sender() -> None:
                nonlocal killed_at
                while todo:
                    n = todo.pop(0)
                    answers.append(await citizen.post("/mp/v1/letters", letter(n),
                                                      headers={"Idempotency-Key": new_key()}))
                    acknowledged = sum(1 for r in answers if r.status == 201)
                    if acknowledged >= KILL_AFTER and killed_at is None:
                        killed_at = time.monotonic()
                        os.kill(first_redis, signal.SIGKILL)

            await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
            assert killed_at is not None
            assert Counter(r.status for r in answers) == {201: BURST}, \
                Counter((r.status, r.error_code) for r in answers)
            acknowledged = {r.body["id"] for r in answers}
            assert len(acknowledged) == BURST

            async def healthy() -> bool:
                body = (await api.get("/healthz")).body
                return body["status"] == "ok" and body["parts"]["redis"] == "ok"
            await eventually(healthy, 30, "/healthz is ok again after the redis-server was killed", interval=0.05)
            healthy_after = time.monotonic() - killed_at

            async def all_published() -> bool:
                unique = {e["id"]: e for e in await stream_events(socket) if e["type"] == "letter.submitted"}
                return {e["subject"]["id"] for e in unique.values()} >= acknowledged
            await eventually(all_published, 30, "every acknowledged letter's event reaches yzt:events", interval=0.2)
            published_after = time.monotonic() - killed_at

            [second_redis] = redis_servers_under(data_dir)
            assert second_redis != first_redis
            events = [e for e in await stream_events(socket) if e["type"] == "letter.submitted"]
            by_id = {e["id"]: e["subject"]["id"] for e in events}
            assert set(by_id.values()) == acknowledged  # nothing foreign, nothing missing
            assert len(by_id) == BURST  # one event per letter; duplicates only under the same id
        log = server.log.read_text()
        assert "was killed by SIGKILL" in log and "is back" in log, server.log_tail()
        print(f"\n--processes {processes}: /healthz ok {healthy_after:.2f} s after kill -9 of redis-server, "
              f"every event on the stream after {published_after:.2f} s ({len(events)} entries for {BURST} letters)")
        assert server.terminate() == 0, server.log_tail()
        assert redis_servers_under(data_dir) == []
    finally:
        server.cleanup()
