"""Official documents through HTTP: the outgoing document's approval route, sign-off with a number
and a frozen text, distribution, and each recipient's copy to its result."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from backend.clock import to_api
from tests.conftest import ApiClient, Harness

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def me(client: ApiClient) -> str:
    return (await client.get("/api/v1/me")).body["id"]


async def upload(client: ApiClient, data: bytes = PDF, name: str = "关于加强夜间施工管理的通知.pdf") -> str:
    resp = await client.post("/api/v1/files", raw=data, headers={"Content-Type": "application/pdf"},
                             params={"filename": name})
    assert resp.status == 201, resp.body
    return resp.body["id"]


async def todo_labels(harness: Harness, client: ApiClient) -> list[tuple[str, str]]:
    await harness.settle()
    body = (await client.get("/api/v1/todos", params={"module": "office"})).body
    return [(item["subject"]["id"], item["label"]) for item in body["items"]]


async def post(client: ApiClient, path: str, body: Any = None) -> dict[str, Any]:
    resp = await client.post(path, body)
    assert resp.status == 200, (path, resp.status, resp.body)
    return resp.body


async def draft_document(harness: Harness, **changes: Any) -> tuple[dict[str, Any], dict[str, ApiClient]]:
    people = {name: await harness.staff(name) for name in (
        "housing", "housing_office", "env_lead", "urban_lead", "housing_lead", "housing_deputy")}
    ids = {name: await me(client) for name, client in people.items()}
    body = {
        "title": "关于加强建筑工地夜间施工管理的通知", "doc_type": "notice", "urgency": "urgent", "secrecy": "internal",
        "main_text": await upload(people["housing"]), "main_recipients": ["qd-env", "qd-urban"],
        "copy_recipients": ["qd-transport"],
        "route": [{"kind": "review", "signers": [ids["housing_office"]]},
                  {"kind": "countersign", "signers": [ids["env_lead"], ids["urban_lead"]], "rule": "all"},
                  {"kind": "sign", "signers": [ids["housing_lead"]]}],
        **changes}
    resp = await people["housing"].post("/api/v1/office/documents", body)
    assert resp.status == 201, resp.body
    return resp.body, people


async def test_outgoing_document_journey(harness: Harness) -> None:
    admin = await harness.staff("admin")
    assert (await admin.put("/api/v1/office/number-prefixes/qd-housing", {"prefix": "青建发"})).status == 200
    doc, people = await draft_document(harness)
    doc_id, drafter = doc["id"], people["housing"]
    assert doc["state"] == "draft" and doc["number"] is None and doc["route"]["current"] == "review-1"
    assert await todo_labels(harness, drafter) == [(doc_id, "修改并提交公文")]

    # 核稿, then the countersign: one leader rejects back to the drafter.
    submitted = await post(drafter, f"/api/v1/office/documents/{doc_id}/submit", {})
    assert submitted["state"] == "in_approval" and submitted["due_at"] and submitted["warning_level"] == "normal"
    assert await todo_labels(harness, people["housing_office"]) == [(doc_id, "审批公文")]
    await post(people["housing_office"], f"/api/v1/office/documents/{doc_id}/decision",
               {"decision": "approve", "opinion": "文字已核"})
    assert await todo_labels(harness, people["env_lead"]) == [(doc_id, "审批公文")]
    assert await todo_labels(harness, people["urban_lead"]) == [(doc_id, "审批公文")]
    rejected = await post(people["env_lead"], f"/api/v1/office/documents/{doc_id}/decision",
                          {"decision": "reject", "opinion": "请补充噪声监测要求"})
    assert rejected["state"] == "draft" and await todo_labels(harness, people["urban_lead"]) == []
    assert await todo_labels(harness, drafter) == [(doc_id, "修改并提交公文")]
    edited = await drafter.patch(f"/api/v1/office/documents/{doc_id}", {"title": "关于加强建筑工地夜间施工和噪声管理的通知"})
    assert edited.status == 200, edited.body

    # Resubmitted: the route starts again; the countersign needs both ("all").
    await post(drafter, f"/api/v1/office/documents/{doc_id}/submit", {"comment": "已按意见修改"})
    await post(people["housing_office"], f"/api/v1/office/documents/{doc_id}/decision", {"decision": "approve"})
    await post(people["env_lead"], f"/api/v1/office/documents/{doc_id}/decision",
               {"decision": "approve", "opinion": "同意"})
    assert (await drafter.get(f"/api/v1/office/documents/{doc_id}")).body["route"]["current"] == "countersign-2"
    await post(people["urban_lead"], f"/api/v1/office/documents/{doc_id}/decision",
               {"decision": "approve", "opinion": "同意，城管局配合执法"})
    assert await todo_labels(harness, people["housing_lead"]) == [(doc_id, "审批公文")]

    # The leader's 批示 reaches the drafter at once; then the leader is away and the deputy signs.
    await post(people["housing_lead"], f"/api/v1/office/documents/{doc_id}/instructions", {"text": "请抓紧分发执行"})
    events = await harness.settle()
    instructed = [e for e in events if e["type"] == "office.document.instructed"]
    assert instructed and instructed[0]["recipients"] == [{"kind": "user", "id": await me(drafter)}]
    now = harness.ctx.clock.now()
    delegated = await people["housing_lead"].post("/api/v1/office/delegations", {
        "deputy": await me(people["housing_deputy"]), "starts_at": to_api(now - timedelta(hours=1)),
        "ends_at": to_api(now + timedelta(days=3)), "reason": "外出参加培训"})
    assert delegated.status == 201 and delegated.body["active"], delegated.body
    assert await todo_labels(harness, people["housing_deputy"]) == [(doc_id, "审批公文")]
    signed = await post(people["housing_deputy"], f"/api/v1/office/documents/{doc_id}/decision",
                        {"decision": "approve", "opinion": "同意印发"})
    assert signed["state"] == "signed" and signed["number"] == "青建发〔2026〕1号"
    assert signed["frozen"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert signed["opinions"][-1]["shown_as"] == "住建局副局长 代 住建局局长"
    assert [o["decision"] for o in signed["opinions"]] == ["approve", "reject", "approve", "approve", "approve",
                                                          "approve"]
    assert signed["history"][-1]["on_behalf_of"] == await me(people["housing_lead"])
    assert (await drafter.patch(f"/api/v1/office/documents/{doc_id}", {"title": "签发后不能再改的标题"})).status == 409

    # Distributed to three departments: two sign for it, one returns it with a reason.
    distributed = await post(drafter, f"/api/v1/office/documents/{doc_id}/distribution", {})
    assert distributed["state"] == "distributed"
    copies = {entry["department"]: entry["incoming_id"] for entry in distributed["distribution"]}
    assert set(copies) == {"qd-env", "qd-urban", "qd-transport"}
    env, officer, transport = [await harness.staff(n) for n in ("env", "officer", "transport")]
    assert await todo_labels(harness, env) == [(copies["qd-env"], "签收公文")]
    await post(env, f"/api/v1/office/incoming/{copies['qd-env']}/sign-for", {})
    await post(officer, f"/api/v1/office/incoming/{copies['qd-urban']}/sign-for", {})
    returned = await post(transport, f"/api/v1/office/incoming/{copies['qd-transport']}/return",
                          {"reason": "不属于我局职责范围"})
    assert returned["state"] == "returned"
    status = {entry["department"]: entry["state"]
              for entry in (await drafter.get(f"/api/v1/office/documents/{doc_id}")).body["distribution"]}
    assert status == {"qd-env": "received", "qd-urban": "received", "qd-transport": "returned"}

    # 生态环境局: registered, the leader assigns handling, a result is attached, closed.
    copy = copies["qd-env"]
    registered = await post(env, f"/api/v1/office/incoming/{copy}/registration", {})
    assert registered["registration_no"] == "收〔2026〕1号"
    await post(env, f"/api/v1/office/incoming/{copy}/leader", {"leader": await me(people["env_lead"])})
    assert await todo_labels(harness, people["env_lead"]) == [(copy, "拟办公文")]
    await post(people["env_lead"], f"/api/v1/office/incoming/{copy}/instruction",
               {"opinion": "请大气处牵头落实", "handling_unit": "qd-env"})
    empty = await env.post(f"/api/v1/office/incoming/{copy}/close", {})
    assert empty.status == 409 and empty.error_code == "result_required"
    await post(env, f"/api/v1/office/incoming/{copy}/result",
               {"text": "已部署夜间施工噪声专项检查", "attachments": [await upload(env, name="落实情况.pdf")]})
    closed = await post(env, f"/api/v1/office/incoming/{copy}/close", {})
    assert closed["state"] == "closed" and closed["result"]["text"] == "已部署夜间施工噪声专项检查"

    # 城管局: circulated for reading; read receipts per person, closed when all have read.
    copy = copies["qd-urban"]
    await post(officer, f"/api/v1/office/incoming/{copy}/registration", {})
    await post(officer, f"/api/v1/office/incoming/{copy}/leader", {"leader": await me(people["urban_lead"])})
    readers = [await me(officer), await me(people["urban_lead"])]
    await post(people["urban_lead"], f"/api/v1/office/incoming/{copy}/instruction",
               {"opinion": "请相关同志阅知", "readers": readers})
    first = await post(officer, f"/api/v1/office/incoming/{copy}/read")
    assert first["read_count"] == 1 and first["unread_count"] == 1 and first["state"] == "circulating"
    again = await post(officer, f"/api/v1/office/incoming/{copy}/read")
    assert again["read_count"] == 1  # idempotent
    done = await post(people["urban_lead"], f"/api/v1/office/incoming/{copy}/read")
    assert done["state"] == "closed" and all(r["read_at"] for r in done["readers"])


async def test_other_departments_see_nothing_of_it(harness: Harness) -> None:
    doc, people = await draft_document(harness)
    env = await harness.staff("env")  # 生态环境局's clerk is named nowhere on it
    assert (await env.get(f"/api/v1/office/documents/{doc['id']}")).status == 404
    for action, body in (("submit", {}), ("decision", {"decision": "approve"}), ("withdrawal", {"reason": "无关"})):
        assert (await env.post(f"/api/v1/office/documents/{doc['id']}/{action}", body)).status == 404
    assert (await env.get("/api/v1/office/documents")).body["items"] == []
    # A leader named on the route sees it, and only acts when the route reaches them.
    early = await people["env_lead"].post(f"/api/v1/office/documents/{doc['id']}/decision", {"decision": "approve"})
    assert early.status == 409
    # The drafting department sees it in its list.
    listed = (await people["housing_office"].get("/api/v1/office/documents")).body["items"]
    assert [item["id"] for item in listed] == [doc["id"]]
    named = (await people["env_lead"].get("/api/v1/office/documents", params={"named": "true"})).body["items"]
    assert [item["id"] for item in named] == [doc["id"]]


async def test_quorum_countersign_and_signers_changed_mid_way(harness: Harness) -> None:
    people = {name: await harness.staff(name) for name in ("housing", "env_lead", "urban_lead", "housing_lead",
                                                           "housing_office")}
    ids = {name: await me(client) for name, client in people.items()}
    doc, _ = await draft_document(harness, route=[
        {"kind": "countersign", "signers": [ids["env_lead"], ids["urban_lead"], ids["housing_office"]],
         "rule": "quorum", "quorum": 2},
        {"kind": "sign", "signers": [ids["housing_lead"]]}])
    drafter = people["housing"]
    await post(drafter, f"/api/v1/office/documents/{doc['id']}/submit", {})
    # 减签 of one, 加签 of another: the step now waits for env_lead and housing (2 of them).
    changed = await post(drafter, f"/api/v1/office/documents/{doc['id']}/signers",
                         {"step": "countersign-1", "remove": [ids["urban_lead"]], "add": [ids["housing"]]})
    assert set(changed["route"]["waiting_for"]) == {ids["env_lead"], ids["housing_office"], ids["housing"]}
    await post(people["env_lead"], f"/api/v1/office/documents/{doc['id']}/decision", {"decision": "approve"})
    after = await post(people["housing_office"], f"/api/v1/office/documents/{doc['id']}/decision",
                       {"decision": "approve"})
    assert after["route"]["current"] == "sign-2"  # 2 of 3: the quorum
    # Rejecting back to an earlier named step.
    back = await post(people["housing_lead"], f"/api/v1/office/documents/{doc['id']}/decision",
                      {"decision": "reject", "opinion": "会签意见不一致，请重新会签", "to_step": "countersign-1"})
    assert back["state"] == "in_approval" and back["route"]["current"] == "countersign-1"
    forward = await people["env_lead"].post(f"/api/v1/office/documents/{doc['id']}/decision",
                                            {"decision": "reject", "opinion": "向后退回", "to_step": "sign-2"})
    assert forward.status == 400


async def test_bad_drafts_are_refused_and_nothing_is_stored(harness: Harness) -> None:
    housing = await harness.staff("housing")
    lead = await me(await harness.staff("housing_lead"))
    main = await upload(housing)
    base = {"title": "关于开展安全检查的通知", "doc_type": "notice", "main_text": main, "main_recipients": ["qd-env"],
            "route": [{"kind": "sign", "signers": [lead]}]}
    cases = [
        ({**base, "route": [{"kind": "review", "signers": [lead]}]}, 400),  # no sign-off step
        ({**base, "doc_type": "memo"}, 400),
        ({**base, "main_recipients": []}, 400),
        ({**base, "copy_recipients": ["qd-env"]}, 400),
        ({**base, "route": [{"kind": "sign", "signers": ["0" * 20]}]}, 404),  # no such signer
        ({**base, "main_recipients": ["qd-nowhere"]}, 404),
        ({**base, "main_text": "0" * 20}, 400),  # not an upload of the drafter's
        ({**base, "route": [{"kind": "countersign", "signers": [lead], "rule": "quorum", "quorum": 2},
                            {"kind": "sign", "signers": [lead]}]}, 400),
    ]
    for body, status in cases:
        resp = await housing.post("/api/v1/office/documents", body)
        assert resp.status == status, (body, resp.body)
    assert await harness.ctx.store.collection("office_documents").count({}) == 0


async def test_concurrent_sign_offs_take_consecutive_numbers_without_gaps(harness: Harness) -> None:
    import asyncio

    lead = await harness.staff("housing_lead")
    drafts = [(await draft_document(harness, route=[{"kind": "sign", "signers": [await me(lead)]}]))[0]
              for _ in range(4)]
    housing = await harness.staff("housing")
    for doc in drafts:
        await post(housing, f"/api/v1/office/documents/{doc['id']}/submit", {})
    signed = await asyncio.gather(*(lead.post(f"/api/v1/office/documents/{doc['id']}/decision",
                                              {"decision": "approve"}) for doc in drafts))
    assert all(resp.status == 200 for resp in signed), [resp.body for resp in signed]
    assert sorted(resp.body["number"] for resp in signed) == [
        f"市住房和城乡建设局发〔2026〕{n}号" for n in (1, 2, 3, 4)]
