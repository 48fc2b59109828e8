"""WeCom app messages (企业微信应用消息) for staff: ``/cgi-bin/message/send`` with the agentid.

One call reaches up to 1,000 members (``touser`` joined by ``|``), so jobs of a chunk that carry
the same text go out together: a department-wide notice is a handful of calls, not hundreds.
The WeCom userid is the staff username. Members WeCom reports as invalid fail permanently.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from push.channels import Outcome, Result, classify
from push.config import PushConfig
from push.jobs import Job

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

MAX_RECIPIENTS = 1000


class WeComChannel:
    name = "wecom"

    def __init__(self, ctx: "AppContext", config: PushConfig) -> None:
        self.ctx = ctx

    async def send(self, jobs: list[Job]) -> list[Result]:
        calls: list[list[Job]] = []
        for text_jobs in _by_text(jobs).values():
            calls.extend(_calls(text_jobs))
        results = await asyncio.gather(*(self._call(group) for group in calls))
        return [result for group in results for result in group]

    async def _call(self, jobs: list[Job]) -> list[Result]:
        try:
            invalid = set(await self.ctx.wechat.send_wecom_message([job.to for job in jobs], "text",
                                                                   {"content": jobs[0].payload["text"]}))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - turned into an outcome for every job of the call
            outcome, reason = classify(exc)
            return [Result(job, outcome, reason) for job in jobs]
        return [Result(job, Outcome.FAILED, "invalid_user") if job.to in invalid else Result(job, Outcome.SENT)
                for job in jobs]


def _by_text(jobs: list[Job]) -> dict[str, list[Job]]:
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.payload.get("text", ""), []).append(job)
    return groups


def _calls(jobs: list[Job]) -> list[list[Job]]:
    """Calls of at most 1,000 distinct members: WeCom sends once per member per call, so the
    same member twice (two notifications with the same text) needs two calls."""
    calls: list[tuple[list[Job], set[str]]] = []
    for job in jobs:
        target = next((call for call in calls if len(call[0]) < MAX_RECIPIENTS and job.to not in call[1]), None)
        if target is None:
            target = ([], set())
            calls.append(target)
        target[0].append(job)
        target[1].add(job.to)
    return [call for call, _ in calls]
