"""Revocation without a Redis round trip on the hot path.

Revocations (a token's ``jti``, a refresh-token family, or every token of a user issued before
a moment) are appended to one Redis stream. Each process keeps the unexpired ones in memory and
follows the stream with a blocking XREAD, so a revocation reaches every process within the
time of one stream read (well under a second) while a token check stays a dict look-up.

While Redis is unavailable a revocation holds in this process at once and waits in memory; it is
published as soon as the stream answers again (a restart of this process meanwhile loses it for
the others: their copies of the access token stay valid until it expires, its refresh tokens are
revoked in the store regardless).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress

import redis.asyncio as aioredis

from backend.tasks import raise_if_cancelling

log = logging.getLogger(__name__)

STREAM = "yzt:revocations"
_MAX_ENTRIES = 200_000


class RevocationList:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._revoked: dict[str, float] = {}  # "jti:<id>" / "fam:<id>" → expiry (epoch s)
        self._users_not_before: dict[str, float] = {}
        self._last_id = "0-0"
        self._unpublished: list[dict[str, str]] = []  # made while Redis was unavailable, oldest first
        self._publishing = asyncio.Lock()
        self.synced = asyncio.Event()

    def is_revoked(self, *, jti: str, family: str, user_id: str, issued_at: float) -> bool:
        if f"jti:{jti}" in self._revoked or f"fam:{family}" in self._revoked:
            return True
        not_before = self._users_not_before.get(user_id)
        # Both sides in whole milliseconds (tokens carry ``iat`` to the millisecond, see tokens.py):
        # compared in seconds, a token issued in the same second just after a role change was refused.
        # A token of the very millisecond of the change is refused: it may carry the old rights.
        return not_before is not None and to_ms(issued_at) <= to_ms(not_before)

    async def revoke_token(self, jti: str, expires_at: float) -> None:
        await self._publish("jti", jti, expires_at)

    async def revoke_family(self, family: str, expires_at: float) -> None:
        await self._publish("fam", family, expires_at)

    async def revoke_user(self, user_id: str, expires_at: float) -> None:
        """Every token of the user issued before now (password change, account disabled)."""
        await self._publish("user", user_id, expires_at, at=now_ms() / 1000)

    async def _publish(self, kind: str, value: str, expires_at: float, at: float = 0.0) -> None:
        entry = {"kind": kind, "value": value, "exp": str(expires_at), "at": str(at)}
        self._apply(entry)  # this process at once, whatever Redis says
        self._unpublished.append(entry)
        if len(self._unpublished) > _MAX_ENTRIES:
            del self._unpublished[0]
        await self._flush()

    async def _flush(self) -> None:
        """Publish the waiting revocations, oldest first; stop at the first Redis failure (the
        follower calls this again once the stream answers). A flush already running publishes
        what was appended meanwhile."""
        if self._publishing.locked():
            return
        async with self._publishing:
            while self._unpublished:
                entry = self._unpublished[0]
                if float(entry["exp"]) >= time.time():
                    try:
                        await self._redis.xadd(STREAM, entry, maxlen=_MAX_ENTRIES, approximate=True)
                    except (OSError, aioredis.RedisError):
                        log.error("%d revocation(s) not published yet: Redis unavailable; kept until it answers",
                                  len(self._unpublished))
                        return
                self._unpublished.pop(0)

    def _apply(self, entry: dict[str, str]) -> None:
        expires_at = float(entry["exp"])
        if expires_at < time.time():
            return
        if entry["kind"] == "user":
            at = float(entry["at"])
            self._users_not_before[entry["value"]] = max(self._users_not_before.get(entry["value"], 0.0), at)
        else:
            self._revoked[f"{entry['kind']}:{entry['value']}"] = expires_at

    def _forget_expired(self) -> None:
        now = time.time()
        self._revoked = {key: exp for key, exp in self._revoked.items() if exp >= now}

    async def follow(self) -> None:
        """Owned background task: load the stream, then follow it until cancelled."""
        backoff = 0.1
        while True:
            try:
                replies = await self._redis.xread({STREAM: self._last_id}, count=1000, block=1000)
                backoff = 0.1
                if self._unpublished:
                    await self._flush()
                for _stream, entries in replies or []:
                    for entry_id, fields in entries:
                        self._last_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                        self._apply({_text(k): _text(v) for k, v in fields.items()})
                if not replies:
                    self.synced.set()
                    self._forget_expired()
            except asyncio.CancelledError:
                raise
            except (OSError, aioredis.RedisError) as exc:
                raise_if_cancelling()
                if backoff == 0.1:  # once per outage, not on every retry
                    log.warning("revocation stream unavailable (%s); retrying", exc)
                with suppress(asyncio.TimeoutError):
                    await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)


def now_ms() -> int:
    """Now, in whole milliseconds: the precision of token issue times and user revocations."""
    return time.time_ns() // 1_000_000


def to_ms(seconds: float) -> int:
    return round(seconds * 1000)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
