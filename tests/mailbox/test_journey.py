"""The mailbox journey through HTTP, from a citizen's letter to a closed case."""

from __future__ import annotations

import re

from tests.conftest import Harness
from tests.mailbox.conftest import PNG, dispatch, published_events, write_letter


async def test_letter_journey(harness: Harness, center) -> None:
    citizen = await harness.citizen("li_si")
    upload = await citizen.post("/mp/v1/files", raw=PNG, headers={"Content-Type": "image/png"},
                                params={"filename": "../../etc/现场照片.png"})
    assert upload.status == 201, upload.body
    assert upload.body["filename"] == "现场照片.png"

    # The citizen writes; a tracking number comes back at once.
    letter = await write_letter(citizen, attachments=[upload.body["id"]])
    letter_id = letter["id"]
    assert re.fullmatch(r"XJ-\d{8}-\d{6}", letter["tracking_no"])
    assert letter["state"] == "submitted" and letter["attachments"][0]["content_type"] == "image/png"

    # The centre's inbox has it; the centre dispatches to the wrong department.
    inbox = await center.get("/api/v1/letters", params={"state": "submitted"})
    assert [item["id"] for item in inbox.body["items"]] == [letter_id]
    dispatched = await dispatch(center, letter_id, "qd-env", co_departments=["qd-urban"])
    assert dispatched["state"] == "dispatched" and dispatched["due_at"] and dispatched["warning_level"] == "normal"

    # The department returns it, and must say whose it is.
    env = await harness.staff("env")
    assert [i["id"] for i in (await env.get("/api/v1/letters")).body["items"]] == [letter_id]
    vague = await env.post(f"/api/v1/letters/{letter_id}/return", {"reason": "不属于我局职责"})
    assert vague.status == 400 and vague.body["error"]["details"]["fields"][0]["field"] == "responsible_body"
    returned = await env.post(f"/api/v1/letters/{letter_id}/return",
                              {"reason": "施工噪音由住建部门监管", "responsible_body": "市住房和城乡建设局"})
    assert returned.status == 200 and returned.body["state"] == "returned"
    assert returned.body["returned"]["responsible_body"] == "市住房和城乡建设局"

    # The centre re-dispatches to the body named.
    inbox = await center.get("/api/v1/letters", params={"state": "returned"})
    assert [item["id"] for item in inbox.body["items"]] == [letter_id]
    await dispatch(center, letter_id, "qd-housing")
    housing = await harness.staff("housing")
    assert (await housing.post(f"/api/v1/letters/{letter_id}/accept")).body["state"] == "handling"

    # The department asks for more information; the clock pauses.
    asked = await housing.post(f"/api/v1/letters/{letter_id}/info-request",
                               {"question": "请提供工地的具体位置和施工单位名称"})
    assert asked.body["state"] == "awaiting_info" and asked.body["warning_level"] == "paused"
    seen = await citizen.get(f"/mp/v1/letters/{letter_id}")
    assert seen.body["state"] == "awaiting_info"
    assert seen.body["info_request"]["question"] == "请提供工地的具体位置和施工单位名称"
    supplied = await citizen.post(f"/mp/v1/letters/{letter_id}/info",
                                  {"text": "工地位于江西路18号，施工单位为某建设集团"})
    assert supplied.status == 200 and supplied.body["state"] == "handling"

    # The department replies; the centre reviews before the citizen sees anything.
    reply_text = "经核查，该工地夜间施工未办理夜间施工许可，已责令停止夜间作业并立案处理。"
    replied = await housing.post(f"/api/v1/letters/{letter_id}/reply", {"text": reply_text})
    assert replied.body["state"] == "reply_review"
    hidden = await citizen.get(f"/mp/v1/letters/{letter_id}")
    assert hidden.body["reply"] is None and hidden.body["state"] == "handling"
    approved = await center.post(f"/api/v1/letters/{letter_id}/review", {"approve": True})
    assert approved.body["state"] == "replied"
    seen = await citizen.get(f"/mp/v1/letters/{letter_id}")
    assert seen.body["reply"]["text"] == reply_text and seen.body["can_rate"]

    # 不满意 reopens it once for re-handling, with a new deadline.
    reopened = await citizen.post(f"/mp/v1/letters/{letter_id}/rating",
                                  {"level": "dissatisfied", "comment": "晚上还是有施工"})
    assert reopened.status == 200 and reopened.body["state"] == "handling" and reopened.body["round"] == 2
    second = "已联合城管部门夜间巡查，施工单位已停止夜间施工，并将持续监督。"
    assert (await housing.post(f"/api/v1/letters/{letter_id}/reply", {"text": second})).status == 200
    assert (await center.post(f"/api/v1/letters/{letter_id}/review", {"approve": True})).body["state"] == "replied"
    closed = await citizen.post(f"/mp/v1/letters/{letter_id}/rating", {"level": "satisfied"})
    assert closed.body["state"] == "closed"
    assert [r["label"] for r in closed.body["ratings"]] == ["不满意", "满意"]
    # The second rating is final.
    again = await citizen.post(f"/mp/v1/letters/{letter_id}/rating", {"level": "very_dissatisfied"})
    assert again.status == 409 and again.error_code == "invalid_transition"

    # The citizen's history shows steps, never staff names or internal review/return steps.
    history = (await citizen.get(f"/mp/v1/letters/{letter_id}")).body["history"]
    assert [h["action"] for h in history] == [
        "submit", "dispatch", "dispatch", "accept", "request_info", "supply_info", "approve", "rate_reopen",
        "approve", "rate"]
    assert all(set(h) == {"at", "action", "label"} for h in history)
    staff_view = await center.get(f"/api/v1/letters/{letter_id}")
    assert [h["action"] for h in staff_view.body["history"]][-3:] == ["reply", "approve", "rate"]

    events = [e["type"] for e in await published_events(harness) if e["subject"]["id"] == letter_id]
    assert events == [
        "letter.submitted", "letter.dispatched", "letter.returned", "letter.dispatched", "letter.accepted",
        "letter.info_requested", "letter.info_supplied", "letter.reply_submitted", "letter.replied",
        "letter.reopened", "letter.reply_submitted", "letter.replied", "letter.rated"]
    replied_event = next(e for e in await published_events(harness) if e["type"] == "letter.replied")
    assert {"kind": "user", "id": (await citizen.get("/mp/v1/me")).body["id"]} in replied_event["recipients"]
