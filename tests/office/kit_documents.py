"""Documents' part of the office kit: a draft of 市住建局 (submitted, with a route inside the
department) and a copy delivered to it, both holding the main text ``file_id`` (the kit's PDF:
the tasks' part holds the same bytes, so one ``file_id`` serves every download route);
生态环境局's clerk is named on neither."""

from __future__ import annotations

from typing import Any

BODIES: dict[str, dict[str, Any]] = {
    "DecisionIn": {"decision": "approve", "opinion": "同意"},
    "SignerChangeIn": {"step": "sign-1", "add": ["0" * 20]},
    "InstructionIn": {"text": "请抓紧办理"},
    "ReasonIn": {"reason": "不属于本单位职责"},
    "LeaderIn": {"leader": "0" * 20},
    "IncomingInstructionIn": {"opinion": "请办理", "handling_unit": "qd-housing"},
    "ResultIn": {"text": "已办理完毕"},
    "PrefixIn": {"prefix": "青建发"},
    "DelegationIn": {"deputy": "0" * 20, "starts_at": "2026-12-07T08:00:00+08:00",
                     "ends_at": "2026-12-09T18:00:00+08:00"},
}
OBJECT_PARAMS = frozenset({"document_id", "incoming_id"})


async def make(harness: Any) -> dict[str, str]:
    from tests.office.test_documents import draft_document, me, post  # noqa: PLC0415 - tests import the harness

    lead = await harness.staff("housing_lead")
    doc, people = await draft_document(harness, route=[{"kind": "sign", "signers": [await me(lead)]}])
    other, _ = await draft_document(harness, route=[{"kind": "sign", "signers": [await me(lead)]}],
                                    main_recipients=["qd-housing"], copy_recipients=[])
    await post(people["housing"], f"/api/v1/office/documents/{other['id']}/submit", {})
    await post(lead, f"/api/v1/office/documents/{other['id']}/decision", {"decision": "approve"})
    distributed = await post(people["housing"], f"/api/v1/office/documents/{other['id']}/distribution", {})
    return {"document_id": doc["id"], "incoming_id": distributed["distribution"][0]["incoming_id"],
            "code": "qd-housing", "file_id": doc["main_text"]["file_id"]}
