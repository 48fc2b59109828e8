"""What the mailbox centre and departments found missing (issue 11), through HTTP: a clock for
dispatching, the way out of a reopened letter the centre answered, merges into finished letters
refused, addressee kinds checked, staff names in the staff history, times in +08:00 everywhere."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from backend.clock import CHINA
from backend.modules import all_workflows
from backend.supervision.warnings import warn_due_cases
from tests.conftest import Harness
from tests.mailbox.conftest import LETTER, dispatch, published_events, write_letter

STORED_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def stored_times(value: Any, path: str = "") -> list[str]:
    """Every string in a response that is a time in storage form (UTC, trailing Z)."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in stored_times(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in stored_times(item, f"{path}[{i}]")]
    return [path] if isinstance(value, str) and STORED_TIME.match(value) else []


async def test_the_centre_has_a_working_day_to_dispatch(harness: Harness, center) -> None:
    harness.ctx.clock.travel(datetime(2026, 11, 6, 10, 0, tzinfo=CHINA))  # Friday
    try:
        letter = await write_letter(await harness.citizen("li_si"))
        seen = (await center.get(f"/api/v1/letters/{letter['id']}")).body
        assert seen["due_at"] == "2026-11-09T23:59:59+08:00" and seen["deadline"]["policy"] == "letter.dispatch"
        assert seen["warning_level"] == "normal"
        assert letter["due_at"] is None  # the citizen sees the handling deadline only
        harness.ctx.clock.travel(datetime(2026, 11, 9, 9, 0, tzinfo=CHINA))
        assert (await center.get(f"/api/v1/letters/{letter['id']}")).body["warning_level"] == "red"
        harness.ctx.clock.travel(datetime(2026, 11, 10, 9, 0, tzinfo=CHINA))
        assert await warn_due_cases(harness.ctx, all_workflows()) == 1
        warning = [e for e in await published_events(harness) if e["type"] == "letter.overdue_warning"]
        assert warning[0]["data"]["level"] == "overdue"
        assert {"kind": "role", "role": "mailbox_center"} in warning[0]["recipients"]
        # Dispatching stops that clock and starts the department's.
        dispatched = await dispatch(center, letter["id"], "qd-housing")
        assert dispatched["deadline"]["policy"] == "letter.handling" and dispatched["warning_level"] == "normal"
    finally:
        harness.ctx.clock.travel_back()


async def test_a_reopened_letter_the_centre_answered_goes_back_to_the_centre(harness: Harness, center) -> None:
    citizen = await harness.citizen("li_si")
    letter = await write_letter(citizen, type="consult")
    answered = await center.post(f"/api/v1/letters/{letter['id']}/answer",
                                 {"text": "您好，公积金提取所需材料请见市公积金中心网站。"})
    assert answered.status == 200 and answered.body["state"] == "replied"
    reopened = await citizen.post(f"/mp/v1/letters/{letter['id']}/rating", {"level": "dissatisfied"})
    assert reopened.status == 200 and reopened.body["state"] == "submitted"
    staff_view = (await center.get(f"/api/v1/letters/{letter['id']}")).body
    assert {"dispatch", "answer"} <= set(staff_view["actions"])  # the centre can act on it again
    again = await center.post(f"/api/v1/letters/{letter['id']}/answer",
                              {"text": "已电话联系您并说明提取流程，材料清单已短信发送。"})
    assert again.status == 200
    assert (await citizen.post(f"/mp/v1/letters/{letter['id']}/rating", {"level": "satisfied"})).body["state"] == \
        "closed"


async def test_merging_into_a_finished_letter_is_refused(harness: Harness, center) -> None:
    citizen = await harness.citizen("li_si")
    rejected = await write_letter(citizen)
    await center.post(f"/api/v1/letters/{rejected['id']}/reject", {"reason": "内容无法核实"})
    duplicate = await write_letter(await harness.citizen("wang"))
    refused = await center.post(f"/api/v1/letters/{duplicate['id']}/merge", {"original_id": rejected["id"]})
    assert refused.status == 409 and refused.error_code == "merge_target_closed"
    assert (await center.get(f"/api/v1/letters/{duplicate['id']}")).body["state"] == "submitted"


async def test_the_addressee_kind_matches_the_department(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    wrong = await citizen.post("/mp/v1/letters", {**LETTER, "addressee": {"kind": "district", "code": "qd-housing"}})
    assert wrong.status == 400 and wrong.body["error"]["details"]["fields"][0]["field"] == "addressee.code"
    also_wrong = await citizen.post("/mp/v1/letters", {**LETTER, "addressee": {"kind": "department", "code": "qd-shinan"}})
    assert also_wrong.status == 400
    right = await citizen.post("/mp/v1/letters", {**LETTER, "addressee": {"kind": "district", "code": "qd-shinan"}})
    assert right.status == 201


async def test_staff_history_names_staff_and_times_are_in_beijing_time(harness: Harness, center) -> None:
    citizen = await harness.citizen("li_si")
    letter = await write_letter(citizen)
    await dispatch(center, letter["id"], "qd-housing", co_departments=["qd-env"])
    housing, env = await harness.staff("housing"), await harness.staff("env")
    await housing.post(f"/api/v1/letters/{letter['id']}/accept")
    await env.post(f"/api/v1/letters/{letter['id']}/opinion", {"text": "建议联合执法"})
    await housing.post(f"/api/v1/letters/{letter['id']}/info-request", {"question": "请提供具体地址"})
    await citizen.post(f"/mp/v1/letters/{letter['id']}/info", {"text": "地址是江西路18号工地"})
    await housing.post(f"/api/v1/letters/{letter['id']}/extension", {"reason": "需要协调多个部门", "days": 3})
    await center.post(f"/api/v1/letters/{letter['id']}/extension/decision", {"approve": True})
    await housing.post(f"/api/v1/letters/{letter['id']}/return", {"reason": "应由城管部门办理",
                                                                   "responsible_body": "市城市管理局"})
    staff_view = (await center.get(f"/api/v1/letters/{letter['id']}")).body
    names = {h["action"]: h["by_name"] for h in staff_view["history"]}
    assert names["dispatch"] == "信箱中心值班员" and names["accept"] == "住建局经办人" and names["submit"] is None
    mine = (await citizen.get(f"/mp/v1/letters/{letter['id']}")).body
    assert "by_name" not in str(mine) and "信箱中心值班员" not in str(mine)
    assert stored_times(staff_view) == [] and stored_times(mine) == []
    assert staff_view["supplements"][0]["at"].endswith("+08:00") and staff_view["returned"]["at"].endswith("+08:00")
    assert staff_view["extension"]["decided_at"].endswith("+08:00")
