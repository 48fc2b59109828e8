"""``/ws``: authentication, replay on reconnect, topics, heartbeats, and reach across processes."""

from __future__ import annotations

import asyncio

import orjson
import redis.asyncio as aioredis

import handlers.websocket
from push import keys
from push.fanout import LiveHub
from tests.conftest import Harness
from tests.push.conftest import Socket, emit, inbox, notify_progress, person, user_id


async def test_bad_or_missing_tokens_are_refused(harness: Harness, monkeypatch) -> None:
    forged = await Socket.open(harness, "token=not-a-token")
    assert (await forged.receive())["code"] == "token_invalid"
    assert await forged.receive() is None and forged.conn.close_code == 4401
    monkeypatch.setattr(handlers.websocket, "AUTH_TIMEOUT", 0.1)
    silent = await Socket.open(harness)
    assert (await silent.receive())["code"] == "auth_timeout" and await silent.receive() is None
    assert silent.conn.close_code == 4408
    early = await Socket.open(harness)
    await early.send({"op": "ping"})
    assert (await early.receive())["code"] == "unauthenticated"


async def test_reconnect_replays_what_was_missed(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    await notify_progress(harness, uid)
    seen, *missed = await inbox(harness, uid)
    socket = await Socket.open(harness)
    await socket.send({"op": "auth", "token": citizen.token, "since": seen["_id"]})
    replayed = [await socket.until("notification"), await socket.until("notification")]
    assert [m["notification"]["id"] for m in replayed] == [doc["_id"] for doc in missed]
    assert (await socket.until("ready"))["replayed"] == 2
    await socket.send({"op": "ping"})
    assert (await socket.until("pong"))["type"] == "pong"
    # Live after the replay; an unknown position asks the client to reload instead.
    await emit(harness, "letter.rejected", person(uid), reason="不属于受理范围")
    assert (await socket.until("notification"))["notification"]["type"] == "letter.rejected"
    stale = await Socket.open(harness, f"token={citizen.token}&since={'f' * 20}")
    assert (await stale.until("resync"))["reason"] == "unknown_since"
    socket.close()
    stale.close()


async def test_any_process_reaches_a_user_connected_elsewhere(harness: Harness, redis_server) -> None:
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    socket = await Socket.open(harness, f"token={citizen.token}")
    await socket.until("ready")
    # Another process: its own Redis connection and its own hub, listening on the same user.
    other = aioredis.from_url(redis_server.url)
    tasks: set[asyncio.Task] = set()

    def spawn(coro, name):
        task = asyncio.get_running_loop().create_task(coro, name=name)
        tasks.add(task)
        return task
    elsewhere = LiveHub(other, spawn=spawn)
    received: list[bytes] = []
    await elsewhere.attach(keys.live_user(uid), received.append)
    try:
        message = {"type": "notification", "notification": {"id": "a" * 20, "title": "跨进程"}}
        assert await other.publish(keys.live_user(uid), orjson.dumps(message)) == 2  # both processes listen
        assert (await socket.until("notification"))["notification"]["title"] == "跨进程"
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.01)
        assert orjson.loads(received[0]) == message
    finally:
        elsewhere.detach(keys.live_user(uid), received.append)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await other.aclose()
        socket.close()


async def test_topics_follow_the_callers_rights(harness: Harness) -> None:
    citizen, center = await harness.citizen("li_si"), await harness.staff("center")
    citizen_ws = await Socket.open(harness, f"token={citizen.token}")
    await citizen_ws.until("ready")
    await citizen_ws.send({"op": "subscribe", "topics": ["role:mailbox_center", "public:qa-session-1"]})
    answer = await citizen_ws.until("subscribed")
    assert answer["topics"] == ["public:qa-session-1"] and answer["refused"] == ["role:mailbox_center"]
    center_ws = await Socket.open(harness, f"token={center.token}")
    await center_ws.until("ready")
    await center_ws.send({"op": "subscribe", "topics": ["role:mailbox_center", "role:admin"]})
    answer = await center_ws.until("subscribed")
    assert answer["topics"] == ["role:mailbox_center"] and answer["refused"] == ["role:admin"]
    await center_ws.send({"op": "unsubscribe", "topics": ["role:mailbox_center"]})
    assert (await center_ws.until("unsubscribed"))["topics"] == ["role:mailbox_center"]
    await center_ws.send({"op": "dance"})
    assert (await center_ws.until("error"))["code"] == "unknown_op"
    citizen_ws.close()
    center_ws.close()
