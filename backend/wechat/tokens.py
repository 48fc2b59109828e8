"""Access tokens: one per app, fetched by one refresher at a time, shared through Redis.

WeChat's rule (WECHAT.md §3): servers that each fetch their own token overwrite each other's, so
a fetch must be rare and central. Here every process reads the token from Redis; when it is
missing, close to expiry (``refresh_ahead``) or reported stale by WeChat, exactly one caller
fetches it:

- in a process, concurrent callers share one in-flight fetch (single-flight);
- across processes, the fetcher holds a Redis lock (SET NX PX); the others keep using the current
  token while it is still valid, or wait for the new one.

The Official Account and the mini-program use ``/cgi-bin/stable_token`` (repeated calls return
the same token; no ``force_refresh``, which is limited to 20 a day). WeCom uses ``/cgi-bin/gettoken``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Callable

import aiohttp
import orjson
import redis.asyncio as aioredis

from backend.config import Settings
from backend.wechat.errors import UNREACHABLE, WeChatUnavailable, error_for
from backend.wechat.transport import Transport

log = logging.getLogger(__name__)

# Deletes the lock only if we still own it (it may have expired and been taken by another).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class App(StrEnum):
    OA = "oa"  # Official Account (公众号)
    MP = "mp"  # mini-program (小程序)
    WECOM = "wecom"  # WeCom (企业微信) self-built app


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # epoch seconds, shared by every process


class TokenProvider:
    """The only place that obtains access tokens. Create one per process at start-up."""

    def __init__(self, *, redis: aioredis.Redis, session: aiohttp.ClientSession, settings: Settings,
                 key_prefix: str = "yzt:wechat:token", refresh_ahead: float = 300.0,
                 lock_ttl: float = 20.0, timeout: float = 5.0, attempts: int = 3,
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._transport = Transport(session, timeout=timeout, attempts=attempts)
        self._settings = settings
        self._prefix = key_prefix
        self._ahead = refresh_ahead
        # Must outlive one fetch with all its retries, so that no second fetcher starts meanwhile.
        self._lock_ttl = max(lock_ttl, timeout * attempts + 1.0)
        self._clock = clock
        self._local: dict[App, _Token] = {}
        self._inflight: dict[App, asyncio.Task[str]] = {}

    async def get(self, app: App) -> str:
        """A valid token; served from memory while fresh, so the hot path costs no Redis call."""
        cached = self._local.get(app)
        if cached is not None and self._fresh(cached):
            return cached.value
        return await self._single_flight(app, stale=None)

    async def refresh(self, app: App, stale: str) -> str:
        """A token other than ``stale``, which WeChat has just rejected (40001/40014/42001).

        Callers that report the same stale token concurrently cause one fetch between them."""
        cached = self._local.get(app)
        if cached is not None and cached.value == stale:
            del self._local[app]
        token = await self._single_flight(app, stale)
        if token == stale:  # we joined a flight that began before WeChat rejected the token
            token = await self._single_flight(app, stale)
        return token

    def _fresh(self, token: _Token) -> bool:
        return token.expires_at - self._clock() > self._ahead

    async def _single_flight(self, app: App, stale: str | None) -> str:
        task = self._inflight.get(app)
        if task is None:
            task = asyncio.create_task(self._obtain(app, stale), name=f"wechat-token-{app}")
            self._inflight[app] = task
            task.add_done_callback(lambda done: self._landed(app, done))
        # shield: one caller giving up must not cancel the fetch the others wait for
        return await asyncio.shield(task)

    def _landed(self, app: App, task: asyncio.Task[str]) -> None:
        if self._inflight.get(app) is task:
            del self._inflight[app]
        if not task.cancelled():
            task.exception()  # retrieved here so that a failure nobody awaited is not logged as lost

    async def _obtain(self, app: App, stale: str | None) -> str:
        key, lock = f"{self._prefix}:{app}", f"{self._prefix}:{app}:lock"
        give_up = time.monotonic() + self._lock_ttl + 2.0  # past the lock of a holder that died
        while True:
            current = await self._read(key)
            if current is not None and current.value != stale and self._fresh(current):
                return self._keep(app, current)
            owner = secrets.token_hex(8)
            if await self._redis.set(lock, owner, nx=True, px=int(self._lock_ttl * 1000)):
                try:
                    return await self._fetch_and_store(app, key, stale)
                finally:
                    await self._redis.eval(_RELEASE, 1, lock, owner)
            # Another process is fetching. Its predecessor token still works until it expires.
            if current is not None and current.value != stale and current.expires_at > self._clock():
                return current.value
            if time.monotonic() > give_up:
                raise WeChatUnavailable(UNREACHABLE, f"timed out waiting for the {app} token refresh")
            await asyncio.sleep(0.05)

    async def _fetch_and_store(self, app: App, key: str, stale: str | None) -> str:
        current = await self._read(key)  # the previous lock holder may have stored it just now
        if current is not None and current.value != stale and self._fresh(current):
            return self._keep(app, current)
        value, expires_in = await self._fetch(app)
        token = _Token(value, self._clock() + expires_in)
        await self._redis.set(key, orjson.dumps({"token": token.value, "expires_at": token.expires_at}),
                              px=max(int(expires_in * 1000), 1))
        log.info("fetched a new %s access token (expires in %d s)", app, expires_in)
        return self._keep(app, token)

    def _keep(self, app: App, token: _Token) -> str:
        self._local[app] = token
        return token.value

    async def _read(self, key: str) -> _Token | None:
        raw = await self._redis.get(key)
        if raw is None:
            return None
        data = orjson.loads(raw)
        return _Token(data["token"], float(data["expires_at"]))

    async def _fetch(self, app: App) -> tuple[str, int]:
        s = self._settings
        if app is App.WECOM:
            _require(s.wecom_corpid, s.wecom_secret, "YZT_WECOM_CORPID", "YZT_WECOM_SECRET")
            data = await self._transport.call(
                "GET", f"{s.wecom_api_base}/cgi-bin/gettoken",
                params={"corpid": s.wecom_corpid, "corpsecret": s.wecom_secret})
        else:
            appid, secret = (s.oa_appid, s.oa_secret) if app is App.OA else (s.mp_appid, s.mp_secret)
            prefix = "YZT_OA" if app is App.OA else "YZT_MP"
            _require(appid, secret, f"{prefix}_APPID", f"{prefix}_SECRET")
            data = await self._transport.call(
                "POST", f"{s.wechat_api_base}/cgi-bin/stable_token",
                body={"grant_type": "client_credential", "appid": appid, "secret": secret,
                      "force_refresh": False})
        return str(data["access_token"]), int(data["expires_in"])


def _require(appid: str, secret: str, appid_name: str, secret_name: str) -> None:
    if not appid or not secret:
        raise error_for(41002, f"{appid_name} and {secret_name} must be set")
