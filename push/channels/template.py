"""Official Account template messages (模板消息): ``/cgi-bin/message/template/send``.

They open the mini-program page of the notification. WeChat's ``msgid`` is kept on the
notification so that the TEMPLATESENDJOBFINISH receipt can be matched to it; the notification
id goes as ``client_msg_id``, WeChat's own de-duplication key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from push.channels import Outcome, Result, send_each
from push.config import PushConfig
from push.jobs import Job

if TYPE_CHECKING:
    from backend.bootstrap import AppContext


class TemplateChannel:
    name = "template"

    def __init__(self, ctx: "AppContext", config: PushConfig) -> None:
        self.ctx = ctx

    async def send(self, jobs: list[Job]) -> list[Result]:
        return await send_each(jobs, self._one)

    async def _one(self, job: Job) -> Result:
        payload = job.payload
        msg_id = await self.ctx.wechat.send_template_message(
            job.to, payload["template_id"], payload["data"], miniprogram_page=payload.get("miniprogram_page"),
            client_msg_id=job.notification_id)
        return Result(job, Outcome.SENT, msg_id=str(msg_id))
