"""Push administration: statistics per channel and re-driving dead letters.

Counters live in ``yzt:push:stats:<channel>`` (``enqueued``, ``sent``, ``failed``, ``retried``,
``dead``, ``skipped``); ``dead`` is what is in the dead-letter stream now (re-driving lowers it).
``queued`` is the stream's length, which is its backlog because workers delete what they
acknowledge; ``retrying`` the jobs waiting out a backoff.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from backend.notifications import use_cases as inbox
from backend.notifications.schemas import Channel, ChannelState
from push import keys
from push.jobs import Job

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

CHANNELS = (Channel.SUBSCRIBE.value, Channel.TEMPLATE.value, Channel.WECOM.value)
_PAGE = 500


async def statistics(ctx: "AppContext") -> dict[str, Any]:
    redis = ctx.redis
    async with redis.pipeline(transaction=False) as pipe:
        for channel in CHANNELS:
            pipe.xlen(keys.stream(channel))
            pipe.zcard(keys.retries(channel))
            pipe.hgetall(keys.stats(channel))
        pipe.xlen(keys.DEAD)
        answers = await pipe.execute()
    channels = {}
    for index, channel in enumerate(CHANNELS):
        queued, retrying, counters = answers[index * 3:index * 3 + 3]
        counts = {name.decode(): int(value) for name, value in counters.items()}
        channels[channel] = {"queued": int(queued), "retrying": int(retrying),
                             **{name: max(0, counts.get(name, 0)) for name in ("sent", "failed", "dead", "skipped")}}
    return {"channels": channels, "dead_letters": int(answers[-1]), "events_pending": await _events_pending(ctx)}


async def _events_pending(ctx: "AppContext") -> int:
    """Events read but not yet acknowledged, plus those not yet read: Redis 7 reports the
    latter (``lag``); on 6.2 they are counted, up to 10,000, so this stays cheap on a backlog."""
    try:
        groups = await ctx.redis.xinfo_groups(keys.EVENTS)
    except ResponseError:  # no stream yet
        return 0
    group = next((g for g in groups if g["name"] in (keys.GROUP, keys.GROUP.encode())), None)
    if group is None:
        return 0
    if group.get("lag") is not None:
        return int(group["pending"]) + int(group["lag"])
    last = group["last-delivered-id"]
    last = last.decode() if isinstance(last, bytes) else str(last)
    unread: Any = await ctx.redis.xrange(keys.EVENTS, min="-" if last == "0-0" else f"({last}", count=10_000)
    return int(group["pending"]) + len(unread)


async def redrive_dead_letters(ctx: "AppContext", *, channel: str | None = None, limit: int = 1000) -> dict[str, Any]:
    """Put dead letters (of one channel, or all) back on their streams with a fresh attempt
    count; the send record is cleared so that they are sent. Dead events go back to the events
    stream."""
    redis = ctx.redis
    moved = 0
    start = "-"
    redriven: dict[str, list[str]] = defaultdict(list)
    while moved < limit:
        page: Any = await redis.xrange(keys.DEAD, min=start, count=_PAGE)
        if not page:
            break
        async with redis.pipeline(transaction=True) as pipe:
            for entry_id, fields in page:
                if moved >= limit:
                    break
                if b"job" in fields:
                    job = Job.decode(fields[b"job"])
                    if channel is not None and job.channel != channel:
                        continue
                    job.attempt = 0
                    pipe.delete(keys.done(job.channel, job.notification_id))
                    pipe.xadd(keys.stream(job.channel), {"job": job.encode()})
                    pipe.hincrby(keys.stats(job.channel), "dead", -1)
                    pipe.hincrby(keys.stats(job.channel), "enqueued", 1)
                    redriven[job.channel].append(job.notification_id)
                elif b"event" in fields and channel is None:
                    pipe.xadd(keys.EVENTS, {"event": fields[b"event"]})
                else:
                    continue
                pipe.xdel(keys.DEAD, entry_id)
                moved += 1
            await pipe.execute()
        if len(page) < _PAGE:
            break
        last = page[-1][0]
        start = f"({last.decode() if isinstance(last, bytes) else last}"
    for name, ids in redriven.items():
        await inbox.bulk_set_channel_state(ctx.store, name, ids, ChannelState.QUEUED.value, reason="redriven")
    return {"redriven": moved}
