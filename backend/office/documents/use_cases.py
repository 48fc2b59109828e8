"""Every write to an official document: each is one declared transition of the outgoing or the
incoming workflow, applied by the case kernel. The functions here do the document's own work:
resolve signers and recipients, move the approval route (``backend/cases/steps.py``), number and
freeze the text at sign-off, and make one incoming copy per recipient at distribution."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from backend.attachments.use_cases import resolve_attachments
from backend.auth.tokens import Principal
from backend.cases import steps
from backend.cases.delegation import acting_for
from backend.cases.engine import apply, authorize, create_cases
from backend.clock import to_storage
from backend.context import Context
from backend.errors import DuplicateKey, VersionConflict
from backend.identity.queries import active_staff, get_department, subtree_codes
from backend.office.documents import numbering, queries
from backend.office.documents.errors import InvalidRoute, NoDepartment, NumberUnavailable, OutsideOwnDepartments
from backend.office.documents.queries import access_document, access_incoming
from backend.office.documents.schemas import (
    STEP_NAMES,
    CommentIn,
    DecisionIn,
    DocumentIn,
    DocumentPatch,
    IncomingInstructionIn,
    InstructionIn,
    LeaderIn,
    PrefixIn,
    ReasonIn,
    ResultIn,
    SignerChangeIn,
    StepIn,
)
from backend.office.documents.workflow import INCOMING, INCOMING_WORKFLOW, OUTGOING_WORKFLOW, waiting_readers
from backend.tracking import COUNTERS

_RETRIES = 5


# --- drafting -------------------------------------------------------------------------------

async def _route(ctx: Context, specs: list[StepIn]) -> dict[str, Any]:
    people = await active_staff(ctx.store, [user_id for step in specs for user_id in step.signers])
    route = []
    for index, step in enumerate(specs):
        name = step.name or STEP_NAMES[step.kind]
        route.append(steps.StepSpec(id=f"{step.kind.value}-{index + 1}", name=name, rule=step.rule, quorum=step.quorum,
                                    signers=[people[user_id] for user_id in step.signers]))
    return steps.new_route(route)


async def _recipients(ctx: Context, main: list[str], copy: list[str]) -> None:
    for code in dict.fromkeys([*main, *copy]):
        await get_department(ctx.store, code)


def _participants(drafter: str, route: dict[str, Any]) -> list[str]:
    named = [signer["user_id"] for step in route["steps"] for signer in step["signers"]]
    return list(dict.fromkeys([drafter, *named]))


async def do_draft_document(ctx: Context, data: DocumentIn, *, acting_user: Principal,
                            document_id: str) -> dict[str, Any]:
    """A new outgoing document (发文稿) in the drafter's department, with its approval route."""
    if acting_user.department is None:
        raise NoDepartment()
    await _recipients(ctx, data.main_recipients, data.copy_recipients)
    route = await _route(ctx, data.route)
    (main_text,) = await resolve_attachments(ctx, [data.main_text], owner=acting_user)
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user)
    fields = {
        "title": data.title, "doc_type": data.doc_type.value, "urgency": data.urgency.value,
        "secrecy": data.secrecy.value, "department": acting_user.department, "drafter_id": acting_user.user_id,
        "main_text": main_text, "attachments": attachments, "main_recipients": data.main_recipients,
        "copy_recipients": data.copy_recipients, "route": route, "instructions": [],
        "participants": _participants(acting_user.user_id, route), "number": None, "frozen": None,
    }
    try:
        (doc,) = await create_cases(ctx, OUTGOING_WORKFLOW, [(document_id, fields)], actor=acting_user)
    except DuplicateKey:  # the same Idempotency-Key's earlier attempt stored it
        doc = await access_document(ctx, acting_user, document_id)
    return await queries.document_out(ctx, doc, viewer=acting_user)


