"""Mini-program subscribe messages (订阅消息): ``/cgi-bin/message/subscribe/send``.

The quota unit was spent when the job was queued; 43101 means WeChat disagrees with our count
(the user also answered elsewhere, or a long-term subscription was switched off), so the quota
is set to 0 and further messages skip this channel until the user accepts again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.notifications import use_cases as inbox
from backend.wechat.errors import NoSubscription
from push.channels import Outcome, Result, send_each
from push.config import PushConfig
from push.jobs import Job

if TYPE_CHECKING:
    from backend.bootstrap import AppContext


class SubscribeChannel:
    name = "subscribe"

    def __init__(self, ctx: "AppContext", config: PushConfig) -> None:
        self.ctx = ctx
        self.config = config

    async def send(self, jobs: list[Job]) -> list[Result]:
        return await send_each(jobs, self._one)

    async def _one(self, job: Job) -> Result:
        payload = job.payload
        try:
            await self.ctx.wechat.send_subscribe_message(job.to, payload["template_id"], payload["data"],
                                                         page=payload.get("page"),
                                                         miniprogram_state=self.config.miniprogram_state)
        except NoSubscription:
            await inbox.exhaust_subscription(self.ctx.store, job.user_id, payload["template_id"])
            raise
        return Result(job, Outcome.SENT)
