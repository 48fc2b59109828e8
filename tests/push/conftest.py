"""Push test helpers: the push service started on the harness with short waits, personas with
WeChat standing (quota, following the Official Account), bounded polling, and a WebSocket client."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

import orjson
import pytest
import tornado.websocket

from backend.notifications.queries import NOTIFICATIONS
from push import keys
from push.app import start_push
from push.config import PushConfig
from push.rules import oa_templates, subscribe_templates
from tests.conftest import ApiClient, Harness
from tests.wechat.conftest import WeChatSim

PROGRESS = subscribe_templates()["letter_progress"].id
REPLY = subscribe_templates()["letter_reply"].id
OA_PROGRESS = oa_templates()["letter_progress"].id
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
WECOM_SEND = "/cgi-bin/message/send"

FAST = PushConfig(block_ms=50, reclaim_interval=0.2, min_idle_ms=300, send_lease_ms=2000, retry_base=0.05,
                  retry_max=0.2, max_attempts=3, retry_poll=0.05, state_flush_interval=0.02, receipts_interval=0.1, receipts_lag=0.0,
                  rates={"subscribe": (10_000.0, 10_000), "template": (10_000.0, 10_000), "wecom": (10_000.0, 10_000)})


async def wait_for(check: Callable[[], Awaitable[Any]], *, timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def drained(harness: Harness) -> bool:
    """Every event handled and every job settled (streams empty, nothing pending or retrying)."""
    redis = harness.ctx.redis
    await harness.ctx.relay.relay_once()
    try:  # pending and position from one reply
        group = next(g for g in await redis.xinfo_groups(keys.EVENTS) if g["name"] == keys.GROUP.encode())
    except Exception:  # noqa: BLE001 - the stream or its group does not exist yet
        return False
    last = group["last-delivered-id"]
    unread = await redis.xrange(keys.EVENTS, min=f"({last.decode()}", count=1) if last != b"0-0" else \
        await redis.xrange(keys.EVENTS, count=1)
    if group["pending"] or unread:
        return False
    for channel in ("subscribe", "template", "wecom"):
        if await redis.xlen(keys.stream(channel)) or await redis.zcard(keys.retries(channel)):
            return False
    # Workers record states on the notifications just after acknowledging: wait for that too.
    queued = await harness.ctx.store.collection(NOTIFICATIONS).count(
        {"$or": [{f"channels.{channel}.state": "queued"} for channel in ("subscribe", "template", "wecom")]})
    return queued == 0


async def settle(harness: Harness, timeout: float = 5.0) -> None:
    await wait_for(lambda: drained(harness), timeout=timeout, what="push to drain")


@pytest.fixture
async def push(harness: Harness) -> Harness:
    await start_push(harness.ctx, FAST)
    return harness


async def user_id(client: ApiClient, face: str = "mp") -> str:
    return (await client.get(f"/{'mp' if face == 'mp' else 'api'}/v1/me")).body["id"]


async def grant(harness: Harness, citizen: ApiClient, name: str, template_id: str, times: int = 1) -> None:
    """The citizen accepted ``times`` one-time subscriptions (reported by the mini-program and
    known to the fake WeChat)."""
    for _ in range(times):
        resp = await citizen.post("/mp/v1/subscriptions", {"results": {template_id: "accept"}})
        assert resp.status == 200, resp.body
    harness.wechat.grant_subscription(f"openid-{name}", template_id, times)


async def follow(harness: Harness, name: str) -> str:
    """The citizen follows the Official Account (through the real callback, with their unionid)."""
    sim = WeChatSim(harness.ctx.settings)
    oa_openid = f"oa-openid-{name}"
    xml = sim.event(oa_openid, "subscribe", f"<EventKey><![CDATA[]]></EventKey><UnionId>unionid-{name}</UnionId>")
    args, body = sim.request(xml)
    resp = await harness.client.post("/wechat/callback", raw=body, params=args, headers={"Content-Type": "text/xml"})
    assert resp.status == 200, resp.body
    harness.wechat.followers.add(oa_openid)
    return oa_openid


async def receipt(harness: Harness, openid: str, event: str, inner: str) -> None:
    sim = WeChatSim(harness.ctx.settings)
    args, body = sim.request(sim.event(openid, event, inner))
    resp = await harness.client.post("/wechat/callback", raw=body, params=args, headers={"Content-Type": "text/xml"})
    assert resp.status == 200, resp.body


async def inbox(harness: Harness, uid: str) -> list[dict[str, Any]]:
    return await harness.ctx.store.collection(NOTIFICATIONS).find({"user_id": uid}, sort=[("created_at", 1)])


class Socket:
    """A real WebSocket client (tornado.websocket.websocket_connect) with bounded reads."""

    def __init__(self, conn: tornado.websocket.WebSocketClientConnection) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, harness: Harness, query: str = "") -> "Socket":
        url = harness.client.base.replace("http://", "ws://") + "/ws" + (f"?{query}" if query else "")
        return cls(await tornado.websocket.websocket_connect(url))

    async def send(self, message: dict[str, Any]) -> None:
        await self.conn.write_message(orjson.dumps(message).decode())

    async def receive(self, timeout: float = 3.0) -> dict[str, Any] | None:
        raw = await asyncio.wait_for(self.conn.read_message(), timeout)
        return None if raw is None else orjson.loads(raw)

    async def until(self, kind: str, timeout: float = 3.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            message = await self.receive(max(0.01, deadline - time.monotonic()))
            if message is None:
                raise AssertionError(f"socket closed ({self.conn.close_code}) waiting for {kind}")
            if message.get("type") == kind:
                return message

    def close(self) -> None:
        self.conn.close()


async def emit(harness: Harness, event_type: str, recipients: list[dict[str, str]], *, event_id: str | None = None,
               **data: Any) -> dict[str, Any]:
    """A domain event put on the stream as the outbox relay would (for tests that are about
    delivery, not about the mailbox's rules)."""
    from backend.clock import now_stored  # noqa: PLC0415
    from backend.ids import new_id  # noqa: PLC0415

    event = {"id": event_id or new_id(), "type": event_type, "occurred_at": now_stored(),
             "subject": {"collection": "letters", "id": "0" * 20}, "actor": None, "recipients": recipients,
             "data": {"tracking_no": "XJ-20261122-000001", "title": "测试信件", "type": "consult",
                      "type_label": "咨询", **data}}
    await harness.ctx.redis.xadd(keys.EVENTS, {"event": orjson.dumps(event)})
    return event


async def notify_progress(harness: Harness, uid: str) -> None:
    """Three notifications for ``uid`` (dispatched, accepted, replied), each fully delivered."""
    for event_type in ("letter.dispatched", "letter.accepted", "letter.replied"):
        await emit(harness, event_type, person(uid))
        await settle(harness)


def person(uid: str) -> list[dict[str, str]]:
    return [{"kind": "user", "id": uid}]
