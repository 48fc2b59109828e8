"""The outbox relay: moves events from documents' outboxes to the Redis stream ``yzt:events``.

Use cases ``wake(collection)`` it after a write, and it looks in the collections it was woken
for, a few milliseconds later (``linger``: the writes of a burst go out in one pass, not one
pass each); it also sweeps every collection every second, so events written by another process,
or while Redis was down, flow as soon as Redis answers. An event is removed from its
document only after XADD succeeded; a crash in between sends it twice (consumers deduplicate by
event id), never zero times.

Within a process one relay pass runs at a time (a lock): a pass started by hand, as tests and
``yzt`` commands do, never publishes a document's events again while the background pass is
still publishing them. Across processes two passes can still meet on one document and publish
its events twice; that is the at-least-once contract, and every consumer deduplicates by id.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import orjson
import redis.asyncio as aioredis

from backend.errors import Unavailable
from backend.events import EVENT_STREAM, OUTBOX_FIELD, PENDING_FIELD, SEQUENCE_FIELD
from backend.store.interface import DocumentStore
from backend.tasks import raise_if_cancelling

log = logging.getLogger(__name__)

STREAM_MAX_LEN = 1_000_000
MAX_RETRY_INTERVAL = 2.0  # while Redis is down: waiting events flow within this of its return


class OutboxRelay:
    def __init__(self, *, store: DocumentStore, redis: aioredis.Redis, collections: list[str],
                 interval: float = 1.0, linger: float = 0.005) -> None:
        self._store = store
        self._redis = redis
        self._collections = list(collections)
        self._interval = interval
        self._linger = linger
        self._wakeup = asyncio.Event()
        self._woken_for: set[str] = set()
        self._pass = asyncio.Lock()
        self.healthy = True

    def register(self, collection: str) -> None:
        if collection not in self._collections:
            self._collections.append(collection)

    async def create_indexes(self) -> None:
        for name in self._collections:
            await self._store.collection(name).create_index([(PENDING_FIELD, 1)], sparse=True)

    def wake(self, collection: str | None = None) -> None:
        self._woken_for.update(self._collections if collection is None else (collection,))
        self._wakeup.set()

    async def relay_once(self, collections: list[str] | None = None) -> int:
        """Relay every pending event once (of ``collections``; None: all); returns how many
        were published."""
        async with self._pass:
            return await self._relay_pass(self._collections if collections is None else collections)

    async def _relay_pass(self, collections: list[str]) -> int:
        published = 0
        for name in collections:
            collection = self._store.collection(name)
            for doc in await collection.find({PENDING_FIELD: True}, limit=500,
                                             projection=[OUTBOX_FIELD, SEQUENCE_FIELD]):
                events = doc.get(OUTBOX_FIELD) or []
                if events:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for event in events:
                            pipe.xadd(EVENT_STREAM, {"event": orjson.dumps(event)},
                                      maxlen=STREAM_MAX_LEN, approximate=True)
                        await pipe.execute()
                    published += len(events)
                # One write in the common case: empty the outbox if no event arrived meanwhile
                # (the sequence is unchanged); otherwise remove just the events sent.
                emptied = await collection.update_one(
                    {"_id": doc["_id"], SEQUENCE_FIELD: doc.get(SEQUENCE_FIELD)},
                    {"$set": {OUTBOX_FIELD: []}, "$unset": {PENDING_FIELD: ""}})
                if not emptied:
                    ids = [event["id"] for event in events]
                    await collection.update_one({"_id": doc["_id"]},
                                                {"$pull": {OUTBOX_FIELD: {"id": {"$in": ids}}}})
        return published

    async def run(self) -> None:
        """Owned background task until cancelled."""
        backoff = self._interval
        while True:
            woken = False
            with suppress(asyncio.TimeoutError):
                woken = await asyncio.wait_for(self._wakeup.wait(), timeout=backoff)
            if woken and self.healthy:
                await asyncio.sleep(self._linger)
            self._wakeup.clear()
            wanted, self._woken_for = (sorted(self._woken_for) if woken and self.healthy else None), set()
            try:
                await self.relay_once(wanted)
                self.healthy = True
                backoff = self._interval
            except asyncio.CancelledError:
                raise
            except (OSError, aioredis.RedisError) as exc:
                raise_if_cancelling()
                if self.healthy:
                    log.warning("outbox relay: Redis unavailable (%s); events wait in the store", exc)
                self.healthy = False
                backoff = min(backoff * 2, MAX_RETRY_INTERVAL)
            except Unavailable:  # the store said why, once; events wait where they are
                raise_if_cancelling()
                backoff = min(backoff * 2, MAX_RETRY_INTERVAL)
            except Exception:
                raise_if_cancelling()
                log.exception("outbox relay failed; retrying")
                backoff = min(backoff * 2, MAX_RETRY_INTERVAL)
