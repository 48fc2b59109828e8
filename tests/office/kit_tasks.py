"""The supervision tasks' part of the office test kit: a task led by 市住建局 (qd-housing) with
市城市管理局 (qd-urban) as co-unit, supervised by the mailbox office's clerk for 市南区's
administrator as leader, with a progress report carrying the kit's PDF (``file_id``, the same
bytes as the documents' part). 生态环境局 (qd-env) has no part in it and must get 404."""

from __future__ import annotations

from typing import Any

OBJECT_PARAMS = frozenset({"task_id"})

TASK = {
    "title": "老旧小区加装电梯专项督办", "requirement": "按照市政府常务会议要求，年内完成试点小区加装电梯的审批与开工。",
    "lead_department": "qd-housing", "co_departments": ["qd-urban"], "deadline_days": 20, "report_every_days": 5,
}

BODIES: dict[str, dict[str, Any]] = {
    "TaskIn": {**TASK, "source": {"kind": "document", "document_id": "1" * 20, "document_title": "关于推进加装电梯的通知"}},
    "TaskOpinionIn": {"text": "同意主办单位的方案"},
    "TaskReportIn": {"text": "已完成前期摸底调查"},
    "TaskExtensionIn": {"reason": "需等待专项资金下达", "days": 5},
    "TaskExtensionDecisionIn": {"approve": True},
    "TaskCompletionIn": {"text": "试点小区加装电梯已全部完成审批并开工建设。"},
    "TaskReviewIn": {"accept": True},
}


async def make(harness: Any) -> dict[str, str]:
    from tests.office.test_documents import upload  # noqa: PLC0415 - tests import the harness

    leader = (await (await harness.staff("shinan_admin")).get("/api/v1/me")).body["id"]
    center = await harness.staff("center")
    created = await center.post("/api/v1/office/tasks", {
        **TASK, "source": {"kind": "instruction", "text": "请住建局牵头抓紧推进", "leader_id": leader}})
    assert created.status == 201, created.body
    housing = await harness.staff("housing")
    report = await housing.post(f"/api/v1/office/tasks/{created.body['id']}/reports",
                                {"text": "已完成前期摸底调查", "attachments": [await upload(housing, name="摸底情况.pdf")]})
    assert report.status == 200, report.body
    return {"task_id": created.body["id"], "file_id": report.body["reports"][0]["attachments"][0]["file_id"]}
