"""Per-channel rate limit: a token bucket in Redis, shared by every worker of the channel.

One Lua script refills by elapsed time (Redis's own clock, so workers on different machines
agree), grants up to the number asked for, and says how long until the next token. Workers ask
for a whole chunk at once, so the limit costs one round trip per chunk, not per message.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local granted = math.min(wanted, math.floor(tokens))
if granted < 0 then granted = 0 end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 60000)
local wait = 0
if granted < wanted then wait = math.ceil((1 - tokens) * 1000 / rate) end
return {granted, wait}
"""

_REFUND = """
local burst = tonumber(ARGV[2])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
if tokens then
  redis.call('HSET', KEYS[1], 'tokens', tostring(math.min(burst, tokens + tonumber(ARGV[1]))))
end
return 0
"""


class TokenBucket:
    def __init__(self, redis: aioredis.Redis, key: str, *, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.key = key
        self.rate = rate
        self.burst = burst
        self._take = redis.register_script(_TAKE)
        self._refund = redis.register_script(_REFUND)

    async def try_take(self, wanted: int) -> tuple[int, float]:
        """Up to ``wanted`` tokens now, and the seconds until the next one if fewer."""
        granted, wait_ms = await self._take(keys=[self.key], args=[self.rate, self.burst, wanted])
        return int(granted), int(wait_ms) / 1000

    async def take(self, wanted: int) -> int:
        """Wait until at least one token is free, then take up to ``wanted``."""
        while True:
            granted, wait = await self.try_take(wanted)
            if granted:
                return granted
            await asyncio.sleep(max(wait, 0.001))

    async def refund(self, count: int) -> None:
        """Give back tokens taken for messages that were not sent after all (duplicates)."""
        if count > 0:
            await self._refund(keys=[self.key], args=[count, self.burst])
