"""Delivery guarantees: reclaim after a worker dies, retries, dead letters, quota, opt-out, duplicates."""

from __future__ import annotations

import asyncio

import orjson

from backend.notifications.queries import QUOTAS
from backend.streams import ensure_group
from push import keys
from push.channels.subscribe import SubscribeChannel
from push.delivery import ChannelWorker
from push.jobs import Job
from push.ratelimit import TokenBucket
from tests.conftest import Harness
from tests.push.conftest import (
    FAST,
    PROGRESS,
    REPLY,
    SUBSCRIBE_SEND,
    TEMPLATE_SEND,
    WECOM_SEND,
    emit,
    follow,
    grant,
    inbox,
    person,
    settle,
    user_id,
    wait_for,
)


async def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(harness: Harness) -> None:
    ctx, fake = harness.ctx, harness.wechat
    stream = keys.stream("subscribe")
    await ensure_group(ctx.redis, stream, keys.GROUP)
    jobs = [Job(notification_id=f"{i:020x}", user_id=f"u{i}", channel="subscribe", to=f"openid-{i}",
                event_type="letter.accepted", payload={"template_id": PROGRESS, "data": {"thing1": "测试"}})
            for i in range(10)]
    for job in jobs:
        fake.grant_subscription(job.to, PROGRESS)
        await ctx.redis.xadd(stream, {"job": job.encode()})

    # Worker A reads all ten, but its rate limit lets it send only three before it must wait.
    slow = FAST.replace(rates={"subscribe": (0.01, 3)})
    worker_a = ChannelWorker(ctx, slow, SubscribeChannel(ctx, slow), consumer="worker-a")
    task_a = asyncio.get_running_loop().create_task(worker_a.run())

    async def three_sent() -> bool:
        records = await ctx.redis.mget([keys.done("subscribe", job.notification_id) for job in jobs])
        return records.count(b"sent") == 3
    await wait_for(three_sent, what="worker A's first three sends")
    task_a.cancel()  # killed after reading ten and acknowledging three
    await asyncio.gather(task_a, return_exceptions=True)
    pending = await ctx.redis.xpending(stream, keys.GROUP)
    assert pending["pending"] == 7 and len(fake.calls_to(SUBSCRIBE_SEND)) == 3

    # Redelivered copies of the three already sent (as after an event redelivery) must not resend.
    for job in jobs[:3]:
        await ctx.redis.xadd(stream, {"job": job.encode()})
    worker_b = ChannelWorker(ctx, FAST, SubscribeChannel(ctx, FAST), consumer="worker-b")
    task_b = asyncio.get_running_loop().create_task(worker_b.run())
    try:
        async def all_done() -> bool:
            info = await ctx.redis.xpending(stream, keys.GROUP)
            return len(fake.calls_to(SUBSCRIBE_SEND)) == 10 and info["pending"] == 0 and not await ctx.redis.xlen(stream)
        await wait_for(all_done, what="worker B to reclaim and finish")
    finally:
        task_b.cancel()
        await asyncio.gather(task_b, return_exceptions=True)
    sent_to = [call.body["touser"] for call in fake.calls_to(SUBSCRIBE_SEND)]
    assert sorted(sent_to) == sorted(job.to for job in jobs)  # each exactly once
    stats = await ctx.redis.hgetall(keys.stats("subscribe"))
    assert int(stats[b"sent"]) == 10 and int(stats[b"skipped"]) == 3


