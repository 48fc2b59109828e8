"""Demo official documents, one in each interesting state, through the use cases: a draft, one
waiting at the countersign, one signed and numbered, and distributed ones whose copies are
delivered, circulating, handled to a result or returned; and a delegation to come."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.attachments.use_cases import do_upload_bytes
from backend.auth.tokens import Principal
from backend.clock import to_api
from backend.context import Context
from backend.demo_cast import DemoCast
from backend.office.delegations.schemas import DelegationIn
from backend.office.delegations.use_cases import do_grant_delegation
from backend.office.documents import use_cases as do
from backend.office.documents.schemas import (
    CommentIn,
    DecisionIn,
    DocumentIn,
    IncomingInstructionIn,
    LeaderIn,
    PrefixIn,
    ReasonIn,
    ResultIn,
)
from backend.office.documents.workflow import DOCUMENTS

PDF = b"%PDF-1.4\n%demo\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NONE = CommentIn()


async def _draft(ctx: Context, cast: DemoCast, doc_id: str, title: str, recipients: list[str],
                 copy: list[str] | None = None, countersign: bool = True) -> Principal:
    housing = await cast.staff("housing")
    people = {n: (await cast.staff(n)).user_id for n in ("housing_office", "env_lead", "urban_lead", "housing_lead")}
    upload = await do_upload_bytes(ctx, PDF, content_type="application/pdf", filename=f"{title}.pdf",
                                   acting_user=housing, upload_id=doc_id[:-4] + "f" + doc_id[-3:])
    route: list[dict[str, Any]] = [{"kind": "review", "signers": [people["housing_office"]]}]
    if countersign:
        route.append({"kind": "countersign", "signers": [people["env_lead"], people["urban_lead"]]})
    route.append({"kind": "sign", "signers": [people["housing_lead"]]})
    body = DocumentIn.model_validate({"title": title, "doc_type": "notice", "urgency": "urgent",
                                      "main_text": upload["id"], "main_recipients": recipients,
                                      "copy_recipients": copy or [], "route": route}, strict=False)
    await do.do_draft_document(ctx, body, acting_user=housing, document_id=doc_id)
    return housing


async def _approve(ctx: Context, cast: DemoCast, doc_id: str, *names: str) -> None:
    for name in names:
        await do.do_decide_document(ctx, doc_id, DecisionIn(decision="approve", opinion="同意"),
                                    acting_user=await cast.staff(name), expected_version=None)


async def create_demo_documents(ctx: Context, cast: DemoCast) -> int:
    """Idempotent: a document that exists is left as it is. Returns how many were made."""
    admin = await cast.staff("admin")
    await do.do_set_number_prefix(ctx, "qd-housing", PrefixIn(prefix="青建发"), acting_user=admin)
    full_route = ("housing_office", "env_lead", "urban_lead", "housing_lead")
    made = 0

    async def fresh(doc_id: str) -> bool:
        return await ctx.store.collection(DOCUMENTS).find_one({"_id": doc_id}, projection=["_id"]) is None

    if await fresh(doc_id := "de00000000000000d001"):
        await _draft(ctx, cast, doc_id, "关于开展2027年春节前安全生产大检查的通知", ["qd-env", "qd-urban"])
        made += 1
    if await fresh(doc_id := "de00000000000000d002"):
        drafter = await _draft(ctx, cast, doc_id, "关于加强建筑工地扬尘治理的通知", ["qd-env"])
        await do.do_submit_document(ctx, doc_id, NONE, acting_user=drafter, expected_version=None)
        await _approve(ctx, cast, doc_id, "housing_office", "env_lead")  # waits for 城管局 at the countersign
        made += 1
    if await fresh(doc_id := "de00000000000000d003"):
        drafter = await _draft(ctx, cast, doc_id, "关于印发老旧小区改造工作方案的通知", ["qd-urban"])
        await do.do_submit_document(ctx, doc_id, NONE, acting_user=drafter, expected_version=None)
        await _approve(ctx, cast, doc_id, *full_route)  # signed and numbered, waiting to be distributed
        made += 1
    if await fresh(doc_id := "de00000000000000d004"):
        drafter = await _draft(ctx, cast, doc_id, "关于做好夜间施工管理工作的通知", ["qd-env", "qd-urban"],
                               copy=["qd-transport"])
        await do.do_submit_document(ctx, doc_id, NONE, acting_user=drafter, expected_version=None)
        await _approve(ctx, cast, doc_id, *full_route)
        await do.do_distribute_document(ctx, doc_id, NONE, acting_user=drafter, expected_version=None)
        officer, urban_lead = await cast.staff("officer"), await cast.staff("urban_lead")
        copy_id = do.incoming_id(doc_id, "qd-urban")
        await do.do_sign_for_incoming(ctx, copy_id, NONE, acting_user=officer, expected_version=None)
        await do.do_register_incoming(ctx, copy_id, NONE, acting_user=officer, expected_version=None)
        await do.do_submit_incoming_to_leader(ctx, copy_id, LeaderIn(leader=urban_lead.user_id), acting_user=officer,
                                              expected_version=None)
        await do.do_instruct_incoming(ctx, copy_id, IncomingInstructionIn(
            opinion="请执法支队阅知", readers=[officer.user_id, urban_lead.user_id]), acting_user=urban_lead,
            expected_version=None)
        await do.do_read_incoming(ctx, copy_id, acting_user=officer)  # circulating: one of two has read
        await do.do_return_incoming(ctx, do.incoming_id(doc_id, "qd-transport"),
                                    ReasonIn(reason="不属于我局职责范围"), acting_user=await cast.staff("transport"),
                                    expected_version=None)  # 生态环境局's copy waits to be signed for
        made += 1
    if await fresh(doc_id := "de00000000000000d005"):
        drafter = await _draft(ctx, cast, doc_id, "关于开展噪声污染专项整治的通知", ["qd-env"], countersign=False)
        await do.do_submit_document(ctx, doc_id, NONE, acting_user=drafter, expected_version=None)
        await _approve(ctx, cast, doc_id, "housing_office", "housing_lead")
        await do.do_distribute_document(ctx, doc_id, NONE, acting_user=drafter, expected_version=None)
        env, env_lead = await cast.staff("env"), await cast.staff("env_lead")
        copy_id = do.incoming_id(doc_id, "qd-env")
        await do.do_sign_for_incoming(ctx, copy_id, NONE, acting_user=env, expected_version=None)
        await do.do_register_incoming(ctx, copy_id, NONE, acting_user=env, expected_version=None)
        await do.do_submit_incoming_to_leader(ctx, copy_id, LeaderIn(leader=env_lead.user_id), acting_user=env,
                                              expected_version=None)
        await do.do_instruct_incoming(ctx, copy_id, IncomingInstructionIn(opinion="请大气处办理",
                                                                          handling_unit="qd-env"),
                                      acting_user=env_lead, expected_version=None)
        await do.do_attach_result(ctx, copy_id, ResultIn(text="已开展专项整治，查处违规施工12起"), acting_user=env,
                                  expected_version=None)
        await do.do_close_incoming(ctx, copy_id, NONE, acting_user=env, expected_version=None)
        # A week's leave from next Monday: 住建局局长 lets the deputy sign.
        lead, deputy = await cast.staff("housing_lead"), await cast.staff("housing_deputy")
        now = ctx.clock.now()
        monday = now + timedelta(days=7 - now.weekday())
        await do_grant_delegation(ctx, DelegationIn.model_validate({
            "deputy": deputy.user_id, "starts_at": to_api(monday.replace(hour=0, minute=0, second=0, microsecond=0)),
            "ends_at": to_api(monday.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=5)),
            "reason": "参加市委党校培训"}, strict=False), acting_user=lead, delegation_id="de00000000000000e001")
        made += 1
    return made
