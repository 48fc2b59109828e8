"""The supervision overview through HTTP: open clocks by level per department and module, and how
the finished ones went; scoped to the caller's departments."""

from __future__ import annotations

from datetime import datetime

from backend.clock import CHINA
from backend.modules import all_workflows
from backend.supervision.warnings import warn_due_cases
from tests.conftest import Harness
from tests.mailbox.conftest import dispatch, write_letter


def rows(body: dict) -> dict:
    return {(row["module"], row["department"]): row for row in body["items"]}


async def test_overview_counts_open_warned_and_finished_clocks(harness: Harness, center) -> None:
    clock = harness.ctx.clock
    clock.travel(datetime(2026, 11, 2, 9, 0, tzinfo=CHINA))  # Monday
    try:
        citizen = await harness.citizen("li_si")
        consults = [(await write_letter(citizen, type="consult"))["id"] for _ in range(2)]  # due Monday 9th
        complaint = (await write_letter(citizen, type="complain"))["id"]
        for letter in consults:
            await dispatch(center, letter, "qd-housing")
        await dispatch(center, complaint, "qd-env")
        housing = await harness.staff("housing")
        await housing.post(f"/api/v1/letters/{consults[0]}/accept")
        await housing.post(f"/api/v1/letters/{consults[0]}/reply", {"text": "经核查已经处理完毕，特此答复。"})
        clock.travel(datetime(2026, 11, 4, 9, 0, tzinfo=CHINA))
        await center.post(f"/api/v1/letters/{consults[0]}/review", {"approve": True})  # on time, in ~2 working days
        clock.travel(datetime(2026, 11, 10, 9, 0, tzinfo=CHINA))  # the other consultation is overdue
        assert await warn_due_cases(harness.ctx, all_workflows()) == 1
        overview = await center.get("/api/v1/supervision/overview", params={"from": "2026-11-01", "to": "2026-11-30"})
        assert overview.status == 200, overview.body
        found = rows(overview.body)
        assert found[("mailbox", "qd-housing")] | {"median_workdays": None} == {
            "module": "mailbox", "module_label": "政府信箱", "department": "qd-housing", "open": 1, "normal": 0,
            "yellow": 0, "red": 0, "overdue": 1, "paused": 0, "closed": 1, "closed_on_time": 1,
            "median_workdays": None}
        assert 1.5 < found[("mailbox", "qd-housing")]["median_workdays"] < 2.5
        assert found[("mailbox", "qd-env")]["open"] == 1 and found[("mailbox", "qd-env")]["normal"] == 1
        assert overview.body["overview"]["open"] == 2 and overview.body["overview"]["closed"] == 1
        # A department sees its own rows only; another department's admin sees nothing of them.
        mine = rows((await housing.get("/api/v1/supervision/overview",
                                       params={"from": "2026-11-01", "to": "2026-11-30"})).body)
        assert set(mine) == {("mailbox", "qd-housing")}
        shinan = await harness.staff("shinan_admin")
        assert (await shinan.get("/api/v1/supervision/overview")).body["items"] == []
        citizen_try = await citizen.get("/api/v1/supervision/overview")
        assert citizen_try.status == 401
    finally:
        clock.travel_back()
