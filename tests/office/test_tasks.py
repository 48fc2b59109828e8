"""Supervision tasks (督查督办) through HTTP: the journey from a leader's instruction to an
accepted completion report (progress reports, a co-unit's opinion, an extension decided by the
supervisor's deputy, the late-report reminder, the overdue warning to the supervising office, a
send-back), everyone's to-dos at each step and the boards; then what is refused and how."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from backend.clock import CHINA, to_storage
from backend.modules import all_workflows
from backend.office.tasks.use_cases import do_remind_late_reports
from backend.supervision.warnings import warn_due_cases
from tests.conftest import ApiClient, Harness
from tests.mailbox.conftest import PNG
from tests.office.kit_tasks import TASK

TASKS = "/api/v1/office/tasks"
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=CHINA)  # no holiday in November 2026


async def account(harness: Harness, username: str, name: str, department: str) -> tuple[ApiClient, str]:
    """A staff account made by the admin (the demo city has no leader or 督查室), logged in."""
    admin = await harness.staff("admin")
    password = "Duban#2026x"
    made = await admin.post("/api/v1/staff-users", {"username": username, "password": password, "name": name,
                                                   "roles": ["staff"], "department": department})
    assert made.status == 201, made.body
    login = await harness.client.post("/api/v1/auth/login", {"username": username, "password": password})
    assert login.status == 200, login.body
    return harness.client.as_(login.body["access_token"]), made.body["id"]


async def supervising_office(harness: Harness) -> None:
    admin = await harness.staff("admin")
    made = await admin.post("/api/v1/departments", {"code": "qd-duban", "name": "市政府督查室", "kind": "department",
                                                   "parent": "qd"})
    assert made.status == 201, made.body


async def user_id(client: ApiClient) -> str:
    return (await client.get("/api/v1/me")).body["id"]


async def create(client: ApiClient, leader: str | None = None, **changes: Any) -> dict[str, Any]:
    source = ({"kind": "instruction", "text": "请住建局牵头，生态环境局配合，抓紧推进", "leader_id": leader} if leader else
              {"kind": "document", "document_id": "1" * 20, "document_title": "关于推进老旧小区加装电梯的通知"})
    resp = await client.post(TASKS, {**TASK, "co_departments": ["qd-env"], "source": source, **changes})
    assert resp.status == 201, resp.body
    return resp.body


async def todos(harness: Harness, client: ApiClient, task_id: str) -> list[tuple[str, str, str | None]]:
    """The caller's to-dos about this task: (label, kind, on behalf of)."""
    await harness.settle()
    resp = await client.get("/api/v1/todos", params={"module": "office", "limit": 100})
    assert resp.status == 200, resp.body
    return [(item["label"], item["kind"], item["on_behalf_of"]) for item in resp.body["items"]
            if item["subject"]["id"] == task_id]


async def events_of(harness: Harness, task_id: str) -> list[dict[str, Any]]:
    return [event for event in await harness.settle() if event["subject"]["id"] == task_id]


class Feed:
    """A task's events, each once, as they arrive: ``new()`` returns those not seen before."""

    def __init__(self, harness: Harness, task_id: str) -> None:
        self.harness, self.task_id, self.seen = harness, task_id, set()

    async def new(self, kind: str | None = None) -> list[dict[str, Any]]:
        fresh = [e for e in await events_of(self.harness, self.task_id) if e["id"] not in self.seen]
        self.seen |= {e["id"] for e in fresh}
        return [e for e in fresh if kind is None or e["type"] == f"supervision_task.{kind}"]


def recipients(event: dict[str, Any]) -> set[str]:
    return {f"{r['kind']}:{r.get('id') or r.get('code') or r.get('role')}" for r in event["recipients"]}


