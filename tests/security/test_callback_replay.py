"""Replayed and downgraded Official Account callbacks (issue 9, item 4).

The signature covers token, timestamp and nonce, not a plaintext body: with one leaked signed URL
an attacker could forge ``subscribe``/``unsubscribe`` for a victim's openid with their own UnionId
and take over the victim's notifications. The harness runs in safe mode (an AES key, compatibility
mode off); the plaintext cases use a variant configured without an AES key (明文模式).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import xmltodict

from tests.conftest import ApiClient, Harness
from tests.security.conftest import Variants
from tests.wechat.conftest import OA_ID, WeChatSim

VICTIM = "o_victim"


@pytest.fixture
def time_travel(harness: Harness) -> Iterator[None]:
    yield
    harness.ctx.clock.travel_back()


def subscribe(unionid: str, create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName><FromUserName><![CDATA[{VICTIM}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey>"
            f"<UnionId><![CDATA[{unionid}]]></UnionId></xml>")


def unsubscribe(create_time: int) -> str:
    return (f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName><FromUserName><![CDATA[{VICTIM}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[unsubscribe]]></Event></xml>")


def signed_at(sim: WeChatSim, timestamp: int, nonce: str) -> dict[str, str]:
    sig = hashlib.sha1("".join(sorted([sim.settings.oa_token, str(timestamp), nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": str(timestamp), "nonce": nonce, "openid": VICTIM}


def encrypted_at(sim: WeChatSim, xml: str, timestamp: int, nonce: str) -> tuple[dict[str, str], bytes]:
    """What WeChat sends in safe mode, with the timestamp and nonce given."""
    args = signed_at(sim, timestamp, nonce) | {"encrypt_type": "aes"}
    envelope = xmltodict.parse(sim.crypto.encrypt_message(xml, nonce, str(timestamp)))["xml"]
    args["msg_signature"] = envelope["MsgSignature"]
    body = f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    return args, body.encode()


async def post(client: ApiClient, args: dict[str, str], body: bytes) -> Any:
    return await client.request("POST", "/wechat/callback", raw=body, params=args,
                                headers={"Content-Type": "text/xml"})


async def follower(harness: Harness) -> dict[str, Any] | None:
    return await harness.ctx.store.collection("wechat_followers").find_one({"_id": VICTIM})


async def test_a_signed_url_from_long_ago_is_refused(harness: Harness) -> None:
    sim = WeChatSim(harness.ctx.settings)
    now = int(time.time())
    for skew in (-600, +600):  # leaked ten minutes ago; or forged ahead for later use
        resp = await post(harness.client, *encrypted_at(sim, subscribe("unionid-attacker", now), now + skew,
                                                       f"old{skew + 1000}"))
        assert resp.status == 403 and resp.error_code == "wechat_timestamp_stale", resp.body
    assert await follower(harness) is None
    inside = await post(harness.client, *encrypted_at(sim, subscribe("unionid-victim", now), now - 200, "recent1"))
    assert inside.status == 200, inside.body  # within the 300 s window: WeChat's clock may lag ours


async def test_a_replay_after_the_window_is_refused(harness: Harness, time_travel: None) -> None:
    sim = WeChatSim(harness.ctx.settings)
    now = int(time.time())
    captured = encrypted_at(sim, subscribe("unionid-victim", now), now, "4242001")
    assert (await post(harness.client, *captured)).status == 200
    left = encrypted_at(sim, unsubscribe(now + 1), now + 1, "4242002")
    assert (await post(harness.client, *left)).status == 200
    assert (await follower(harness))["followed"] is False
    harness.ctx.clock.travel(harness.ctx.clock.now() + timedelta(seconds=301))
    replay = await post(harness.client, *captured)
    assert replay.status == 403 and replay.error_code == "wechat_timestamp_stale", replay.body
    assert (await follower(harness))["followed"] is False  # the victim stays unsubscribed


async def test_plaintext_is_refused_in_safe_mode(harness: Harness) -> None:
    """The downgrade: keep the leaked URL's signature, drop ``encrypt_type``, post a plain body."""
    sim = WeChatSim(harness.ctx.settings)
    now = int(time.time())
    leaked, _ = encrypted_at(sim, subscribe("unionid-victim", now), now, "5151001")
    plain = {k: v for k, v in leaked.items() if k not in ("encrypt_type", "msg_signature")}
    resp = await post(harness.client, plain, subscribe("unionid-attacker", now).encode())
    assert resp.status == 403 and resp.error_code == "wechat_plaintext_refused", resp.body
    assert await follower(harness) is None


async def test_a_reused_nonce_with_another_body_is_refused(harness: Harness, variants: Variants) -> None:
    plain_mode = await variants.serve(oa_aes_key="", oa_previous_aes_key="")  # 明文模式: no AES key at all
    sim = WeChatSim(harness.ctx.settings)
    now = int(time.time())
    args = signed_at(sim, now, "6161001")
    assert (await post(plain_mode, args, subscribe("unionid-victim", now).encode())).status == 200
    assert (await post(plain_mode, signed_at(sim, now + 1, "6161002"), unsubscribe(now + 1).encode())).status == 200
    # The attacker saw the first URL: same signature, timestamp and nonce; a body of their own.
    forged = await post(plain_mode, args, subscribe("unionid-attacker", now + 2).encode())
    assert forged.status == 403 and forged.error_code == "wechat_nonce_reused", forged.body
    doc = await follower(harness)
    assert doc["followed"] is False and doc["unionid"] == "unionid-victim"


async def test_wechats_own_retry_still_gets_the_first_reply(harness: Harness, variants: Variants) -> None:
    """A retry may come with the same nonce, signature and body: the stored reply, no second run."""
    sim = WeChatSim(harness.ctx.settings)
    now = int(time.time())
    delivery = encrypted_at(sim, subscribe("unionid-victim", now), now, "7171001")
    first, retry = (await post(harness.client, *delivery)), (await post(harness.client, *delivery))
    assert first.status == retry.status == 200
    assert sim.read_reply(first.body) == sim.read_reply(retry.body)  # the welcome text, both times
    assert (await follower(harness))["version"] == 1  # the behaviour ran once
    plain_mode = await variants.serve(oa_aes_key="", oa_previous_aes_key="")
    args, body = signed_at(sim, now, "7171002"), subscribe("unionid-victim", now + 5).encode()
    replies = [await post(plain_mode, args, body) for _ in range(2)]
    assert [r.status for r in replies] == [200, 200] and replies[0].body == replies[1].body
    assert (await follower(harness))["version"] == 2
