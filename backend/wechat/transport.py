"""HTTP calls to WeChat: timeouts, retries on network failures, ``errcode`` → exception.

Shared by ``WeChatClient`` and ``TokenProvider`` so both follow the same rules:

- Network failures are retried; ``errcode`` answers never are (a retry would give the same answer,
  and some, like a used login code, must not be repeated).
- A request that may already have reached WeChat is sent again only when that is harmless
  (``resend_safe``); for message sends only a failure to connect is retried, so that a lost
  response does not notify a citizen twice.
- Query strings carry secrets and access tokens: logs name the path only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Mapping

import aiohttp
import orjson

from backend.wechat.errors import UNREACHABLE, WeChatUnavailable, error_for

log = logging.getLogger(__name__)

# Raised before a single byte of the request left: always safe to try again.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
_NETWORK = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)


class _ServerError(Exception):
    """A 5xx from WeChat or a proxy in front of it: retried like a network failure."""


class Transport:
    def __init__(self, session: aiohttp.ClientSession, *, timeout: float = 5.0,
                 attempts: int = 3, backoff: float = 0.2) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 3.0))
        self._attempts = attempts
        self._backoff = backoff

    async def call(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
                   body: Mapping[str, Any] | None = None, resend_safe: bool = True) -> dict[str, Any]:
        """The JSON answer; raises the ``WeChatError`` family for a non-zero ``errcode``."""
        data = await self._send(method, url, params, body, resend_safe)
        errcode = data.get("errcode") or 0
        if errcode:
            raise error_for(int(errcode), str(data.get("errmsg", "")))
        return data

    async def _send(self, method: str, url: str, params: Mapping[str, str] | None,
                    body: Mapping[str, Any] | None, resend_safe: bool) -> dict[str, Any]:
        # orjson keeps Chinese as UTF-8: some WeChat APIs show \uXXXX escapes literally (menus).
        payload = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if body is not None else None
        path = url.split("?", 1)[0]
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._session.request(method, url, params=params, data=payload,
                                                 headers=headers, timeout=self._timeout) as resp:
                    if resp.status >= 500:
                        raise _ServerError(f"HTTP {resp.status}")
                    raw = await resp.read()
                    status = resp.status
            except _NOT_SENT as exc:
                failure: Exception = exc
            except (*_NETWORK, _ServerError) as exc:
                if not resend_safe:
                    raise WeChatUnavailable(UNREACHABLE, f"{path}: {exc!r} (not resent)") from exc
                failure = exc
            else:
                try:
                    data = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    data = None
                if not isinstance(data, dict):
                    raise WeChatUnavailable(UNREACHABLE, f"{path}: HTTP {status}, not a JSON object")
                return data
            if attempt >= self._attempts:
                raise WeChatUnavailable(UNREACHABLE, f"{path}: {failure!r}") from failure
            log.warning("WeChat call %s failed (%r), attempt %d of %d", path, failure, attempt, self._attempts)
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
