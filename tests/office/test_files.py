"""The office's files through HTTP: an outgoing document's main text and attachments, an incoming
copy's frozen text and result, a supervision task's reports; each to whoever may see the object
holding it, the object's own 404 for anyone else."""

from __future__ import annotations

from typing import Any

from tests.attachments.images import png
from tests.conftest import ApiClient, Harness
from tests.office.kit_tasks import TASK
from tests.office.test_documents import PDF, draft_document, me, post, upload

PNG = png()
DOCUMENTS = "/api/v1/office/documents"
INCOMING = "/api/v1/office/incoming"


async def upload_png(client: ApiClient, name: str) -> str:
    resp = await client.post("/api/v1/files", raw=PNG, headers={"Content-Type": "image/png"}, params={"filename": name})
    assert resp.status == 201, resp.body
    return resp.body["id"]


async def assert_refused(client: ApiClient, url: str, code: str) -> None:
    resp = await client.get(url)
    assert resp.status == 404 and resp.error_code == code, (url, resp.status, resp.body)


async def test_a_documents_files_and_its_copies(harness: Harness) -> None:
    lead = await harness.staff("housing_lead")
    housing = await harness.staff("housing")
    doc, people = await draft_document(harness, route=[{"kind": "sign", "signers": [await me(lead)]}],
                                       main_recipients=["qd-env"], copy_recipients=[],
                                       attachments=[await upload_png(housing, "现场照片.png")])
    files = f"{DOCUMENTS}/{doc['id']}/files"
    main, photo = doc["main_text"], doc["attachments"][0]
    assert main["url"] == f"{files}/{main['file_id']}" and main["thumbnail_url"] is None
    assert photo["thumbnail_url"] == f"{files}/{photo['file_id']}?thumbnail=1"
    got = await housing.get(main["url"])
    assert got.status == 200 and got.body == PDF and got.headers["Content-Type"] == "application/pdf"
    assert (await lead.get(photo["thumbnail_url"])).headers["Content-Type"] == "image/jpeg"  # a signer sees it
    env = await harness.staff("env")
    await assert_refused(env, main["url"], "document_not_found")
    stray = await upload(housing, PDF + b"% draft 2\n", name="另一稿.pdf")  # uploaded, never attached
    stray_id = (await harness.ctx.store.collection("uploads").find_one({"_id": stray}))["file_id"]
    await assert_refused(housing, f"{files}/{stray_id}", "document_not_found")

    # Signed: the frozen text is linked too; distributed, the copy holds it and the attachments.
    await post(housing, f"{DOCUMENTS}/{doc['id']}/submit", {})
    signed = await post(lead, f"{DOCUMENTS}/{doc['id']}/decision", {"decision": "approve"})
    assert signed["frozen"]["url"] == main["url"] and signed["frozen"]["content_type"] == "application/pdf"
    distributed = await post(housing, f"{DOCUMENTS}/{doc['id']}/distribution", {})
    copy_id = distributed["distribution"][0]["incoming_id"]
    copy = (await env.get(f"{INCOMING}/{copy_id}")).body
    copy_files = f"{INCOMING}/{copy_id}/files"
    assert copy["document"]["frozen"]["url"] == f"{copy_files}/{main['file_id']}"
    assert copy["document"]["attachments"][0]["url"] == f"{copy_files}/{photo['file_id']}"
    assert (await env.get(copy["document"]["frozen"]["url"])).body == PDF
    assert (await env.get(copy["document"]["attachments"][0]["url"])).body == PNG
    await assert_refused(env, main["url"], "document_not_found")  # the copy, not the outgoing document
    await assert_refused(await harness.staff("transport"), copy["document"]["frozen"]["url"], "document_not_found")

    # The recipient's result, with its own document: the recipient and the sender see it.
    env_lead = people["env_lead"]
    await post(env, f"{INCOMING}/{copy_id}/sign-for", {})
    await post(env, f"{INCOMING}/{copy_id}/registration", {})
    await post(env, f"{INCOMING}/{copy_id}/leader", {"leader": await me(env_lead)})
    await post(env_lead, f"{INCOMING}/{copy_id}/instruction", {"opinion": "请落实", "handling_unit": "qd-env"})
    result = await post(env, f"{INCOMING}/{copy_id}/result",
                        {"text": "已部署专项检查", "attachments": [await upload(env, PDF + b"% result\n", "落实情况.pdf")]})
    result_url = result["result"]["attachments"][0]["url"]
    assert result_url.startswith(copy_files)
    for client in (env, housing):
        assert (await client.get(result_url)).body == PDF + b"% result\n"
    await assert_refused(await harness.staff("transport"), result_url, "document_not_found")


async def test_a_tasks_reports_and_completion(harness: Harness) -> None:
    leader = await me(await harness.staff("shinan_admin"))
    center, housing, urban = [await harness.staff(n) for n in ("center", "housing", "urban_lead")]
    created = await center.post("/api/v1/office/tasks", {
        **TASK, "source": {"kind": "instruction", "text": "请住建局牵头抓紧推进", "leader_id": leader}})
    assert created.status == 201, created.body
    task_url = f"/api/v1/office/tasks/{created.body['id']}"
    reported = await post(housing, f"{task_url}/reports",
                          {"text": "已完成前期摸底调查", "attachments": [await upload_png(housing, "摸底照片.png")]})
    photo = reported["reports"][0]["attachments"][0]
    assert photo["url"] == f"{task_url}/files/{photo['file_id']}"
    for client in (housing, center, urban):  # the lead unit, the supervisor, the co-unit
        assert (await client.get(photo["url"])).body == PNG
    thumbnail = await center.get(photo["thumbnail_url"])
    assert thumbnail.status == 200 and thumbnail.headers["Content-Type"] == "image/jpeg"
    env = await harness.staff("env")
    await assert_refused(env, photo["url"], "supervision_task_not_found")
    await assert_refused(env, photo["thumbnail_url"], "supervision_task_not_found")

    await post(urban, f"{task_url}/opinion", {"text": "同意主办单位的方案"})
    done: dict[str, Any] = await post(housing, f"{task_url}/completion", {
        "text": "试点小区加装电梯已全部完成审批并开工建设。", "attachments": [await upload(housing, name="办结报告.pdf")]})
    report_url = done["completion"]["attachments"][0]["url"]
    assert (await center.get(report_url)).body == PDF
    await assert_refused(env, report_url, "supervision_task_not_found")
    await assert_refused(center, f"{task_url}/files/{'f' * 64}", "supervision_task_not_found")
