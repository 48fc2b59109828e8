"""Meeting notices through HTTP: replies (参会 / 请假 with a substitute, a colleague or a name),
changed until the meeting starts and refused after, the organiser's list, the substitute told,
and the meeting closing by itself when it ends."""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.clock import CHINA
from backend.office.notices.use_cases import run_notice_jobs
from tests.conftest import Harness
from tests.office.kit_notices import add_staff, login, meeting_body, user_id
from tests.office.test_notices import NOTICES, of_type, todos, users


async def test_a_meeting_from_invitation_to_its_list(harness: Harness) -> None:
    housing = await harness.staff("housing")
    env = await harness.staff("env")
    people = {"env": await user_id(harness, "env"), **await add_staff(harness, "qd-env", "env_a", "env_b"),
              **await add_staff(harness, "qd-transport", "tr_a", "tr_b")}
    start = (datetime.now(CHINA) + timedelta(days=3)).replace(hour=9, minute=30, second=0, microsecond=0)
    audience = {"departments": ["qd-transport"], "people": [people["env_a"], people["env_b"]]}
    draft = await housing.post(NOTICES, meeting_body(start, audience=audience))
    assert draft.status == 201, draft.body
    assert draft.body["meeting"] == {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
                                     "place": "市政府三楼第一会议室"}
    notice_id = draft.body["id"]
    assert (await housing.post(f"{NOTICES}/{notice_id}/publish")).status == 200
    (told,) = of_type(await harness.settle(), "notice.published", notice_id)
    assert told["data"]["kind_label"] == "会议通知" and "市政府三楼第一会议室" in told["data"]["summary"]
    assert users(told) == {people["env_a"], people["env_b"]}

    env_a, env_b = await login(harness, people["env_a"]), await login(harness, people["env_b"])
    tr_a, tr_b = await login(harness, people["tr_a"]), await login(harness, people["tr_b"])
    mine = f"{notice_id}-{people['env_a']}"
    assert await todos(harness, env_a, notice_id) == [(mine, "回复参会", "reply")]
    opened = await env_a.post(f"{NOTICES}/{notice_id}/read")
    assert opened.body["my_receipt"]["state"] == "opened" and opened.body["receipt_actions"] == ["reply"]
    assert await todos(harness, env_a, notice_id) == [(mine, "回复参会", "reply")]  # read is not answered
    reminded = await housing.post(f"{NOTICES}/{notice_id}/reminders", {})
    assert reminded.status == 200 and reminded.body["reminded"] == 5  # env_a too: read, not answered

    # Refused with nothing stored: leave without a reason, a substitute from another department, or oneself.
    before = await harness.ctx.store.collection("office_notice_receipts").find_one({"_id": mine})
    for bad, code in (({"attendance": "leave"}, "validation_failed"),
                      ({"attendance": "attend", "reason": "出差"}, "validation_failed"),
                      ({"attendance": "leave", "reason": "出差", "substitute": {"user_id": people["tr_a"]}},
                       "invalid_substitute"),
                      ({"attendance": "leave", "reason": "出差", "substitute": {"user_id": people["env_a"]}},
                       "invalid_substitute"),
                      ({"attendance": "leave", "reason": "出差", "substitute": {"name": "王五", "user_id": people["env"]}},
                       "validation_failed")):
        resp = await env_a.post(f"{NOTICES}/{notice_id}/reply", bad)
        assert resp.status == 400 and resp.error_code == code, (bad, resp.body)
    assert await harness.ctx.store.collection("office_notice_receipts").find_one({"_id": mine}) == before

    # 请假, sending a colleague: the colleague is told.
    leave = await env_a.post(f"{NOTICES}/{notice_id}/reply",
                             {"attendance": "leave", "reason": "同一时间参加省厅会议", "substitute": {"user_id": people["env"]}})
    assert leave.status == 200 and leave.body["my_receipt"]["state"] == "on_leave", leave.body
    assert leave.body["my_receipt"]["reply"]["substitute"] == {"user_id": people["env"], "name": "生态环境局经办人"}
    events = await harness.settle()
    (named,) = of_type(events, "notice.substitute_named", notice_id)
    assert users(named) == {people["env"]} and named["data"]["requester_name"] == "env_a"
    assert named["data"]["notice_id"] == notice_id and named["data"]["place"] == "市政府三楼第一会议室"
    assert await todos(harness, env_a, notice_id) == []
    # The same reply again changes nothing; the substitute is not an invitee and cannot answer.
    same = await env_a.post(f"{NOTICES}/{notice_id}/reply",
                            {"attendance": "leave", "reason": "同一时间参加省厅会议", "substitute": {"user_id": people["env"]}})
    assert same.body["my_receipt"] == leave.body["my_receipt"]
    replied = of_type(events, "notice_receipt.replied", notice_id)
    assert of_type(await harness.settle(), "notice_receipt.replied", notice_id) == replied
    assert (await env.post(f"{NOTICES}/{notice_id}/reply", {"attendance": "attend"})).status == 404

    # A name as free text, then a change of mind; tr_a attends, tr_b does not answer.
    by_name = await env_b.post(f"{NOTICES}/{notice_id}/reply",
                               {"attendance": "leave", "reason": "病假", "substitute": {"name": "王五"}})
    assert by_name.body["my_receipt"]["reply"]["substitute"] == {"user_id": None, "name": "王五"}
    changed = await env_b.post(f"{NOTICES}/{notice_id}/reply", {"attendance": "attend"})
    assert changed.status == 200 and changed.body["my_receipt"]["state"] == "attending"
    assert changed.body["my_receipt"]["reply"]["substitute"] is None
    assert (await tr_a.post(f"{NOTICES}/{notice_id}/reply", {"attendance": "attend"})).status == 200

    # The organiser's list.
    listed = await housing.get(f"{NOTICES}/{notice_id}/attendance")
    assert listed.status == 200 and listed.body["counts"] == {"attending": 2, "on_leave": 1, "no_reply": 2}
    rows = {item["name"]: item for item in listed.body["items"]}
    assert {name: row["reply"] for name, row in rows.items()} == {"env_a": "leave", "env_b": "attend",
                                                                  "tr_a": "attend", "tr_b": "none", "交通局经办人": "none"}
    assert rows["env_a"]["substitute"]["user_id"] == people["env"] and rows["env_a"]["reason"] == "同一时间参加省厅会议"
    assert rows["env_a"]["reply_label"] == "请假" and rows["tr_b"]["reply_label"] == "未回复"
    on_leave = await housing.get(f"{NOTICES}/{notice_id}/attendance", params={"reply": "on_leave"})
    assert [item["name"] for item in on_leave.body["items"]] == ["env_a"]
    silent = await housing.get(f"{NOTICES}/{notice_id}/attendance", params={"reply": "no_reply"})
    assert [item["name"] for item in silent.body["items"]] == ["交通局经办人", "tr_b"]
    assert (await env_a.get(f"{NOTICES}/{notice_id}/attendance")).error_code == "not_issuing_department"
    summary = (await housing.get(f"{NOTICES}/{notice_id}/receipts/summary")).body
    assert summary["attendance"] == listed.body["counts"] and (summary["read"], summary["unread"]) == (3, 2)

    # After the start nothing changes any more; at its end the meeting closes by itself.
    harness.ctx.clock.travel(start + timedelta(minutes=1))
    try:
        late = await tr_b.post(f"{NOTICES}/{notice_id}/reply", {"attendance": "attend"})
        assert late.status == 409 and late.error_code == "meeting_started"
        assert (await env_a.post(f"{NOTICES}/{notice_id}/reply", {"attendance": "attend"})).error_code == "meeting_started"
        await run_notice_jobs(harness.ctx)
        assert (await housing.get(f"{NOTICES}/{notice_id}")).body["state"] == "published"  # under way
        harness.ctx.clock.travel(start + timedelta(hours=2, minutes=1))
        assert (await run_notice_jobs(harness.ctx))["closed"] >= 1
    finally:
        harness.ctx.clock.travel_back()
    assert await todos(harness, tr_b, notice_id) == []
    final = (await housing.get(f"{NOTICES}/{notice_id}/attendance")).body
    assert final["counts"] == {"attending": 2, "on_leave": 1, "no_reply": 2}
    assert (await housing.get(f"{NOTICES}/{notice_id}")).body["state"] == "closed"


async def test_a_meeting_in_the_past_is_refused(harness: Harness) -> None:
    housing = await harness.staff("housing")
    past = datetime.now(CHINA) - timedelta(hours=1)
    resp = await housing.post(NOTICES, meeting_body(past))
    assert resp.status == 400 and resp.body["error"]["details"]["fields"][0]["field"] == "starts_at"
    soon = await housing.post(NOTICES, meeting_body(datetime.now(CHINA) + timedelta(hours=1)))
    harness.ctx.clock.travel(datetime.now(CHINA) + timedelta(hours=2))
    try:  # drafted in time, published too late
        late = await housing.post(f"{NOTICES}/{soon.body['id']}/publish")
        assert late.status == 409 and late.error_code == "meeting_in_past"
    finally:
        harness.ctx.clock.travel_back()
    notice = await housing.post(NOTICES, {**meeting_body(), "kind": "notice", "starts_at": None, "ends_at": None,
                                          "place": None})
    assert notice.status == 201
    assert (await housing.get(f"{NOTICES}/{notice.body['id']}/attendance")).error_code == "not_a_meeting"
