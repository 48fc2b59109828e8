"""Demo notices for ``yzt init-demo``: one of each interesting state, so the app shows something
on first start.

- a draft of 市住建局 (housing's to-do: 发布通知);
- a published notice of 市住建局 to three departments, a group and a named person, read by some;
- a meeting of 市住建局 in three days with replies: attending, on leave with a reason, on leave
  sending someone, and not answered yet;
- a notice of 生态环境局 to 市住建局, not read yet (housing's to-do: 阅读通知);
- a closed notice, read by some before it closed.

Idempotent: every object has a fixed id, and each step is taken only if it has not been.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterable, TypeVar

from pydantic import BaseModel

from backend.auth.tokens import Principal
from backend.clock import CHINA
from backend.identity.queries import USERS
from backend.office.notices.schemas import MeetingReplyIn, NoticeIn, OfficeGroupIn
from backend.office.notices.use_cases import (
    do_close_notice,
    do_create_notice,
    do_create_office_group,
    do_publish_notice,
    do_read_notice,
    do_reply_meeting,
)
from backend.office.notices.workflow import GROUPS, NOTICES, RECEIPTS, NoticeState, ReceiptState, receipt_id

if TYPE_CHECKING:
    from backend.context import Context

GROUP_ID = "00000000000000000c01"
DRAFT_ID = "00000000000000000a01"
PUBLISHED_ID = "00000000000000000a02"
MEETING_ID = "00000000000000000a03"
INCOMING_ID = "00000000000000000a04"
CLOSED_ID = "00000000000000000a05"
M = TypeVar("M", bound=BaseModel)
PEOPLE = ("housing", "env", "center", "shinan_admin", "officer", "committee")


async def create_demo_notices(ctx: "Context", accounts: Iterable[dict[str, Any]]) -> list[str]:
    """Make (or complete) the demo notices; returns their ids. ``accounts`` are the demo city's
    staff accounts (``backend/demo.py`` ``create_demo_city``), by ``username``."""
    names = {account["username"] for account in accounts}
    who = {name: await _principal(ctx, name) for name in PEOPLE if name in names}
    missing = [name for name in PEOPLE if name not in who]
    if missing:
        raise ValueError(f"demo notices need the demo accounts {missing}")
    housing, env = who["housing"], who["env"]

    if await ctx.store.collection(GROUPS).find_one({"_id": GROUP_ID}) is None:
        members = [who["committee"].user_id, who["shinan_admin"].user_id]
        await do_create_office_group(ctx, _valid(OfficeGroupIn, name="城市更新联络员", members=members),
                                     acting_user=housing, group_id=GROUP_ID)

    await _notice(ctx, DRAFT_ID, housing, publish=False, title="关于报送2026年度城市更新项目计划的通知",
                  body="请各单位于11月30日前报送本单位2026年度城市更新项目计划，附项目清单及资金需求。",
                  audience={"departments": ["qd-env", "qd-urban", "qd-transport"]})

    await _notice(ctx, PUBLISHED_ID, housing, title="关于开展冬季建筑工地安全生产大检查的通知",
                  body="为做好冬季建筑施工安全生产工作，定于12月开展全市建筑工地安全生产大检查，请各单位按职责配合。",
                  audience={"departments": ["qd-env", "qd-urban", "qd-mailbox"], "groups": [GROUP_ID],
                            "people": [who["committee"].user_id]})
    for reader in ("env", "officer"):
        await do_read_notice(ctx, PUBLISHED_ID, acting_user=who[reader])  # idempotent

    start = (ctx.clock.now().astimezone(CHINA) + timedelta(days=3)).replace(hour=9, minute=30, second=0,
                                                                             microsecond=0)
    await _notice(ctx, MEETING_ID, housing, kind="meeting", title="全市城市更新工作推进会",
                  body="听取各单位城市更新工作进展，部署下一阶段重点任务。请准时参加。",
                  audience={"departments": ["qd-env", "qd-urban", "qd-mailbox", "qd-shinan"],
                            "people": [who["committee"].user_id]},
                  starts_at=start, ends_at=start + timedelta(hours=2), place="市政府三楼第一会议室")
    await _reply(ctx, who["env"], attendance="attend")
    await _reply(ctx, who["shinan_admin"], attendance="attend")
    await _reply(ctx, who["center"], attendance="leave", reason="当日值守市长信箱")
    await _reply(ctx, who["officer"], attendance="leave", reason="外出执法检查", substitute={"name": "王强（执法二中队）"})
    # committee has not answered yet.

    await _notice(ctx, INCOMING_ID, env, title="关于做好冬春季扬尘污染防治工作的通知",
                  body="请各有关单位督促在建工地落实“六个百分之百”扬尘防治措施，并于每月5日前报送落实情况。",
                  audience={"departments": ["qd-housing", "qd-urban"]})
    await do_read_notice(ctx, INCOMING_ID, acting_user=who["officer"])

    await _notice(ctx, CLOSED_ID, housing, title="关于国庆假期值班安排的通知",
                  body="国庆假期值班安排见附表，请值班人员保持通讯畅通。",
                  audience={"departments": ["qd-env", "qd-urban"]}, remind_after_hours=None)
    await do_read_notice(ctx, CLOSED_ID, acting_user=who["env"])
    closed = await ctx.store.collection(NOTICES).find_one({"_id": CLOSED_ID}, projection=["state"])
    if closed is not None and closed["state"] == NoticeState.PUBLISHED:
        await do_close_notice(ctx, CLOSED_ID, acting_user=housing, expected_version=None)
    return [DRAFT_ID, PUBLISHED_ID, MEETING_ID, INCOMING_ID, CLOSED_ID]


def _valid(model: type[M], **values: Any) -> M:
    # As a request body would be validated (lax: enums and nested objects from plain values).
    return model.model_validate(values, strict=False)


async def _principal(ctx: "Context", username: str) -> Principal:
    doc = await ctx.store.collection(USERS).find_one({"username": username, "kind": "staff"})
    if doc is None:
        raise ValueError(f"no demo account {username}")
    return Principal(user_id=doc["_id"], audience="staff", roles=tuple(doc.get("roles", ())),
                     department=doc.get("department"), family="demo", jti="", issued_at=0.0, expires_at=float("inf"))


async def _notice(ctx: "Context", notice_id: str, author: Principal, *, publish: bool = True, **fields: Any) -> None:
    notices = ctx.store.collection(NOTICES)
    doc = await notices.find_one({"_id": notice_id}, projection=["state"])
    if doc is None:
        await do_create_notice(ctx, _valid(NoticeIn, **fields), acting_user=author, notice_id=notice_id)
        doc = {"state": NoticeState.DRAFT}
    if publish and doc["state"] in (NoticeState.DRAFT, NoticeState.DISTRIBUTING):
        await do_publish_notice(ctx, notice_id, acting_user=author, expected_version=None)


async def _reply(ctx: "Context", invitee: Principal, **reply: Any) -> None:
    receipt = await ctx.store.collection(RECEIPTS).find_one({"_id": receipt_id(MEETING_ID, invitee.user_id)})
    meeting = await ctx.store.collection(NOTICES).find_one({"_id": MEETING_ID}, projection=["state", "meeting"])
    if receipt is None or meeting is None or meeting["state"] != NoticeState.PUBLISHED:
        return
    if receipt["state"] not in (ReceiptState.UNREAD, ReceiptState.OPENED):
        return  # answered by an earlier run (or by the person since)
    if meeting["meeting"]["starts_at"] <= ctx.clock.stored():
        return  # a demo made days ago: its meeting has begun
    await do_reply_meeting(ctx, MEETING_ID, _valid(MeetingReplyIn, **reply), acting_user=invitee)
