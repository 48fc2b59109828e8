"""The Redis Streams consumer-group loop: push's events consumer and channel workers, and the
to-do projection, each run one.

Each consumer reads new entries with XREADGROUP and, every ``reclaim_interval``, takes over
entries that another consumer read but did not acknowledge for ``min_idle_ms`` (XAUTOCLAIM):
that consumer died, or was stopped mid-batch. An entry reclaimed more than ``max_deliveries``
times is a poison message: it goes to the dead-letter stream instead of looping forever.
Redis errors are waited out with backoff; nothing read is acknowledged before it is handled.

``linger``: after a batch smaller than ``batch`` (a trickle, not a backlog), wait this long
before reading again, so that under steady load each turn handles many entries (every turn
costs a read, the handler's fixed work and an acknowledgement) at the price of that much latency.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from backend.clock import now_stored
from backend.tasks import raise_if_cancelling

log = logging.getLogger(__name__)

Entry = tuple[bytes, dict[bytes, bytes]]


def consumer_name(role: str, index: int = 0) -> str:
    """Unique per process and task. A restarted process gets a new name; the old name's
    pending entries are reclaimed from it like any dead worker's."""
    return f"{socket.gethostname()}-{os.getpid()}-{role}-{index}-{time.monotonic_ns() % 1_000_000}"


async def ensure_group(redis: aioredis.Redis, stream: str, group: str) -> None:
    """Create the group at the start of the stream (so nothing written before the first
    worker started is skipped), and the stream if missing."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class StreamConsumer:
    """Override ``handle`` (returns the ids to acknowledge) and optionally ``tick``.

    ``delete_acked``: delete entries once acknowledged, so that the stream's length is its
    backlog (channel streams); the events stream keeps them for its other readers."""

    delete_acked = False
    stats_key: str | None = None  # where poison entries are counted as dead

    def __init__(self, redis: aioredis.Redis, stream: str, *, group: str, dead_letters: str, consumer: str,
                 batch: int, block_ms: int, reclaim_interval: float, min_idle_ms: int, max_deliveries: int,
                 linger: float = 0.0) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self.dead_letters = dead_letters
        self.consumer = consumer
        self.batch = batch
        self.block_ms = block_ms
        self.reclaim_interval = reclaim_interval
        self.min_idle_ms = min_idle_ms
        self.max_deliveries = max_deliveries
        self.linger = linger

    async def handle(self, entries: list[Entry]) -> list[bytes]:
        raise NotImplementedError

    async def tick(self) -> None:
        """Called once per loop turn (e.g. to move due retries back onto the stream)."""

    async def run(self) -> None:
        """Owned background task until cancelled."""
        await ensure_group(self.redis, self.stream, self.group)
        next_reclaim = 0.0
        backoff = 0.5
        while True:
            raise_if_cancelling()  # a cancellation swallowed inside a client call still ends the loop
            try:
                await self.tick()
                if time.monotonic() >= next_reclaim:
                    await self.reclaim()
                    next_reclaim = time.monotonic() + self.reclaim_interval
                entries = await self.read()
                if entries:
                    await self.process(entries)
                    if self.linger and len(entries) < self.batch:
                        await asyncio.sleep(self.linger)
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except (aioredis.RedisError, OSError) as exc:
                raise_if_cancelling()
                log.warning("consumer %s on %s: Redis unavailable (%s); retrying", self.consumer, self.stream, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            except Exception:
                raise_if_cancelling()
                log.exception("consumer %s on %s failed; retrying", self.consumer, self.stream)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def read(self) -> list[Entry]:
        answer: Any = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=self.batch,
                                                  block=self.block_ms)
        return list(answer[0][1]) if answer else []

    async def process(self, entries: list[Entry]) -> None:
        done = await self.handle(entries)
        if done:
            await self.ack(done)

    async def ack(self, ids: list[bytes]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, *ids)
            if self.delete_acked:
                pipe.xdel(self.stream, *ids)
            await pipe.execute()

    async def reclaim(self) -> int:
        """Take over and handle what dead consumers left pending; returns how many entries."""
        start: Any = "0-0"
        total = 0
        while True:
            answer = await self.redis.xautoclaim(self.stream, self.group, self.consumer, self.min_idle_ms,
                                                 start_id=start, count=self.batch)
            start, claimed = answer[0], answer[1]
            # Redis 6.2 reports entries deleted while pending as (None, None); we never delete
            # an entry before acknowledging it, so there is nothing to do for them.
            entries = [entry for entry in claimed if entry[0] is not None]
            if entries:
                total += len(entries)
                log.info("consumer %s reclaimed %d entries from %s", self.consumer, len(entries), self.stream)
                await self.process(await self._without_poison(entries))
            if start in (b"0-0", "0-0") or not claimed:
                return total

    async def _without_poison(self, entries: list[Entry]) -> list[Entry]:
        pending: Any = await self.redis.xpending_range(self.stream, self.group, min=entries[0][0], max=entries[-1][0],
                                                  count=len(entries) * 4, consumername=self.consumer)
        counts = {item["message_id"]: item["times_delivered"] for item in pending}
        poison = [entry for entry in entries if counts.get(entry[0], 0) > self.max_deliveries]
        if poison:
            async with self.redis.pipeline(transaction=True) as pipe:
                for entry_id, fields in poison:
                    dead: dict[Any, Any] = {**fields, "stream": self.stream, "entry": entry_id,
                                            "reason": "too_many_deliveries", "at": now_stored()}
                    pipe.xadd(self.dead_letters, dead)
                pipe.xack(self.stream, self.group, *(entry_id for entry_id, _ in poison))
                if self.delete_acked:
                    pipe.xdel(self.stream, *(entry_id for entry_id, _ in poison))
                if self.stats_key:
                    pipe.hincrby(self.stats_key, "dead", len(poison))
                await pipe.execute()
            log.error("%d entries of %s delivered more than %d times, dead-lettered",
                      len(poison), self.stream, self.max_deliveries)
        return [entry for entry in entries if entry not in poison]
