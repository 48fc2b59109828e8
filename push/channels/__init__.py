"""The outside channels: each sends a list of jobs and says, per job, what happened.

``Outcome`` decides what delivery does next (WECHAT.md §3–4 for the codes):

- ``SENT``;
- ``RETRY``: transient, tried again with backoff: network failures and -1 (system busy),
  45009/45011/45047 (rate limits), a token WeChat still rejects after one refresh;
- ``FAILED``: a permanent answer about the recipient, recorded on the notification and not
  retried or dead-lettered: 43101 (no subscription left; quota set to 0), 43004 (not a
  follower), 40226 (blocked user), a WeCom user that does not exist;
- ``DEAD``: permanent and someone must look at it (our template, data or configuration is
  wrong: 40003, 40037, 47003, 41030, an unknown code, a bug): the dead-letter stream, from
  which an administrator re-drives it once fixed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Awaitable, Callable, Protocol

import aiohttp

from backend.wechat.errors import (
    AccessTokenInvalid,
    InvalidArgument,
    NoSubscription,
    NotFollower,
    UserBlocked,
    WeChatError,
    WeChatRateLimited,
    WeChatUnavailable,
)
from push.jobs import Job


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    DEAD = "dead"


@dataclass
class Result:
    job: Job
    outcome: Outcome
    reason: str = ""
    msg_id: str | None = None


class Sender(Protocol):
    name: str

    async def send(self, jobs: list[Job]) -> list[Result]:
        """One result per job, in any order; never raises for a job's failure."""


def classify(exc: BaseException) -> tuple[Outcome, str]:
    if isinstance(exc, (WeChatUnavailable, WeChatRateLimited, AccessTokenInvalid)):
        return Outcome.RETRY, f"{exc.errcode} {exc.errmsg}".strip()[:200]
    if isinstance(exc, NoSubscription):
        return Outcome.FAILED, "no_subscription"
    if isinstance(exc, NotFollower):
        return Outcome.FAILED, "not_follower"
    if isinstance(exc, UserBlocked):
        return Outcome.FAILED, "user_blocked"
    if isinstance(exc, (InvalidArgument, WeChatError)):
        return Outcome.DEAD, f"{exc.errcode} {exc.errmsg}".strip()[:200]
    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return Outcome.RETRY, f"network: {exc!r}"[:200]
    return Outcome.DEAD, f"internal: {exc!r}"[:200]


async def send_each(jobs: list[Job], send_one: Callable[[Job], Awaitable[Result]]) -> list[Result]:
    """Send jobs one call each, concurrently (the worker bounds how many per chunk)."""
    async def guarded(job: Job) -> Result:
        try:
            return await send_one(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - turned into an outcome
            outcome, reason = classify(exc)
            return Result(job, outcome, reason)

    return list(await asyncio.gather(*(guarded(job) for job in jobs)))