async def post(client: ApiClient, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    resp = await client.post(path, body)
    assert resp.status == status, resp.body
    return resp.body


async def test_supervision_task_journey(harness: Harness) -> None:
    clock = harness.ctx.clock
    clock.travel(MONDAY)
    try:
        await supervising_office(harness)
        duban, duban_id = await account(harness, "duban_li", "督查室李科长", "qd-duban")
        colleague, colleague_id = await account(harness, "duban_wang", "督查室王科员", "qd-duban")
        mayor, mayor_id = await account(harness, "vice_mayor_zhao", "赵副市长", "qd")
        housing, env = await harness.staff("housing"), await harness.staff("env")

        # The supervisor opens a task from the vice mayor's instruction, for 督查室.
        task = await create(duban, mayor_id, deadline_days=10, report_every_days=3, milestones=[
            {"name": "完成摸底调查", "due_on": "2026-11-06"}, {"name": "完成实施方案", "due_on": "2026-11-13"}])
        task_id, url = task["id"], f"{TASKS}/{task['id']}"
        feed = Feed(harness, task_id)
        assert task["state"] == "in_progress" and task["level"] == "normal"
        assert task["supervising_office"] == "qd-duban" and task["supervisor"]["user_id"] == duban_id
        assert task["leader"] == {"user_id": mayor_id, "name": "赵副市长", "department": "qd"}
        assert task["due_at"] == "2026-11-16T23:59:59+08:00"  # 10 working days
        assert task["next_report_due_at"] == "2026-11-05T23:59:59+08:00"  # every 3 working days
        assert [m["id"] for m in task["milestones"]] == ["m1", "m2"]
        (created,) = await feed.new()
        assert created["type"] == "supervision_task.created"
        assert recipients(created) == {"department:qd-housing", "department:qd-env", f"user:{mayor_id}"}
        assert created["data"]["lead_department_name"] == "市住房和城乡建设局"
        assert created["data"]["supervising_office_name"] == "市政府督查室"
        assert await todos(harness, housing, task_id) == [("办理督办事项", "handle", None)]
        assert await todos(harness, env, task_id) == [("提交协办意见", "opinion", None)]
        assert await todos(harness, duban, task_id) == []

        # Day 2: the lead unit reports progress and marks the first milestone; the co-unit reports too.
        clock.travel(datetime(2026, 11, 3, 10, 0, tzinfo=CHINA))
        reported = await post(housing, f"{url}/reports", {"text": "已完成全部试点小区摸底调查", "milestones_done": ["m1"]})
        assert reported["milestones"][0]["done"] and not reported["milestones"][1]["done"]
        assert reported["next_report_due_at"] == "2026-11-10T23:59:59+08:00"  # moved on by 3 from the 5th
        by_env = await post(env, f"{url}/reports", {"text": "已配合开展环境影响初步评估"})
        assert by_env["next_report_due_at"] == "2026-11-10T23:59:59+08:00"  # only the lead unit's moves it
        assert [(r["department"], r["by_lead"]) for r in by_env["reports"]] == [("qd-housing", True), ("qd-env", False)]
        lead_report, co_report = await feed.new()
        assert lead_report["type"] == co_report["type"] == "supervision_task.progress_reported"
        assert recipients(lead_report) == {f"user:{duban_id}", f"user:{mayor_id}"}
        assert recipients(co_report) == {"department:qd-housing", f"user:{duban_id}"}
        assert lead_report["data"]["milestones_done"] == ["完成摸底调查"]

        # The completion report waits for the co-unit's opinion.
        early = await housing.post(f"{url}/completion", {"text": "试点小区加装电梯已全部完成审批并开工建设。"})
        assert early.status == 409 and early.error_code == "co_opinions_pending"
        await post(env, f"{url}/opinion", {"text": "建议同步做好施工期间噪声管控"})
        assert await todos(harness, env, task_id) == []

        # An extension, asked by the lead unit, decided by the supervisor's deputy (X 代 Y).
        asked = await post(housing, f"{url}/extension", {"reason": "部分小区居民意见尚未统一", "days": 5})
        assert asked["extension"]["state"] == "pending"
        again = await housing.post(f"{url}/extension", {"reason": "再延期几天", "days": 2})
        assert again.status == 409 and again.error_code == "extension_pending"
        assert await todos(harness, duban, task_id) == [("审批延期申请", "approve", None)]
        await harness.ctx.store.collection("delegations").insert_one({
            "_id": uuid.uuid4().hex[:20], "delegator": duban_id, "deputy": colleague_id, "reason": "出差",
            "starts_at": to_storage(datetime(2026, 11, 1, tzinfo=CHINA)),
            "ends_at": to_storage(datetime(2026, 12, 31, tzinfo=CHINA)), "revoked_at": None})
        assert await todos(harness, colleague, task_id) == [("审批延期申请", "approve", duban_id)]
        not_housing = await housing.post(f"{url}/extension/decision", {"approve": True})
        assert not_housing.status == 403 and not_housing.error_code == "not_task_supervisor"
        decided = await post(colleague, f"{url}/extension/decision", {"approve": True, "comment": "同意延期"})
        assert decided["due_at"] == "2026-11-23T23:59:59+08:00" and decided["extended_days"] == 5
        assert decided["history"][-1]["by"] == colleague_id and decided["history"][-1]["on_behalf_of"] == duban_id
        assert decided["deadline"]["extensions"][0]["reason"] == "部分小区居民意见尚未统一"
        assert await todos(harness, duban, task_id) == []

        # The next report is late: the reminder job tells the lead unit, once for the period.
        clock.travel(datetime(2026, 11, 11, 9, 0, tzinfo=CHINA))
        await harness.settle()
        await do_remind_late_reports(harness.ctx)
        await do_remind_late_reports(harness.ctx)
        reminders = await feed.new("report_overdue")
        assert len(reminders) == 1 and recipients(reminders[0]) == {"department:qd-housing"}
        assert reminders[0]["actor"] == "system" and reminders[0]["data"]["report_due_on"] == "2026-11-10"
        assert await todos(harness, housing, task_id) == [("报送督办进展", "report", None)]
        late = await post(housing, f"{url}/reports", {"text": "方案已提交居民议事会讨论"})
        assert late["next_report_due_at"] == "2026-11-16T23:59:59+08:00"  # 3 working days from now
        assert await todos(harness, housing, task_id) == [("办理督办事项", "handle", None)]

        # Past the extended deadline: the kernel's supervision job escalates to 督查室.
        clock.travel(datetime(2026, 11, 24, 9, 0, tzinfo=CHINA))
        await harness.settle()
        await warn_due_cases(harness.ctx, all_workflows())
        (warning,) = await feed.new("overdue_warning")
        assert warning["data"]["level"] == "overdue" and warning["data"]["level_label"] == "超期预警"
        assert recipients(warning) == {"department:qd-housing", f"user:{duban_id}", "department:qd-duban"}
        await warn_due_cases(harness.ctx, all_workflows())
        assert await feed.new("overdue_warning") == []

        # The leader's board, the supervisor's, and the deputy's (for whom they stand in).
        board = (await mayor.get(f"{TASKS}/board")).body
        assert [(i["id"], i["level"], i["as"]) for i in board["items"]] == [(task_id, "overdue", ["leader"])]
        assert board["counts"] == {"normal": 0, "yellow": 0, "red": 0, "overdue": 1, "paused": 0, "done": 0}
        assert board["total"] == 1
        item = board["items"][0]
        assert item["next_report_due_at"] == "2026-11-16T23:59:59+08:00" and item["report_overdue"]
        assert [(m["name"], m["done"], m["overdue"]) for m in item["milestones"]] == [
            ("完成摸底调查", True, False), ("完成实施方案", False, True)]
        mine = (await duban.get(f"{TASKS}/board")).body["items"]
        assert [(i["id"], i["as"], i["on_behalf_of"]) for i in mine] == [(task_id, ["supervisor"], None)]
        deputy = (await colleague.get(f"{TASKS}/board")).body["items"]
        assert [(i["id"], i["as"], i["on_behalf_of"]) for i in deputy] == [(task_id, ["supervisor"], duban_id)]

        # The completion report, with an attachment; the clock pauses while 督查室 reviews it.
        upload = await housing.post("/api/v1/files", raw=PNG, headers={"Content-Type": "image/png"},
                                    params={"filename": "开工照片.png"})
        assert upload.status == 201, upload.body
        submitted = await post(housing, f"{url}/completion", {"text": "试点小区加装电梯已全部完成审批并开工建设。",
                                                              "attachments": [upload.body["id"]]})
        assert submitted["state"] == "completion_review" and submitted["level"] == "paused"
        assert submitted["completion"]["attachments"][0]["filename"] == "开工照片.png"
        assert await todos(harness, duban, task_id) == [("审核办结报告", "review", None)]
        assert await todos(harness, housing, task_id) == []

        # Sent back with the reason; the lead unit holds it again.
        no_reason = await duban.post(f"{url}/review", {"accept": False})
        assert no_reason.status == 400
        back = await post(duban, f"{url}/review", {"accept": False, "reason": "请补充各小区开工时间和施工单位"})
        assert back["state"] == "in_progress" and back["level"] == "overdue"
        assert back["send_backs"][0]["reason"] == "请补充各小区开工时间和施工单位"
        sent_back = await feed.new("completion_sent_back")
        assert recipients(sent_back[0]) == {"department:qd-housing"}
        assert sent_back[0]["data"]["reason"] == "请补充各小区开工时间和施工单位"
        assert await todos(harness, housing, task_id) == [("办理督办事项", "handle", None)]
        assert await todos(harness, duban, task_id) == []

        # Completed again and accepted: done, the clock stopped (late).
        clock.travel(datetime(2026, 11, 25, 9, 0, tzinfo=CHINA))
        await post(housing, f"{url}/completion", {"text": "已补充各小区开工时间及施工单位，详见附表。"})
        done = await post(duban, f"{url}/review", {"accept": True})
        assert done["state"] == "done" and done["level"] is None and done["met"] is False
        assert done["deadline"]["running"] is False and done["next_report_due_at"] is None
        for client in (housing, env, duban, colleague, mayor):
            assert await todos(harness, client, task_id) == []
        board = (await mayor.get(f"{TASKS}/board")).body
        assert board["items"] == [] and board["counts"]["done"] == 1 and board["total"] == 1

        history = [(h["action"], h.get("on_behalf_of")) for h in done["history"]]
        assert history == [("create", None), ("report", None), ("report", None), ("give_opinion", None),
                           ("request_extension", None), ("decide_extension", duban_id), ("remind_report", None),
                           ("report", None), ("warn", None), ("submit_completion", None), ("send_back", None),
                           ("submit_completion", None), ("accept", None)]
        assert [e["type"].removeprefix("supervision_task.") for e in await events_of(harness, task_id)] == [
            "created", "progress_reported", "progress_reported", "co_opinion_given", "extension_requested",
            "extension_decided", "report_overdue", "progress_reported", "overdue_warning", "completion_submitted",
            "completion_sent_back", "completion_submitted", "completed"]
        completed = (await events_of(harness, task_id))[-1]
        assert recipients(completed) == {"department:qd-housing", "department:qd-env", f"user:{mayor_id}"}
    finally:
        clock.travel_back()
