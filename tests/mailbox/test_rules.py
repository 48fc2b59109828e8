"""Mailbox rules through HTTP: duplicates, extensions, deadlines, disclosure, statistics, access."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.clock import CHINA
from backend.modules import all_workflows
from backend.supervision.warnings import warn_due_cases
from tests.conftest import Harness
from tests.mailbox.conftest import LETTER, dispatch, published_events, write_letter


@pytest.fixture
def frozen_clock(harness: Harness):
    yield harness.ctx.clock.travel
    harness.ctx.clock.travel_back()


async def handled_by_housing(harness: Harness, center, citizen_name: str = "li_si", **changes) -> tuple[str, object]:
    citizen = await harness.citizen(citizen_name)
    letter = await write_letter(citizen, **changes)
    await dispatch(center, letter["id"], "qd-housing")
    housing = await harness.staff("housing")
    assert (await housing.post(f"/api/v1/letters/{letter['id']}/accept")).status == 200
    return letter["id"], housing


async def test_duplicates_are_suggested_and_merged(harness: Harness, center) -> None:
    first_writer = await harness.citizen("li_si")
    original = await write_letter(first_writer)
    other = await harness.citizen("wang_wu")
    duplicate = await write_letter(other, title="工地夜间施工噪音太大",
                                   content="附近工地天天夜里施工到两点，噪音很大影响睡觉，希望尽快处理夜间施工噪音问题。")
    unrelated = await write_letter(other, type="consult", title="公积金提取咨询",
                                   content="请问租房提取住房公积金需要准备哪些材料，每年可以提取几次？")
    view = await center.get(f"/api/v1/letters/{duplicate['id']}")
    suggestions = {s["id"]: s for s in view.body["suggested_duplicates"]}
    assert suggestions[original["id"]]["reason"] == "similar_text" and suggestions[original["id"]]["score"] >= 0.55
    assert suggestions[unrelated["id"]]["reason"] == "same_writer"

    merged = await center.post(f"/api/v1/letters/{duplicate['id']}/merge", {"original_id": original["id"]})
    assert merged.status == 200 and merged.body["state"] == "merged"
    assert (await center.post(f"/api/v1/letters/{original['id']}/merge",
                              {"original_id": original["id"]})).status == 400

    # The original is handled; the duplicate's writer is told of its reply and sees it (masked).
    await dispatch(center, original["id"], "qd-housing")
    housing = await harness.staff("housing")
    await housing.post(f"/api/v1/letters/{original['id']}/accept")
    await housing.post(f"/api/v1/letters/{original['id']}/reply",
                       {"text": "已责令施工单位停止夜间施工。如有问题请联系13900001111。"})
    await center.post(f"/api/v1/letters/{original['id']}/review", {"approve": True})
    follower_id = (await other.get("/mp/v1/me")).body["id"]
    events = await published_events(harness)
    replied = [e for e in events if e["type"] == "letter.replied"]
    assert {"kind": "user", "id": follower_id} not in replied[0]["recipients"]
    # The follower is told about their own letter: its number and title, never the original's.
    notice = next(e for e in events if e["type"] == "letter.merged_replied")
    assert notice["subject"]["id"] == duplicate["id"] and notice["recipients"] == [{"kind": "user", "id": follower_id}]
    assert notice["data"]["title"] == duplicate["title"] and notice["data"]["tracking_no"] == duplicate["tracking_no"]
    seen = await other.get(f"/mp/v1/letters/{duplicate['id']}")
    assert seen.body["state"] == "merged"
    assert seen.body["merged_into"]["reply"]["text"] == "已责令施工单位停止夜间施工。如有问题请联系139****1111。"
    assert original["title"] not in str(seen.body) and original["content"] not in str(seen.body)
    # Both letters record the merge in their history.
    staff_view = (await center.get(f"/api/v1/letters/{original['id']}")).body
    assert "absorb" in [h["action"] for h in staff_view["history"]] and staff_view["followers"] == 1
    # The follower cannot open the original writer's letter itself.
    assert (await other.get(f"/mp/v1/letters/{original['id']}")).status == 404


async def test_extension_request_and_decisions(harness: Harness, center) -> None:
    letter_id, housing = await handled_by_housing(harness, center)
    due = (await housing.get(f"/api/v1/letters/{letter_id}")).body["due_at"]
    asked = await housing.post(f"/api/v1/letters/{letter_id}/extension", {"reason": "需要协调多个部门现场核查", "days": 5})
    assert asked.status == 200 and asked.body["extension"]["state"] == "pending"
    twice = await housing.post(f"/api/v1/letters/{letter_id}/extension", {"reason": "再次申请延期处理", "days": 3})
    assert twice.status == 409 and twice.error_code == "extension_pending"
    approved = await center.post(f"/api/v1/letters/{letter_id}/extension/decision", {"approve": True})
    assert approved.body["extension"]["state"] == "approved" and approved.body["due_at"] > due
    new_due = approved.body["due_at"]
    await housing.post(f"/api/v1/letters/{letter_id}/extension", {"reason": "仍需等待检测报告", "days": 3})
    refused = await center.post(f"/api/v1/letters/{letter_id}/extension/decision",
                                {"approve": False, "comment": "请按期办结"})
    assert refused.body["extension"]["state"] == "refused" and refused.body["due_at"] == new_due
    none_left = await center.post(f"/api/v1/letters/{letter_id}/extension/decision", {"approve": True})
    assert none_left.status == 409 and none_left.error_code == "no_extension_pending"


async def test_deadline_spans_spring_festival(harness: Harness, center, frozen_clock) -> None:
    # Dispatched on Friday 13 February 2026; 2026-02-15..23 is the Spring Festival holiday and
    # Saturday 14 February an adjusted working day. 5 working days for a consultation.
    frozen_clock(datetime(2026, 2, 13, 10, 0, tzinfo=CHINA))
    citizen = await harness.citizen("li_si")
    letter = await write_letter(citizen, type="consult")
    dispatched = await dispatch(center, letter["id"], "qd-housing")
    assert dispatched["due_at"] == "2026-02-27T23:59:59+08:00"
    # On the 26th (the 4th working day) it is yellow, on the 27th red (due that day), on the 28th overdue.
    frozen_clock(datetime(2026, 2, 26, 9, 0, tzinfo=CHINA))
    housing = await harness.staff("housing")
    assert (await housing.get(f"/api/v1/letters/{letter['id']}")).body["warning_level"] == "yellow"
    frozen_clock(datetime(2026, 2, 27, 9, 0, tzinfo=CHINA))
    assert (await housing.get(f"/api/v1/letters/{letter['id']}")).body["warning_level"] == "red"
    frozen_clock(datetime(2026, 2, 28, 9, 0, tzinfo=CHINA))
    assert (await housing.get(f"/api/v1/letters/{letter['id']}")).body["warning_level"] == "overdue"
    overdue = await housing.get("/api/v1/letters", params={"overdue": "true"})
    assert [item["id"] for item in overdue.body["items"]] == [letter["id"]]
    assert await warn_due_cases(harness.ctx, all_workflows()) == 1
    assert await warn_due_cases(harness.ctx, all_workflows()) == 0  # once per level
    warnings = [e for e in await published_events(harness) if e["type"] == "letter.overdue_warning"]
    assert [w["data"]["level"] for w in warnings] == ["overdue"]
    assert {"kind": "department", "code": "qd-housing"} in warnings[0]["recipients"]


async def test_paused_clock_moves_deadline(harness: Harness, center, frozen_clock) -> None:
    frozen_clock(datetime(2026, 3, 2, 9, 0, tzinfo=CHINA))  # Monday
    letter_id, housing = await handled_by_housing(harness, center, type="consult")
    due = (await housing.get(f"/api/v1/letters/{letter_id}")).body["due_at"]
    assert due == "2026-03-09T23:59:59+08:00"
    await housing.post(f"/api/v1/letters/{letter_id}/info-request", {"question": "请提供具体地址"})
    frozen_clock(datetime(2026, 3, 5, 9, 0, tzinfo=CHINA))  # Thursday: 3 working days paused
    citizen = await harness.citizen("li_si")
    await citizen.post(f"/mp/v1/letters/{letter_id}/info", {"text": "地址是江西路18号工地"})
    assert (await housing.get(f"/api/v1/letters/{letter_id}")).body["due_at"] == "2026-03-12T23:59:59+08:00"


async def test_statistics(harness: Harness, center) -> None:
    first, housing = await handled_by_housing(harness, center)
    await housing.post(f"/api/v1/letters/{first}/reply", {"text": "已处理完毕，施工单位已整改到位。"})
    await center.post(f"/api/v1/letters/{first}/review", {"approve": True})
    citizen = await harness.citizen("li_si")
    await citizen.post(f"/mp/v1/letters/{first}/rating", {"level": "very_dissatisfied"})
    await housing.post(f"/api/v1/letters/{first}/reply", {"text": "再次核查后已彻底整改，并建立夜间巡查。"})
    await center.post(f"/api/v1/letters/{first}/review", {"approve": True})
    await citizen.post(f"/mp/v1/letters/{first}/rating", {"level": "satisfied"})
    await handled_by_housing(harness, center)  # still open
    env_letter = await write_letter(citizen)
    await dispatch(center, env_letter["id"], "qd-env")
    today = datetime.now(CHINA).date().isoformat()
    stats = await center.get("/api/v1/mailbox/statistics", params={"from": today, "to": today})
    assert stats.status == 200, stats.body
    rows = {row["department"]: row for row in stats.body["items"]}
    assert rows["qd-housing"] == {"department": "qd-housing", "received": 2, "closed": 1, "on_time_rate": 1.0,
                                  "average_handling_workdays": rows["qd-housing"]["average_handling_workdays"],
                                  "satisfaction_rate": 1.0, "reopened": 1}
    assert 0 <= rows["qd-housing"]["average_handling_workdays"] < 1
    assert rows["qd-env"]["received"] == 1 and rows["qd-env"]["closed"] == 0
    assert stats.body["overview"]["received"] == 3 and stats.body["overview"]["closed"] == 1
    one = await center.get("/api/v1/mailbox/statistics", params={"from": today, "to": today, "department": "qd-env"})
    assert [row["department"] for row in one.body["items"]] == ["qd-env"]
    bad = await center.get("/api/v1/mailbox/statistics", params={"from": today, "to": "2020-01-01"})
    assert bad.status == 400
    # Every letter received counts, dispatched or not, with its breakdowns.
    await write_letter(citizen, type="consult", title="尚未分办的一封咨询信")
    whole = (await center.get("/api/v1/mailbox/statistics", params={"from": today, "to": today})).body
    assert whole["overview"]["received"] == 4
    assert {item["key"]: item["count"] for item in whole["breakdowns"]["type"]} == {"complain": 3, "consult": 1}
    assert {item["key"]: item["count"] for item in whole["breakdowns"]["state"]} == {
        "closed": 1, "handling": 1, "dispatched": 1, "submitted": 1}
    assert whole["breakdowns"]["channel"] == [{"key": "miniprogram", "count": 4}]
    assert whole["breakdowns"]["addressee"] == [{"key": "mayor", "count": 4}]
    # A department sees its own figures only; the export is CSV with the department's name.
    clerk = await harness.staff("housing")
    own = await clerk.get("/api/v1/mailbox/statistics", params={"from": today, "to": today})
    assert own.status == 200 and [row["department"] for row in own.body["items"]] == ["qd-housing"]
    exported = await center.get("/api/v1/mailbox/statistics/export", params={"from": today, "to": today})
    assert exported.status == 200 and exported.headers["Content-Type"].startswith("text/csv")
    text = exported.body.decode("utf-8-sig") if isinstance(exported.body, bytes) else str(exported.body)
    lines = text.strip().splitlines()
    assert lines[0].startswith("department,department_name,received") and "市住房和城乡建设局" in text
    assert lines[-1].startswith("合计,,4,")


async def test_other_department_can_neither_see_nor_act(harness: Harness, center) -> None:
    letter_id, housing = await handled_by_housing(harness, center)
    env = await harness.staff("env")
    assert (await env.get(f"/api/v1/letters/{letter_id}")).status == 404
    for action, body in (("reply", {"text": "越权答复的内容应当被拒绝。"}), ("accept", None),
                         ("return", {"reason": "不是我们的", "responsible_body": "某局"})):
        resp = await env.post(f"/api/v1/letters/{letter_id}/{action}", body)
        assert resp.status == 404, (action, resp.body)
    assert (await env.get("/api/v1/letters")).body["items"] == []
    # A co-department sees the letter but only the lead department acts on it.
    other = await harness.citizen("wang")
    co_letter = await write_letter(other)
    await dispatch(center, co_letter["id"], "qd-housing", co_departments=["qd-env"])
    assert (await env.get(f"/api/v1/letters/{co_letter['id']}")).status == 200
    resp = await env.post(f"/api/v1/letters/{co_letter['id']}/accept")
    assert resp.status == 403 and resp.error_code == "not_lead_department"
    # A department clerk cannot do the centre's work, nor can a citizen read another's letter.
    assert (await housing.post(f"/api/v1/letters/{letter_id}/review", {"approve": True})).status == 403
    stranger = await harness.citizen("stranger")
    assert (await stranger.get(f"/mp/v1/letters/{letter_id}")).status == 404


async def test_invalid_transitions_change_nothing(harness: Harness, center) -> None:
    citizen = await harness.citizen("li_si")
    letter = await write_letter(citizen)
    from backend.events import without_outbox

    before = without_outbox(await harness.ctx.store.collection("letters").find_one({"_id": letter["id"]}))
    resp = await center.post(f"/api/v1/letters/{letter['id']}/review", {"approve": True})
    assert resp.status == 409 and resp.error_code == "invalid_transition"
    assert resp.body["error"]["message"] == "当前状态下不能执行此操作"
    assert resp.body["error"]["details"] == {"state": "submitted", "action": "approve"}
    rate = await citizen.post(f"/mp/v1/letters/{letter['id']}/rating", {"level": "satisfied"})
    assert rate.status == 409
    stale = await center.post(f"/api/v1/letters/{letter['id']}/dispatch", {"lead_department": "qd-housing"},
                              headers={"If-Match": '"7"'})
    assert stale.status == 409 and stale.error_code == "version_conflict"
    unknown = await center.post(f"/api/v1/letters/{letter['id']}/dispatch", {"lead_department": "qd-nowhere"})
    assert unknown.status == 404
    after = without_outbox(await harness.ctx.store.collection("letters").find_one({"_id": letter["id"]}))
    assert after == before


async def test_concurrent_dispatch_exactly_one_wins(harness: Harness, center) -> None:
    import asyncio

    citizen = await harness.citizen("li_si")
    letter = await write_letter(citizen)
    results = await asyncio.gather(*(
        center.post(f"/api/v1/letters/{letter['id']}/dispatch", {"lead_department": code})
        for code in ("qd-housing", "qd-env", "qd-urban", "qd-transport")))
    assert sorted(r.status for r in results) == [200, 409, 409, 409]
    doc = await harness.ctx.store.collection("letters").find_one({"_id": letter["id"]})
    assert doc["version"] == 2 and len(doc["history"]) == 2


async def test_letter_input_validation(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    cases = [
        ({**LETTER, "type": "gossip"}, "type"),
        ({**LETTER, "title": "短"}, "title"),
        ({**LETTER, "content": "字" * 5001}, "content"),
        ({**LETTER, "addressee": {"kind": "department"}}, "addressee"),
        ({**LETTER, "attachments": ["0" * 20] * 10}, "attachments"),
        ({**LETTER, "contact_phone": "12345"}, "contact_phone"),
    ]
    for body, field in cases:
        resp = await citizen.post("/mp/v1/letters", body)
        assert resp.status == 400, (field, resp.body)
        assert resp.body["error"]["details"]["fields"][0]["field"].startswith(field)
    foreign = await citizen.post("/mp/v1/letters", {**LETTER, "attachments": ["0" * 20]})
    assert foreign.status == 400
    assert await harness.ctx.store.collection("letters").count({}) == 0


async def test_letter_submission_is_idempotent(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    key = {"Idempotency-Key": "letter-0001"}
    first = await citizen.post("/mp/v1/letters", LETTER, headers=key)
    second = await citizen.post("/mp/v1/letters", LETTER, headers=key)
    assert first.status == second.status == 201 and first.body == second.body
    assert await harness.ctx.store.collection("letters").count({}) == 1
    listed = await citizen.get("/mp/v1/letters")
    assert [item["tracking_no"] for item in listed.body["items"]] == [first.body["tracking_no"]]
