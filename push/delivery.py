"""Channel workers: ``yzt:push:<channel>`` in consumer group ``push``, at least once, each
notification sent at most once per channel unless a worker dies in the middle of a send.

For each chunk of jobs a worker:

1. takes tokens from the channel's bucket (``ratelimit.py``), waiting if there are none;
2. claims each job's send record ``yzt:push:done:<channel>:<notification>`` in one Lua call:
   absent → ``sending:<entry id>`` with a lease, and the job is sent; ``sent``/``failed``/``dead``
   → already done (a redelivered or duplicated entry), acknowledged without sending;
   ``sending:<other entry>`` → a duplicate being sent right now, dropped; ``sending:<this entry>``
   → this very entry was being sent by a worker that stopped: left pending until the lease ends,
   then sent again (the one case where a message can arrive twice);
3. sends;
4. in one Lua script (atomic): marks each record, schedules retries (``yzt:push:retry:<channel>``, a sorted
   set moved back onto the stream when due) or dead-letters (``yzt:push:dead``, with the reason),
   counts, acknowledges and deletes the entries (so a stream's length is its backlog);
5. notes the new states, which a recorder beside the loop writes onto the notifications every
   ``state_flush_interval``, one write per (state, reason).

Entries read but not acknowledged by a worker that died are taken over by another worker after
``min_idle_ms`` (``streams.py``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from typing import TYPE_CHECKING

import orjson

from backend.clock import now_stored
from backend.notifications import use_cases as inbox
from backend.notifications.schemas import ChannelState
from backend.streams import Entry, StreamConsumer
from backend.tasks import raise_if_cancelling
from push import keys
from push.channels import Outcome, Result, Sender
from push.config import PushConfig
from push.jobs import Job
from push.ratelimit import TokenBucket

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

log = logging.getLogger(__name__)

# KEYS: one send record per job. ARGV[1]: lease (ms); ARGV[2]: JSON list of the jobs' entry ids.
_CLAIM = """
local entries = cjson.decode(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
  local token = 'sending:' .. entries[i]
  local current = redis.call('GET', key)
  if not current then
    redis.call('SET', key, token, 'PX', ARGV[1])
    out[i] = 'go'
  elseif current == token then
    out[i] = 'mine'
  elseif string.sub(current, 1, 8) == 'sending:' then
    out[i] = 'other'
  else
    out[i] = current
  end
end
return out
"""

_MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', job)
  redis.call('ZREM', KEYS[1], job)
end
return #due
"""

# KEYS: stream, retry zset, dead stream, stats hash, then one send record per result.
# ARGV[1]: JSON {"group", "ttl", "channel", "at", "skipped", "results": [[outcome, reason, job, due
# (ms, for a retry)], ...], "ack": [entry ids to acknowledge and delete]}.
_SETTLE = """
local batch = cjson.decode(ARGV[1])
local counts = {skipped = batch.skipped}
for i, result in ipairs(batch.results) do
  local outcome, reason, job, due = result[1], result[2], result[3], result[4]
  local done = KEYS[4 + i]
  if outcome == 'retry' then
    redis.call('DEL', done)
    redis.call('ZADD', KEYS[2], due, job)
    counts['retried'] = (counts['retried'] or 0) + 1
  else
    redis.call('SET', done, outcome, 'EX', batch.ttl)
    if outcome == 'dead' then
      redis.call('XADD', KEYS[3], '*', 'job', job, 'channel', batch.channel, 'reason', reason, 'at', batch.at)
    end
    counts[outcome] = (counts[outcome] or 0) + 1
  end
end
for name, count in pairs(counts) do
  if count > 0 then redis.call('HINCRBY', KEYS[4], name, count) end
end
local ids = batch.ack
if #ids > 0 then
  redis.call('XACK', KEYS[1], batch.group, unpack(ids))
  redis.call('XDEL', KEYS[1], unpack(ids))
end
return #ids
"""

_STATE_OF = {Outcome.SENT: ChannelState.SENT, Outcome.FAILED: ChannelState.FAILED, Outcome.DEAD: ChannelState.DEAD}


class ChannelWorker(StreamConsumer):
    delete_acked = True

    def __init__(self, ctx: "AppContext", config: PushConfig, sender: Sender, *, consumer: str) -> None:
        super().__init__(ctx.redis, keys.stream(sender.name), group=keys.GROUP, dead_letters=keys.DEAD,
                         consumer=consumer, batch=config.job_batch,
                         block_ms=config.block_ms, reclaim_interval=config.reclaim_interval,
                         min_idle_ms=config.min_idle_ms, max_deliveries=config.max_deliveries)
        self.ctx = ctx
        self.config = config
        self.sender = sender
        self.channel = sender.name
        self.stats_key = keys.stats(sender.name)
        rate, burst = config.rate(sender.name)
        self.bucket = TokenBucket(ctx.redis, keys.bucket(sender.name), rate=rate, burst=burst)
        self._claim = ctx.redis.register_script(_CLAIM)
        self._move_due = ctx.redis.register_script(_MOVE_DUE)
        self._settle_script = ctx.redis.register_script(_SETTLE)
        self._next_retry_check = 0.0
        self._states: dict[str, tuple[str, str | None]] = {}  # notification id → (state, reason)
        self._msg_ids: dict[str, str] = {}

    async def run(self) -> None:
        """The consumer loop, plus its state recorder: writing states to the store runs beside
        the sends instead of between them (on SQLite it costs more than a WeCom send)."""
        recorder = asyncio.get_running_loop().create_task(self._record_loop(), name=f"push-{self.channel}-states")
        try:
            await super().run()
        finally:
            recorder.cancel()
            await asyncio.gather(recorder, return_exceptions=True)
            await self.flush_states()

    async def _record_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.state_flush_interval)
            if self._states or self._msg_ids:
                await self.flush_states()

    async def tick(self) -> None:
        if time.monotonic() >= self._next_retry_check:
            await self.move_due_retries()
            self._next_retry_check = time.monotonic() + self.config.retry_poll

    async def move_due_retries(self) -> int:
        """Put jobs whose backoff has passed back onto the stream (atomically: no job is
        both moved and left behind, whichever workers run this at the same time)."""
        return int(await self._move_due(keys=[keys.retries(self.channel), self.stream],
                                        args=[int(time.time() * 1000), self.batch]))

    async def handle(self, entries: list[Entry]) -> list[bytes]:
        jobs: list[tuple[bytes, Job]] = []
        unreadable: list[bytes] = []
        for entry_id, fields in entries:
            try:
                jobs.append((entry_id, Job.decode(fields[b"job"])))
            except (KeyError, ValueError, TypeError):
                unreadable.append(entry_id)
        if unreadable:
            log.error("push %s: %d unreadable jobs dropped", self.channel, len(unreadable))
            await self.ack(unreadable)
        position = 0
        while position < len(jobs):
            granted = await self.bucket.take(min(self.config.concurrency, len(jobs) - position))
            await self.deliver(jobs[position:position + granted])
            position += granted
        return []  # acknowledged chunk by chunk, together with each chunk's results

    async def deliver(self, chunk: list[tuple[bytes, Job]]) -> None:
        verdicts = await self._claim(keys=[keys.done(self.channel, job.notification_id) for _, job in chunk],
                                     args=[self.config.send_lease_ms,
                                           orjson.dumps([entry_id.decode() for entry_id, _ in chunk])])
        to_send: dict[str, bytes] = {}
        finished: list[bytes] = []
        for (entry_id, job), verdict in zip(chunk, verdicts):
            verdict = verdict.decode() if isinstance(verdict, bytes) else str(verdict)
            if verdict == "go":
                to_send[job.notification_id] = entry_id
            elif verdict != "mine":
                finished.append(entry_id)
        await self.bucket.refund(len(chunk) - len(to_send))
        sending = [job for entry_id, job in chunk if to_send.get(job.notification_id) == entry_id]
        results = await self.sender.send(sending) if sending else []
        await self._settle(results, to_send, finished)
        self._record(results)

    async def _settle(self, results: list[Result], entries: dict[str, bytes], skipped: list[bytes]) -> None:
        """Mark, schedule, dead-letter, count and acknowledge a chunk in one atomic script."""
        now_ms = int(time.time() * 1000)
        script_keys = [self.stream, keys.retries(self.channel), keys.DEAD, keys.stats(self.channel)]
        rows: list[list[object]] = []
        for result in results:
            job = result.job
            if result.outcome is Outcome.RETRY and job.attempt + 1 >= self.config.max_attempts:
                result.outcome, result.reason = Outcome.DEAD, f"retries exhausted: {result.reason}"
            script_keys.append(keys.done(self.channel, job.notification_id))
            if result.outcome is Outcome.RETRY:
                rows.append(["retry", result.reason, job.next_attempt().encode().decode(),
                             now_ms + self._backoff_ms(job)])
            else:
                rows.append([result.outcome.value, result.reason, job.encode().decode(), 0])
        batch = {"group": self.group, "ttl": self.config.done_ttl, "channel": self.channel, "at": now_stored(),
                 "skipped": len(skipped), "results": rows,
                 "ack": [entry.decode() for entry in (*entries.values(), *skipped)]}
        await self._settle_script(keys=script_keys, args=[orjson.dumps(batch)])

    def _backoff_ms(self, job: Job) -> int:
        delay = min(self.config.retry_max, self.config.retry_base * 2 ** job.attempt)
        return int(delay * (0.5 + random.random() / 2) * 1000)  # jitter: retries of a burst spread out

    def _record(self, results: list[Result]) -> None:
        """Note the notifications' new channel states (the latest per notification wins, so a
        retry followed by a success within one flush ends as sent); ``flush_states`` writes them."""
        for result in results:
            nid = result.job.notification_id
            if result.msg_id is not None:
                self._states.pop(nid, None)
                self._msg_ids[nid] = result.msg_id
            elif result.outcome is Outcome.RETRY:
                self._states[nid] = (ChannelState.QUEUED.value, f"retrying: {result.reason}")
            else:
                self._states[nid] = (_STATE_OF[result.outcome].value, result.reason or None)

    async def flush_states(self) -> None:
        """One write per (state, reason), one per WeChat msgid. After the acknowledgement: the
        send is done whatever happens here, and the state is informative."""
        states, self._states = self._states, {}
        msg_ids, self._msg_ids = self._msg_ids, {}
        groups: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        for nid, state_and_reason in states.items():
            groups[state_and_reason].append(nid)
        at = now_stored()
        try:
            if msg_ids:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for nid, msg_id in msg_ids.items():
                        pipe.set(keys.msg_id(self.channel, msg_id), nid, ex=keys.MSG_ID_TTL)
                    await pipe.execute()
            for nid, msg_id in msg_ids.items():
                await inbox.set_channel_fields(self.ctx.store, nid, self.channel, {
                    "state": ChannelState.SENT.value, "msg_id": msg_id, "at": at, "reason": None})
            for (state, reason), ids in groups.items():
                await inbox.bulk_set_channel_state(self.ctx.store, self.channel, ids, state, reason=reason, at=at)
        except Exception:  # noqa: BLE001
            raise_if_cancelling()
            log.exception("push %s: could not record channel states", self.channel)
