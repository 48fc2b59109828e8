"""WebSocket limits (issue 9, item 9): topics per socket, messages per second per socket, sockets
waiting to authenticate per client. The close codes are documented in handlers/websocket.py."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import tornado.httpclient

from tests.conftest import Harness
from tests.push.conftest import Socket


async def test_a_socket_follows_a_bounded_number_of_topics(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    socket = await Socket.open(harness, f"token={citizen.token}")
    await socket.until("ready")
    limit = harness.ctx.settings.ws_max_topics
    await socket.send({"op": "subscribe", "topics": [f"public:qa-{n}" for n in range(limit)]})
    assert len((await socket.until("subscribed"))["topics"]) == limit
    # A second request used to add as many again (the cap was per request, not per socket).
    await socket.send({"op": "subscribe", "topics": [f"public:qa-{n}" for n in range(limit, 2 * limit)]})
    refused = await socket.until("error")
    assert refused["code"] == "too_many_topics" and refused["limit"] == limit
    assert harness.ctx.live_hub.listener_count == 1 + limit  # the user's channel and the first topics
    await socket.send({"op": "unsubscribe", "topics": ["public:qa-0"]})
    await socket.until("unsubscribed")
    await socket.send({"op": "subscribe", "topics": ["public:qa-new"]})
    assert (await socket.until("subscribed"))["topics"] == ["public:qa-new"]  # room again, still open
    socket.close()


async def test_a_message_flood_closes_the_socket(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    socket = await Socket.open(harness, f"token={citizen.token}")
    await socket.until("ready")
    rate = harness.ctx.settings.ws_messages_per_second
    sent = rate * 5
    started = time.monotonic()
    for _ in range(sent):
        await socket.send({"op": "ping"})
    assert time.monotonic() - started < 2, "the flood must be faster than the refill"
    pongs = 0
    while (message := await socket.receive(timeout=5)) is not None:
        pongs += message.get("type") == "pong"
    assert socket.conn.close_code == 4429
    assert rate <= pongs < sent  # a burst of ``rate`` is fine; the rest closed the socket


async def test_sockets_waiting_to_authenticate_are_bounded_per_client(harness: Harness,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    limit = harness.ctx.settings.ws_max_unauthenticated
    waiting = [await Socket.open(harness) for _ in range(limit)]
    with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
        await Socket.open(harness)
    assert refused.value.code == 429
    assert refused.value.response is not None and refused.value.response.headers["Retry-After"] == "10"
    citizen = await harness.citizen("li_si")
    with_token = await Socket.open(harness, f"token={citizen.token}")  # a token never waits: not counted
    await with_token.until("ready")
    await waiting[0].send({"op": "auth", "token": citizen.token})
    await waiting[0].until("ready")  # authenticated: its slot is free again
    another = await Socket.open(harness)
    waiting[1].close()
    deadline = time.monotonic() + 3
    while harness.ctx.slots.held("ws-unauthenticated:127.0.0.1") != limit - 1:  # closing frees one too
        assert time.monotonic() < deadline, "the closed socket's slot was not given back"
        await asyncio.sleep(0.01)
    for socket in [*waiting, with_token, another]:
        socket.close()
    assert "127.0.0.1" not in caplog.text  # counted by address, never logged
