"""Notices' part of the office kit: valid bodies per request model, a group and a published meeting
notice of 市住建局 (qd-housing) sent to other departments but never to 生态环境局 (qd-env), and
the helpers the notices' tests share (extra staff accounts, logins without passwords)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.clock import CHINA, now_stored

MEETING_START = (datetime.now(CHINA) + timedelta(days=30)).replace(hour=9, minute=0, second=0, microsecond=0)


def notice_body(**changes: Any) -> dict[str, Any]:
    body = {"title": "关于开展汛期安全检查的通知", "body": "请各单位于本周内完成辖区在建工地汛期安全检查，并报送检查情况。",
            "audience": {"departments": ["qd-urban"]}}
    return {**body, **changes}


def meeting_body(start: datetime = MEETING_START, **changes: Any) -> dict[str, Any]:
    body = {"kind": "meeting", "title": "全市城市更新工作推进会", "body": "请准时参加，会前准备本单位工作进展情况。",
            "audience": {"departments": ["qd-urban"]}, "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(), "place": "市政府三楼第一会议室"}
    return {**body, **changes}


BODIES: dict[str, dict[str, Any]] = {
    "NoticeIn": notice_body(),
    "NoticeWithdrawIn": {"reason": "内容有误，另行通知"},
    "NoticeReminderIn": {},
    "MeetingReplyIn": {"attendance": "attend"},
    "OfficeGroupIn": {"name": "应急联络员", "members": []},  # a member is filled in by make()
    "OfficeGroupUpdateIn": {"name": "应急联络员（调整）"},
}
OBJECT_PARAMS: frozenset[str] = frozenset({"notice_id", "office_group_id"})


async def user_id(harness: Any, username: str) -> str:
    doc = await harness.ctx.store.collection("users").find_one({"username": username}, projection=["_id"])
    assert doc is not None, username
    return doc["_id"]


async def add_staff(harness: Any, department: str, *names: str, disabled: bool = False) -> dict[str, str]:
    """Staff accounts written straight into ``users`` (no password: they log in through
    ``login``), name → id."""
    from backend.ids import new_id  # noqa: PLC0415

    now = now_stored()
    docs = [{"_id": new_id(), "kind": "staff", "username": f"t-{name}", "name": name, "roles": ["staff"],
             "department": department, "disabled": disabled, "version": 1, "created_at": now, "updated_at": now}
            for name in names]
    await harness.ctx.store.collection("users").insert_many(docs)
    return {doc["name"]: doc["_id"] for doc in docs}


async def login(harness: Any, user_id_: str) -> Any:
    """A staff client for an account made by ``add_staff`` (a token issued as a login would)."""
    user = await harness.ctx.store.collection("users").find_one({"_id": user_id_})
    pair = await harness.ctx.tokens.issue_pair(user, "staff")
    return harness.client.as_(pair["access_token"])


async def make(harness: Any) -> dict[str, str]:
    housing = await harness.staff("housing")
    committee, shinan = await user_id(harness, "committee"), await user_id(harness, "shinan_admin")
    # The matrix posts this body as several departments' staff: each may make this group.
    BODIES["OfficeGroupIn"]["members"] = [committee]
    group = await housing.post("/api/v1/office/groups", {"name": "政协联络组", "members": [committee]})
    assert group.status == 201, group.body
    audience = {"departments": ["qd-urban", "qd-mailbox"], "groups": [group.body["id"]], "people": [shinan]}
    meeting = await housing.post("/api/v1/office/notices", meeting_body(audience=audience))
    assert meeting.status == 201, meeting.body
    published = await housing.post(f"/api/v1/office/notices/{meeting.body['id']}/publish")
    assert published.status == 200, published.body
    return {"notice_id": meeting.body["id"], "office_group_id": group.body["id"]}
