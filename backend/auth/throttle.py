"""Staff login throttling (登录限速): growing delays per (username, client) and per client, never a lock.

Why this shape. A lock on the account lets any stranger lock any official out, forever, by
failing five times every quarter hour; and answering a locked account differently from an unknown
name tells the stranger which names exist. So nothing here depends on the account: the counters
are keyed by the username as typed (real or not) with the client, and by the client alone, and
a victim on another client is never slowed by them.

The schedule. Each counter admits ``free`` failed attempts; from then on every attempt that is
admitted makes the next one wait ``delay × 2^(k-1)`` seconds (k = failures beyond ``free``),
at most ``max_delay``; a counter is forgotten ``forget`` seconds after its last attempt. An
attempt is counted *before* its password is checked and taken back if it succeeds, so a burst
of parallel guesses cannot slip past the count. Time is the app clock (``backend.clock``), so
tests move it instead of sleeping.

Privacy. Keys are keyed hashes (the personal-data look-up key): Redis holds neither usernames
nor client addresses, and nothing here logs either.

Redis unavailable: each process throttles on its own, in a bounded dict, and logins go on.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from backend.clock import Clock
from backend.errors import RateLimited

log = logging.getLogger(__name__)

_PREFIX = "yzt:login:"
_WATCH_RETRIES = 8
_MEMORY_LIMIT = 100_000


class LoginThrottled(RateLimited):
    code = "login_throttled"
    message = "登录尝试过于频繁，请稍后再试"


@dataclass(frozen=True)
class Schedule:
    free: int
    delay: float
    max_delay: float
    forget: float

    def wait_after(self, failures: int) -> float:
        """Seconds the next attempt waits once ``failures`` are counted."""
        beyond = failures - self.free
        return 0.0 if beyond <= 0 else min(self.delay * 2 ** (beyond - 1), self.max_delay)


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[str, ...]) -> str:
    """Who is asking: the connection's peer, unless the peer is a trusted proxy (``YZT_TRUSTED_PROXIES``),
    then the right-most address in ``X-Forwarded-For`` that is not a trusted proxy. A client can put
    anything on the left of that header, so nothing there is believed. IPv6 counts by /64, which one
    subscriber usually holds whole."""
    networks = [ipaddress.ip_network(entry, strict=False) for entry in trusted]
    chosen = _address(peer)
    if chosen is not None and forwarded_for and any(chosen in net for net in networks):
        for hop in reversed(forwarded_for.split(",")):
            candidate = _address(hop.strip())
            if candidate is None:
                break
            chosen = candidate
            if not any(candidate in net for net in networks):
                break
    if chosen is None:
        return peer or "unknown"
    if chosen.version == 6:
        return str(ipaddress.ip_network(f"{chosen}/64", strict=False))
    return str(chosen)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text or "")
    except ValueError:
        return None


class LoginThrottle:
    def __init__(self, *, redis: aioredis.Redis, pair: Schedule, client: Schedule,
                 digest: Callable[[str], str], clock: Clock) -> None:
        self._redis = redis
        self._clock = clock
        self._pair = pair
        self._client = client
        self._digest = digest  # keyed hash: no username or address reaches Redis
        self._memory: dict[str, tuple[int, float, float]] = {}  # key → (failures, until, forget at)
        self._redis_down = False

    def _keys(self, username: str, client: str) -> list[tuple[str, Schedule]]:
        return [(f"{_PREFIX}p:{self._digest(username + chr(0) + client)}", self._pair),
                (f"{_PREFIX}c:{self._digest(client)}", self._client)]

    async def admit(self, username: str, client: str) -> None:
        """Count an attempt, or raise ``LoginThrottled`` (with Retry-After) if it must wait."""
        keys = self._keys(username, client)
        now = self._clock.now().timestamp()
        try:
            wait = await self._admit_redis(keys, now)
            self._redis_back()
        except (OSError, aioredis.RedisError) as exc:
            self._redis_lost(exc)
            wait = self._admit_memory(keys, now)
        if wait > 0:
            raise LoginThrottled(retry_after=max(1, math.ceil(wait)))

    async def succeeded(self, username: str, client: str) -> None:
        """The attempt was right: the pair starts afresh; the client's count takes this attempt back."""
        (pair_key, _), (client_key, _) = self._keys(username, client)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(pair_key)
                pipe.hincrby(client_key, "f", -1)
                _, left = await pipe.execute()
            if left < 0:  # the counter was forgotten meanwhile: do not leave one behind without a TTL
                await self._redis.delete(client_key)
        except (OSError, aioredis.RedisError) as exc:
            self._redis_lost(exc)
        self._memory.pop(pair_key, None)
        if client_key in self._memory:
            failures, until, forget_at = self._memory[client_key]
            self._memory[client_key] = (max(0, failures - 1), until, forget_at)

    async def _admit_redis(self, keys: list[tuple[str, Schedule]], now: float) -> float:
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_WATCH_RETRIES):
                try:
                    await pipe.watch(*(key for key, _ in keys))
                    counted = [await pipe.hmget(key, "f", "u") for key, _ in keys]  # immediate while watching
                    wait = max(float(until or 0) - now for _, until in counted)
                    if wait > 0:
                        await pipe.reset()
                        return wait
                    pipe.multi()
                    for (key, schedule), (failures, _) in zip(keys, counted):
                        failures = max(0, int(failures or 0)) + 1
                        pause = schedule.wait_after(failures)
                        pipe.hset(key, mapping={"f": failures, "u": now + pause if pause else 0})
                        pipe.expire(key, math.ceil(schedule.forget + pause))
                    await pipe.execute()
                    return 0.0
                except WatchError:
                    continue  # another attempt on the same counters meanwhile: read again
        return 1.0  # still contended: the caller tries again in a second

    def _admit_memory(self, keys: list[tuple[str, Schedule]], now: float) -> float:
        counted = [self._memory.get(key) for key, _ in keys]
        counted = [entry if entry and entry[2] > now else None for entry in counted]
        wait = max((entry[1] - now for entry in counted if entry), default=0.0)
        if wait > 0:
            return wait
        if len(self._memory) >= _MEMORY_LIMIT:
            self._memory = {k: v for k, v in self._memory.items() if v[2] > now}
            while len(self._memory) >= _MEMORY_LIMIT:
                del self._memory[next(iter(self._memory))]  # the oldest first
        for (key, schedule), entry in zip(keys, counted):
            failures = (entry[0] if entry else 0) + 1
            pause = schedule.wait_after(failures)
            self._memory.pop(key, None)  # re-inserted last: dict order is age order
            self._memory[key] = (failures, now + pause, now + schedule.forget + pause)
        return 0.0

    def _redis_lost(self, exc: BaseException) -> None:
        if not self._redis_down:
            self._redis_down = True
            log.warning("login throttle: Redis unavailable (%s); throttling in this process only", type(exc).__name__)

    def _redis_back(self) -> None:
        if self._redis_down:
            self._redis_down = False
            log.info("login throttle: Redis available again")