async def test_transient_errors_are_retried_with_backoff(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    await grant(harness, citizen, "li_si", PROGRESS)
    harness.wechat.fail_next(SUBSCRIBE_SEND, -1)      # system busy
    harness.wechat.fail_next(SUBSCRIBE_SEND, 45009)   # daily quota reached
    await emit(harness, "letter.accepted", person(uid))
    await settle(harness)
    assert len(harness.wechat.calls_to(SUBSCRIBE_SEND)) == 3
    assert harness.wechat.subscriptions_left("openid-li_si", PROGRESS) == 0
    doc, = await inbox(harness, uid)
    assert doc["channels"]["subscribe"]["state"] == "sent"
    stats = await harness.ctx.redis.hgetall(keys.stats("subscribe"))
    assert (int(stats[b"retried"]), int(stats[b"sent"])) == (2, 1) and b"dead" not in stats


async def test_permanent_errors_are_dead_lettered_and_can_be_redriven(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    await grant(harness, citizen, "li_si", PROGRESS)
    harness.wechat.fail_next(SUBSCRIBE_SEND, 47003)  # our data is wrong: no retry, a person must look
    await emit(harness, "letter.accepted", person(uid))
    await settle(harness)
    assert len(harness.wechat.calls_to(SUBSCRIBE_SEND)) == 1
    (_, dead), = await harness.ctx.redis.xrange(keys.DEAD)
    assert dead[b"channel"] == b"subscribe" and dead[b"reason"].startswith(b"47003")
    assert (await inbox(harness, uid))[0]["channels"]["subscribe"]["state"] == "dead"

    clerk, admin = await harness.staff("center"), await harness.staff("admin")
    assert (await clerk.post("/api/v1/push/dead-letters/redrive", {})).status == 403
    stats = (await admin.get("/api/v1/push/statistics")).body
    assert stats["channels"]["subscribe"]["dead"] == 1 and stats["dead_letters"] == 1
    redriven = await admin.post("/api/v1/push/dead-letters/redrive", {"channel": "subscribe"})
    assert redriven.status == 200 and redriven.body == {"redriven": 1}
    await settle(harness)
    assert len(harness.wechat.calls_to(SUBSCRIBE_SEND)) == 2
    assert (await inbox(harness, uid))[0]["channels"]["subscribe"]["state"] == "sent"
    stats = (await admin.get("/api/v1/push/statistics")).body
    assert stats["channels"]["subscribe"] == {"queued": 0, "retrying": 0, "sent": 1, "failed": 0, "dead": 0,
                                              "skipped": 0}
    assert stats["dead_letters"] == 0 and stats["events_pending"] == 0


async def test_retries_run_out_into_the_dead_letter_stream(push: Harness) -> None:
    harness = push
    staff_id = await user_id(await harness.staff("env"), "staff")
    harness.wechat.fail_next(WECOM_SEND, -1, times=3)  # FAST allows three attempts
    await emit(harness, "letter.info_supplied", person(staff_id))
    await settle(harness)
    assert len(harness.wechat.calls_to(WECOM_SEND)) == 3
    (_, dead), = await harness.ctx.redis.xrange(keys.DEAD)
    assert dead[b"reason"].startswith(b"retries exhausted: -1")


async def test_43101_sets_the_quota_to_zero_and_is_not_retried(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    for _ in range(2):  # the mini-program reports two acceptances WeChat does not know of
        await citizen.post("/mp/v1/subscriptions", {"results": {PROGRESS: "accept"}})
    await emit(harness, "letter.accepted", person(uid))
    await settle(harness)
    assert len(harness.wechat.calls_to(SUBSCRIBE_SEND)) == 1
    doc, = await inbox(harness, uid)
    assert doc["channels"]["subscribe"] == {**doc["channels"]["subscribe"], "state": "failed",
                                            "reason": "no_subscription"}
    quota = await harness.ctx.store.collection(QUOTAS).find_one({"_id": f"{uid}:{PROGRESS}"})
    assert quota["remaining"] == 0
    assert await harness.ctx.redis.xlen(keys.DEAD) == 0

    await emit(harness, "letter.accepted", person(uid))  # nothing left: skipped, inbox still written
    await settle(harness)
    assert len(harness.wechat.calls_to(SUBSCRIBE_SEND)) == 1
    assert [d["channels"]["subscribe"].get("reason") for d in await inbox(harness, uid)] == [
        "no_subscription", "no_quota"]


async def test_without_quota_only_the_inbox_and_the_socket_are_told(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    await emit(harness, "letter.accepted", person(uid))
    await settle(harness)
    doc, = await inbox(harness, uid)
    assert doc["channels"]["subscribe"]["state"] == "skipped" and doc["channels"]["subscribe"]["reason"] == "no_quota"
    assert doc["channels"]["inbox"]["state"] == "delivered" and doc["channels"]["template"]["reason"] == "not_follower"
    assert harness.wechat.calls_to(SUBSCRIBE_SEND) == [] and harness.wechat.calls_to(TEMPLATE_SEND) == []
    assert (await citizen.get("/mp/v1/notifications")).body["items"][0]["title"] == "您的信件已受理"


async def test_opt_outs_are_respected_except_for_mandatory_notifications(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    await grant(harness, citizen, "li_si", PROGRESS)
    await grant(harness, citizen, "li_si", REPLY)
    await follow(harness, "li_si")
    off = await citizen.request("PUT", "/mp/v1/notification-preferences",
                                {"channels": {"subscribe": False, "template": False}})
    assert off.status == 200 and off.body["channels"] == {"subscribe": False, "template": False}
    env = await harness.staff("env")
    env_id = await user_id(env, "staff")
    assert (await env.request("PUT", "/api/v1/notification-preferences", {"channels": {"wecom": False}})).status == 200

    await emit(harness, "letter.accepted", person(uid))        # optional: skipped
    await emit(harness, "letter.replied", person(uid))         # mandatory for the citizen: sent
    await emit(harness, "letter.info_supplied", person(env_id))  # optional for staff: skipped
    await emit(harness, "letter.dispatched", person(env_id))   # mandatory for staff: sent
    await settle(harness)
    accepted, replied = await inbox(harness, uid)
    assert accepted["channels"]["subscribe"]["reason"] == "opted_out"
    assert accepted["channels"]["template"]["reason"] == "opted_out"
    assert replied["channels"]["subscribe"]["state"] == "sent" and replied["channels"]["template"]["state"] == "sent"
    assert [call.body["template_id"] for call in harness.wechat.calls_to(SUBSCRIBE_SEND)] == [REPLY]
    supplied, dispatched = await inbox(harness, env_id)
    assert supplied["channels"]["wecom"]["reason"] == "opted_out" and dispatched["channels"]["wecom"]["state"] == "sent"
    assert len(harness.wechat.calls_to(WECOM_SEND)) == 1
    quota = await harness.ctx.store.collection(QUOTAS).find_one({"_id": f"{uid}:{PROGRESS}"})
    assert quota["remaining"] == 1  # an opted-out send spends nothing


async def test_a_redelivered_event_notifies_once(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    await grant(harness, citizen, "li_si", PROGRESS, times=3)
    event = await emit(harness, "letter.accepted", person(uid))
    await settle(harness)
    await harness.ctx.redis.xadd(keys.EVENTS, {"event": orjson.dumps(event)})  # the relay sent it again
    await settle(harness)
    assert len(await inbox(harness, uid)) == 1
    assert len(harness.wechat.calls_to(SUBSCRIBE_SEND)) == 1
    quota = await harness.ctx.store.collection(QUOTAS).find_one({"_id": f"{uid}:{PROGRESS}"})
    assert quota["remaining"] == 2


async def test_a_follower_that_left_is_a_permanent_failure(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    oa_openid = await follow(harness, "li_si")
    harness.wechat.followers.discard(oa_openid)  # unfollowed, and the callback has not told us yet
    await emit(harness, "letter.accepted", person(uid))
    await settle(harness)
    assert len(harness.wechat.calls_to(TEMPLATE_SEND)) == 1
    doc, = await inbox(harness, uid)
    assert doc["channels"]["template"]["state"] == "failed" and doc["channels"]["template"]["reason"] == "not_follower"


async def test_token_bucket(redis_client) -> None:
    bucket = TokenBucket(redis_client, "yzt:test:bucket", rate=20.0, burst=5)
    assert await bucket.try_take(3) == (3, 0.0)
    granted, wait = await bucket.try_take(5)
    assert granted == 2 and 0 < wait <= 0.05 + 0.001
    assert (await bucket.try_take(1))[0] == 0
    await bucket.refund(2)
    assert (await bucket.try_take(5))[0] == 2
    assert await bucket.take(1) == 1  # waits about 1/20 s for the next token