async def do_edit_document(ctx: Context, document_id: str, data: DocumentPatch, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    doc = await access_document(ctx, acting_user, document_id)
    changes: dict[str, Any] = {}
    for name in ("title", "urgency", "secrecy"):
        value = getattr(data, name)
        if value is not None:
            changes[name] = value.value if hasattr(value, "value") else value
    if data.main_text is not None:
        (changes["main_text"],) = await resolve_attachments(ctx, [data.main_text], owner=acting_user)
    if data.attachments is not None:
        changes["attachments"] = await resolve_attachments(ctx, data.attachments, owner=acting_user)
    main = data.main_recipients if data.main_recipients is not None else doc["main_recipients"]
    copy = data.copy_recipients if data.copy_recipients is not None else doc["copy_recipients"]
    if set(main) & set(copy):
        raise InvalidRoute("同一单位不能既主送又抄送")
    if data.main_recipients is not None or data.copy_recipients is not None:
        await _recipients(ctx, main, copy)
        changes.update(main_recipients=main, copy_recipients=copy)
    if data.route is not None:
        if data.route[-1].kind.value != "sign" or sum(step.kind.value == "sign" for step in data.route) != 1:
            raise InvalidRoute("审批流程须以唯一的签发步骤结束")
        changes["route"] = await _route(ctx, data.route)
        changes["participants"] = _participants(doc["drafter_id"], changes["route"])
    if not changes:
        return await queries.document_out(ctx, doc, viewer=acting_user)
    after = await apply(ctx, OUTGOING_WORKFLOW, doc, "edit", actor=acting_user, expected_version=expected_version,
                        changes={"$set": changes}, history={"fields": sorted(changes)})
    return await queries.document_out(ctx, after, viewer=acting_user)


async def do_submit_document(ctx: Context, document_id: str, data: CommentIn, *, acting_user: Principal,
                             expected_version: int | None) -> dict[str, Any]:
    """Into approval: the route starts again from its first step (a returned draft too); the
    approval clock starts, or resumes where it was paused."""
    doc = await access_document(ctx, acting_user, document_id)
    outcome = "again" if doc.get("submitted_at") else "first"
    changes = {"$set": {"route": steps.restart(doc["route"]), "submitted_at": ctx.clock.stored()}}
    after = await apply(ctx, OUTGOING_WORKFLOW, doc, "submit", actor=acting_user, outcome=outcome,
                        comment=data.comment, expected_version=expected_version, changes=changes)
    return await queries.document_out(ctx, after, viewer=acting_user)


# --- approval -------------------------------------------------------------------------------

async def do_decide_document(ctx: Context, document_id: str, data: DecisionIn, *, acting_user: Principal,
                             expected_version: int | None) -> dict[str, Any]:
    """A signer's decision on the active step, with its opinion (意见): approve, or reject back to
    an earlier step or to the drafter. A deputy decides in the slot of whom they stand in for."""
    doc = await access_document(ctx, acting_user, document_id)
    now = ctx.clock.now()
    _item, verdict = await authorize(ctx, OUTGOING_WORKFLOW, doc, data.decision, actor=acting_user, now=now)
    slot = verdict.on_behalf_of or acting_user.user_id
    route, outcome = steps.decide(doc["route"], signer=slot, by=acting_user.user_id, decision=data.decision,
                                  opinion=data.opinion, at=to_storage(now), to_step=data.to_step)
    after = await _move_route(ctx, doc, data.decision, outcome, route, actor=acting_user, now=now,
                              comment=data.opinion, expected_version=expected_version,
                              history={"step": (steps.active_step(doc["route"]) or {}).get("id"),
                                       "decision": data.decision, "to_step": data.to_step})
    return await queries.document_out(ctx, after, viewer=acting_user)


async def do_change_signers(ctx: Context, document_id: str, data: SignerChangeIn, *, acting_user: Principal,
                            expected_version: int | None) -> dict[str, Any]:
    """加签/减签 on the active or a later step, by the drafter or a current signer. Removing the
    last signer who had not decided can complete the step (or the route)."""
    doc = await access_document(ctx, acting_user, document_id)
    await authorize(ctx, OUTGOING_WORKFLOW, doc, "change_signers", actor=acting_user)
    people = await active_staff(ctx.store, data.add) if data.add else {}
    route, outcome = doc["route"], "pending"
    for user_id in data.add:
        route = steps.add_signer(route, data.step, people[user_id])
    for user_id in data.remove:
        route, removed = steps.remove_signer(route, data.step, user_id)
        outcome = removed if removed != "pending" else outcome
    changes = {"participants": _participants(doc["drafter_id"], route)}
    after = await _move_route(ctx, doc, "change_signers", outcome, route, actor=acting_user, now=ctx.clock.now(),
                              comment=None, expected_version=expected_version, extra=changes,
                              history={"step": data.step, "added": data.add, "removed": data.remove})
    return await queries.document_out(ctx, after, viewer=acting_user)


async def _move_route(ctx: Context, doc: dict[str, Any], action: str, outcome: str, route: dict[str, Any], *,
                      actor: Principal, now: datetime, comment: str | None, expected_version: int | None,
                      history: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the route's new position; at sign-off (``completed``) also the document number and
    the frozen main text, retrying with the next number if a concurrent sign-off took this one."""
    changes: dict[str, Any] = {"route": route, **(extra or {})}
    if outcome != "completed":
        return await apply(ctx, OUTGOING_WORKFLOW, doc, action, actor=actor, outcome=outcome, comment=comment,
                           changes={"$set": changes}, expected_version=expected_version, history=history, now=now)
    prefix, year = await numbering.prefix_of(ctx, doc["department"]), numbering.year_of(now)
    main = doc["main_text"]
    changes["frozen"] = {"file_id": main["file_id"], "sha256": main["file_id"], "size": main["size"],
                         "filename": main["filename"], "content_type": main["content_type"], "at": to_storage(now)}
    changes["signed_at"] = to_storage(now)
    for _attempt in range(_RETRIES):
        number = numbering.number_fields(prefix, year, await numbering.next_free(ctx, prefix, year))
        try:
            return await apply(ctx, OUTGOING_WORKFLOW, doc, action, actor=actor, outcome=outcome, comment=comment,
                               changes={"$set": {**changes, **number}}, expected_version=expected_version,
                               history={**history, "number": number["number"]}, data={"number": number["number"]},
                               now=now)
        except DuplicateKey:  # another sign-off of this series got the number first: nothing was written
            continue
    raise NumberUnavailable()


async def do_instruct_document(ctx: Context, document_id: str, data: InstructionIn, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    """A leader's 批示 on the document, at once to the drafter."""
    doc = await access_document(ctx, acting_user, document_id)
    now = ctx.clock.now()
    named = [signer["user_id"] for step in doc["route"]["steps"] for signer in step["signers"]]
    whom = await acting_for(ctx.store, acting_user.user_id, named, now)
    instruction = {"text": data.text, "by": acting_user.user_id, "on_behalf_of": whom if whom != acting_user.user_id
                   else None, "at": to_storage(now)}
    after = await apply(ctx, OUTGOING_WORKFLOW, doc, "instruct", actor=acting_user, comment=data.text, now=now,
                        expected_version=expected_version, changes={"$push": {"instructions": instruction}},
                        data={"instruction": data.text})
    return await queries.document_out(ctx, after, viewer=acting_user)


async def do_withdraw_document(ctx: Context, document_id: str, data: ReasonIn, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    doc = await access_document(ctx, acting_user, document_id)
    after = await apply(ctx, OUTGOING_WORKFLOW, doc, "withdraw", actor=acting_user, comment=data.reason,
                        expected_version=expected_version, changes={"$set": {"withdrawn_reason": data.reason}})
    return await queries.document_out(ctx, after, viewer=acting_user)


# --- distribution ---------------------------------------------------------------------------

def incoming_id(document_id: str, department: str) -> str:
    """The copy's id is derived from the document and the department, so that distributing
    again after a failure finds the copies already made instead of making them twice."""
    return hashlib.sha256(f"{document_id}|{department}".encode()).hexdigest()[:20]


async def do_distribute_document(ctx: Context, document_id: str, data: CommentIn, *, acting_user: Principal,
                                 expected_version: int | None) -> dict[str, Any]:
    """One incoming copy (收文) per recipient department, 主送 and 抄送, each a case of its own
    with the frozen text; then the document is distributed."""
    doc = await access_document(ctx, acting_user, document_id)
    await authorize(ctx, OUTGOING_WORKFLOW, doc, "distribute", actor=acting_user)  # before making any copy
    snapshot = {key: doc[key] for key in ("title", "doc_type", "urgency", "secrecy", "number", "frozen",
                                          "attachments", "department", "instructions")}
    copies = [(incoming_id(document_id, code), {
        "document_id": document_id, "document": snapshot, "title": doc["title"], "doc_type": doc["doc_type"],
        "urgency": doc["urgency"], "number": doc["number"], "from_department": doc["department"],
        "sender_id": doc["drafter_id"], "department": code, "copy": copy, "leader_id": None, "handling_unit": None,
        "readers": [], "reads": [], "result": None, "registration_no": None})
        for code, copy in [*((c, False) for c in doc["main_recipients"]), *((c, True) for c in doc["copy_recipients"])]]
    existing = {d["_id"] for d in await ctx.store.collection(INCOMING).find(
        {"_id": {"$in": [case_id for case_id, _ in copies]}}, projection=["_id"])}
    await create_cases(ctx, INCOMING_WORKFLOW, [c for c in copies if c[0] not in existing], actor=acting_user)
    distributed = [{"department": fields["department"], "incoming_id": case_id, "copy": fields["copy"]}
                   for case_id, fields in copies]
    after = await apply(ctx, OUTGOING_WORKFLOW, doc, "distribute", actor=acting_user, comment=data.comment,
                        expected_version=expected_version,
                        changes={"$set": {"distributed_at": ctx.clock.stored(), "distribution": distributed}},
                        data={"recipients": len(distributed)})
    return await queries.document_out(ctx, after, viewer=acting_user)


# --- incoming copies (收文) -----------------------------------------------------------------

async def do_sign_for_incoming(ctx: Context, incoming_id_: str, data: CommentIn, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    doc = await access_incoming(ctx, acting_user, incoming_id_)
    after = await apply(ctx, INCOMING_WORKFLOW, doc, "sign_for", actor=acting_user, comment=data.comment,
                        expected_version=expected_version, data={"department": doc["department"]},
                        changes={"$set": {"signed_for": {"by": acting_user.user_id, "at": ctx.clock.stored()}}})
    return await queries.incoming_out(ctx, after, viewer=acting_user)


async def do_return_incoming(ctx: Context, incoming_id_: str, data: ReasonIn, *, acting_user: Principal,
                             expected_version: int | None) -> dict[str, Any]:
    """退回: the department says why it is not the right recipient; the sender is told at once."""
    doc = await access_incoming(ctx, acting_user, incoming_id_)
    returned = {"reason": data.reason, "by": acting_user.user_id, "at": ctx.clock.stored()}
    after = await apply(ctx, INCOMING_WORKFLOW, doc, "return", actor=acting_user, comment=data.reason,
                        expected_version=expected_version, changes={"$set": {"returned": returned}},
                        data={"reason": data.reason, "department": doc["department"]})
    return await queries.incoming_out(ctx, after, viewer=acting_user)


async def do_register_incoming(ctx: Context, incoming_id_: str, data: CommentIn, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    """登记: the department's registration number (收文号) for the year."""
    doc = await access_incoming(ctx, acting_user, incoming_id_)
    year = numbering.year_of(ctx.clock.now())
    counter = await ctx.store.collection(COUNTERS).find_one_and_update(
        {"_id": f"office-incoming:{doc['department']}:{year}"}, {"$inc": {"seq": 1}}, upsert=True)
    assert counter is not None
    number = f"收〔{year}〕{counter['seq']}号"
    after = await apply(ctx, INCOMING_WORKFLOW, doc, "register", actor=acting_user, comment=data.comment,
                        expected_version=expected_version,
                        changes={"$set": {"registration_no": number, "registered_by": acting_user.user_id}},
                        history={"registration_no": number})
    return await queries.incoming_out(ctx, after, viewer=acting_user)


async def do_submit_incoming_to_leader(ctx: Context, incoming_id_: str, data: LeaderIn, *, acting_user: Principal,
                                       expected_version: int | None) -> dict[str, Any]:
    doc = await access_incoming(ctx, acting_user, incoming_id_)
    await active_staff(ctx.store, [data.leader])
    after = await apply(ctx, INCOMING_WORKFLOW, doc, "submit_to_leader", actor=acting_user, comment=data.comment,
                        expected_version=expected_version, changes={"$set": {"leader_id": data.leader}})
    return await queries.incoming_out(ctx, after, viewer=acting_user)


async def do_instruct_incoming(ctx: Context, incoming_id_: str, data: IncomingInstructionIn, *,
                               acting_user: Principal, expected_version: int | None) -> dict[str, Any]:
    """拟办/批办 by the leader (or their deputy): assign to a handling unit, or circulate (传阅)."""
    doc = await access_incoming(ctx, acting_user, incoming_id_)
    instruction = {"opinion": data.opinion, "by": acting_user.user_id, "at": ctx.clock.stored()}
    if data.handling_unit is not None:
        await get_department(ctx.store, data.handling_unit)
        changes = {"handling_unit": data.handling_unit, "instruction": instruction}
        outcome = "assign"
    else:
        await active_staff(ctx.store, data.readers)
        changes = {"readers": data.readers, "reads": [], "instruction": instruction}
        outcome = "circulate"
    after = await apply(ctx, INCOMING_WORKFLOW, doc, "instruct", actor=acting_user, outcome=outcome,
                        comment=data.opinion, expected_version=expected_version, changes={"$set": changes},
                        data={"opinion": data.opinion})
    return await queries.incoming_out(ctx, after, viewer=acting_user)


async def do_read_incoming(ctx: Context, incoming_id_: str, *, acting_user: Principal) -> dict[str, Any]:
    """A reader's receipt (阅): who read when. Idempotent; readers read concurrently, so a lost
    race is simply tried again on the fresh document."""
    for _attempt in range(_RETRIES):
        doc = await access_incoming(ctx, acting_user, incoming_id_)
        if acting_user.user_id not in waiting_readers(doc):
            return await queries.incoming_out(ctx, doc, viewer=acting_user)
        last = waiting_readers(doc) == [acting_user.user_id]
        read = {"user_id": acting_user.user_id, "at": ctx.clock.stored()}
        try:
            after = await apply(ctx, INCOMING_WORKFLOW, doc, "read", actor=acting_user,
                                outcome="all_read" if last else "pending", changes={"$push": {"reads": read}})
        except VersionConflict:
            continue
        return await queries.incoming_out(ctx, after, viewer=acting_user)
    raise VersionConflict()


async def do_hand_back_incoming(ctx: Context, incoming_id_: str, data: ReasonIn, *, acting_user: Principal,
                                expected_version: int | None) -> dict[str, Any]:
    doc = await access_incoming(ctx, acting_user, incoming_id_)
    after = await apply(ctx, INCOMING_WORKFLOW, doc, "hand_back", actor=acting_user, comment=data.reason,
                        expected_version=expected_version, data={"reason": data.reason},
                        changes={"$set": {"handed_back": {"reason": data.reason, "by": acting_user.user_id,
                                                          "department": doc["handling_unit"],
                                                          "at": ctx.clock.stored()}}})
    return await queries.incoming_out(ctx, after, viewer=acting_user)


async def do_attach_result(ctx: Context, incoming_id_: str, data: ResultIn, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    """办理结果: what was done, with its documents; the copy can then be closed."""
    doc = await access_incoming(ctx, acting_user, incoming_id_)
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user)
    result = {"text": data.text, "attachments": attachments, "by": acting_user.user_id, "at": ctx.clock.stored()}
    after = await apply(ctx, INCOMING_WORKFLOW, doc, "attach_result", actor=acting_user,
                        expected_version=expected_version, changes={"$set": {"result": result}})
    return await queries.incoming_out(ctx, after, viewer=acting_user)


async def do_close_incoming(ctx: Context, incoming_id_: str, data: CommentIn, *, acting_user: Principal,
                            expected_version: int | None) -> dict[str, Any]:
    """办结: refused while no result is attached (never closed empty)."""
    doc = await access_incoming(ctx, acting_user, incoming_id_)
    after = await apply(ctx, INCOMING_WORKFLOW, doc, "close", actor=acting_user, comment=data.comment,
                        expected_version=expected_version, changes={"$set": {"closed_at": ctx.clock.stored()}})
    return await queries.incoming_out(ctx, after, viewer=acting_user)


# --- configuration --------------------------------------------------------------------------

async def do_set_number_prefix(ctx: Context, code: str, data: PrefixIn, *, acting_user: Principal) -> dict[str, Any]:
    """发文代字 of a department: an admin sets any; a department admin its own subtree's."""
    await get_department(ctx.store, code)
    if "admin" not in acting_user.roles:
        own = await subtree_codes(ctx.store, acting_user.department) if acting_user.department else []
        if code not in own:
            raise OutsideOwnDepartments()
    now = ctx.clock.stored()
    await ctx.store.collection(numbering.PREFIXES).update_one(
        {"_id": code}, {"$set": {"prefix": data.prefix, "updated_by": acting_user.user_id, "updated_at": now}},
        upsert=True)
    return {"department": code, "prefix": data.prefix, "updated_at": now}

