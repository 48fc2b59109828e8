"""Reads of official documents, shaped for the civil servants who may see them.

Who sees what: an outgoing document is seen by its drafting department (a department admin: its
subtree) and by everyone named on it (drafter, signers of any step, or their deputies while a
delegation runs); an incoming copy by its recipient department, the handling unit, the leader it
was submitted to, its readers and its sender. Anyone else gets the same 404 as for a missing one.
"""

from __future__ import annotations

from typing import Any

from backend.attachments.queries import held_file, with_link, with_links
from backend.auth.permissions import Role
from backend.auth.tokens import Principal
from backend.cases import steps
from backend.cases.deadline import display_level
from backend.cases.delegation import delegators_of
from backend.cases.engine import available_actions
from backend.clock import to_api
from backend.context import Context
from backend.errors import ValidationFailed
from backend.identity.queries import subtree_codes, user_names
from backend.office.documents.errors import DocumentNotFound
from backend.office.documents.workflow import (
    DOCUMENT_TYPE_LABELS,
    DOCUMENTS,
    INCOMING,
    INCOMING_WORKFLOW,
    OUTGOING_WORKFLOW,
    SECRECY_LABELS,
    URGENCY_LABELS,
    DocumentType,
    IncomingState,
    OutgoingState,
    Secrecy,
    Urgency,
)
from backend.store.pagination import paginate, paginate_union

OUTGOING_LABELS = {OutgoingState.DRAFT: "草稿", OutgoingState.IN_APPROVAL: "审批中", OutgoingState.SIGNED: "已签发",
                   OutgoingState.DISTRIBUTED: "已分发", OutgoingState.WITHDRAWN: "已撤回"}
INCOMING_LABELS = {IncomingState.DELIVERED: "待签收", IncomingState.RECEIVED: "待登记",
                   IncomingState.REGISTERED: "待拟办", IncomingState.AWAITING_INSTRUCTION: "领导拟办中",
                   IncomingState.HANDLING: "办理中", IncomingState.CIRCULATING: "传阅中",
                   IncomingState.CLOSED: "已办结", IncomingState.RETURNED: "已退回"}
# Where staff download a document's or a copy's files (routes of handlers/office/documents.py).
DOCUMENT_FILES = "/api/v1/office/documents/{id}/files"
INCOMING_FILES = "/api/v1/office/incoming/{id}/files"
SUMMARY_FIELDS = ["title", "doc_type", "urgency", "secrecy", "state", "number", "department", "drafter_id",
                  "created_at", "updated_at", "deadline", "version"]


async def office_scope(ctx: Context, actor: Principal) -> list[str]:
    """The departments whose documents the actor sees as a member: a department admin its
    subtree, anyone else their own department (the office has no city-wide reader)."""
    if actor.department is None:
        return []
    if Role.DEPARTMENT_ADMIN in actor.roles:
        return await subtree_codes(ctx.store, actor.department)
    return [actor.department]


async def _as(ctx: Context, actor: Principal) -> set[str]:
    """The people the actor acts as now: themselves, and whoever delegated to them."""
    return {actor.user_id, *await delegators_of(ctx.store, actor.user_id, ctx.clock.now())}


async def access_document(ctx: Context, actor: Principal, document_id: str) -> dict[str, Any]:
    doc = await ctx.store.collection(DOCUMENTS).find_one({"_id": document_id})
    if doc is None:
        raise DocumentNotFound()
    if doc["department"] in await office_scope(ctx, actor) or set(doc.get("participants", [])) & await _as(ctx, actor):
        return doc
    raise DocumentNotFound()


async def access_incoming(ctx: Context, actor: Principal, incoming_id: str) -> dict[str, Any]:
    doc = await ctx.store.collection(INCOMING).find_one({"_id": incoming_id})
    if doc is None:
        raise DocumentNotFound()
    scope = await office_scope(ctx, actor)
    if doc["department"] in scope or (doc.get("handling_unit") and doc["handling_unit"] in scope):
        return doc
    people = await _as(ctx, actor)
    if {doc.get("leader_id"), doc.get("sender_id"), *doc.get("readers", [])} & people:
        return doc
    raise DocumentNotFound()


def document_file(doc: dict[str, Any], file_id: str) -> dict[str, Any]:
    """A file of an outgoing document the caller may see (``access_document``): its main text (正文,
    the frozen one once signed) and its attachments; else ``DocumentNotFound``."""
    return held_file([doc["main_text"], doc.get("frozen"), *doc["attachments"]], file_id, DocumentNotFound)


def incoming_file(doc: dict[str, Any], file_id: str) -> dict[str, Any]:
    """A file of an incoming copy the caller may see (``access_incoming``): the frozen main text
    and the attachments it was sent with, and its result's attachments; else ``DocumentNotFound``."""
    document = doc["document"]
    return held_file([document.get("frozen"), *document.get("attachments", []),
                      *(doc.get("result") or {}).get("attachments", [])], file_id, DocumentNotFound)


def _frozen_out(frozen: dict[str, Any] | None, files_path: str) -> dict[str, Any] | None:
    return {**with_link(frozen, files_path), "at": to_api(frozen["at"])} if frozen else None


def _clock(workflow: Any, doc: dict[str, Any], now: Any) -> dict[str, Any]:
    deadline = doc.get("deadline") or {}
    return {"due_at": to_api(deadline.get("due_at")) if deadline.get("running") else None,
            "warning_level": display_level(deadline, workflow.policy(deadline.get("policy")), now)}


def _labels(doc: dict[str, Any]) -> dict[str, Any]:
    return {"doc_type": doc["doc_type"], "doc_type_label": DOCUMENT_TYPE_LABELS[DocumentType(doc["doc_type"])],
            "urgency": doc["urgency"], "urgency_label": URGENCY_LABELS[Urgency(doc["urgency"])]}


def document_summary(doc: dict[str, Any], now: Any) -> dict[str, Any]:
    state = OutgoingState(doc["state"])
    return {"id": doc["_id"], "title": doc["title"], **_labels(doc), "secrecy": doc["secrecy"],
            "secrecy_label": SECRECY_LABELS[Secrecy(doc["secrecy"])], "state": state.value,
            "state_label": OUTGOING_LABELS[state], "number": doc.get("number"), "department": doc["department"],
            "drafter_id": doc["drafter_id"], "created_at": to_api(doc["created_at"]),
            "updated_at": to_api(doc["updated_at"]), **_clock(OUTGOING_WORKFLOW, doc, now), "version": doc["version"]}


def _acted(record: dict[str, Any], names: dict[str, str | None], *, whom: str | None) -> dict[str, Any]:
    """A record of who did something, shown "X 代 Y" when a deputy (``by``) acted for ``whom``."""
    by = record.get("by")
    shown = names.get(by or "") or by
    if whom and whom != by:
        shown = f"{shown} 代 {names.get(whom) or whom}"
    return {**record, "by_name": names.get(by or ""), "shown_as": shown, "at": to_api(record.get("at"))}


def _people_of(records: list[dict[str, Any]]) -> list[str]:
    return [person for record in records for person in (record.get("by"), record.get("user_id"),
                                                         record.get("on_behalf_of")) if person]


def _history(doc: dict[str, Any], names: dict[str, str | None]) -> list[dict[str, Any]]:
    return [_acted(entry, names, whom=entry.get("on_behalf_of")) for entry in doc["history"]]


async def document_out(ctx: Context, doc: dict[str, Any], *, viewer: Principal) -> dict[str, Any]:
    now = ctx.clock.now()
    route = doc["route"]
    names = await user_names(ctx.store, [doc["drafter_id"], *_people_of(route.get("opinions", [])),
                                         *_people_of(doc.get("instructions", [])), *_people_of(doc["history"])])
    active = steps.active_step(route)
    files = DOCUMENT_FILES.format(id=doc["_id"])
    out = {
        **document_summary(doc, now),
        "drafter_name": names.get(doc["drafter_id"]), "main_text": with_link(doc["main_text"], files),
        "attachments": with_links(doc["attachments"], files),
        "main_recipients": doc["main_recipients"], "copy_recipients": doc["copy_recipients"],
        "route": {"steps": [{key: step[key] for key in ("id", "name", "rule", "quorum", "signers", "status")}
                            for step in route["steps"]],
                  "current": active["id"] if active else None, "waiting_for": steps.pending_signers(route)},
        "opinions": [_acted(o, names, whom=o["user_id"]) for o in route.get("opinions", [])],
        "instructions": [_acted(i, names, whom=i.get("on_behalf_of")) for i in doc.get("instructions", [])],
        "frozen": _frozen_out(doc.get("frozen"), files),
        "signed_at": to_api(doc.get("signed_at")), "distributed_at": to_api(doc.get("distributed_at")),
        "history": _history(doc, names),
        "actions": await available_actions(ctx, OUTGOING_WORKFLOW, doc, viewer),
    }
    if doc.get("distribution"):
        copies = {c["_id"]: c for c in await ctx.store.collection(INCOMING).find(
            {"document_id": doc["_id"]}, projection=["state", "department", "returned", "signed_for"])}
        out["distribution"] = [_copy_status(entry, copies.get(entry["incoming_id"])) for entry in doc["distribution"]]
    return out


def _copy_status(entry: dict[str, Any], copy: dict[str, Any] | None) -> dict[str, Any]:
    state = IncomingState(copy["state"]) if copy else IncomingState.DELIVERED
    return {"department": entry["department"], "copy": entry["copy"], "incoming_id": entry["incoming_id"],
            "state": state.value, "state_label": INCOMING_LABELS[state],
            "signed_for_at": to_api(((copy or {}).get("signed_for") or {}).get("at")),
            "returned": {**copy["returned"], "at": to_api(copy["returned"]["at"])} if copy and copy.get("returned")
            else None}


async def list_documents(ctx: Context, actor: Principal, *, state: str | None, named: bool, limit: int,
                         cursor: str | None) -> dict[str, Any]:
    """The department's outgoing documents (or, with ``named``, those the caller drafted or is
    named on as a signer), newest first."""
    if state is not None and state not in OutgoingState._value2member_map_:
        raise ValidationFailed(details={"fields": [{"field": "state", "message": f"未知状态：{state}"}]})
    extra = {"state": state} if state else {}
    collection = ctx.store.collection(DOCUMENTS)
    if named:
        docs, next_cursor = await paginate(collection, {"participants": actor.user_id, **extra}, sort=[("_id", -1)],
                                           limit=limit, cursor=cursor, projection=SUMMARY_FIELDS)
    else:
        scope = await office_scope(ctx, actor)
        if not scope:
            return {"items": [], "next_cursor": None}
        docs, next_cursor = await paginate_union(collection, [{"department": code, **extra} for code in scope],
                                                 sort=[("_id", -1)], limit=limit, cursor=cursor)
    now = ctx.clock.now()
    return {"items": [document_summary(doc, now) for doc in docs], "next_cursor": next_cursor}


def incoming_summary(doc: dict[str, Any], now: Any) -> dict[str, Any]:
    state = IncomingState(doc["state"])
    return {"id": doc["_id"], "document_id": doc["document_id"], "title": doc["title"], **_labels(doc),
            "number": doc.get("number"), "from_department": doc["from_department"], "department": doc["department"],
            "copy": doc["copy"], "state": state.value, "state_label": INCOMING_LABELS[state],
            "registration_no": doc.get("registration_no"), "handling_unit": doc.get("handling_unit"),
            "created_at": to_api(doc["created_at"]), **_clock(INCOMING_WORKFLOW, doc, now), "version": doc["version"]}


async def incoming_out(ctx: Context, doc: dict[str, Any], *, viewer: Principal) -> dict[str, Any]:
    now = ctx.clock.now()
    names = await user_names(ctx.store, [*doc.get("readers", []), doc.get("leader_id"), *_people_of(doc["history"])])
    reads = {read["user_id"]: read["at"] for read in doc.get("reads", [])}
    document = doc["document"]
    files = INCOMING_FILES.format(id=doc["_id"])
    result = doc.get("result")
    return {
        **incoming_summary(doc, now),
        "document": {**document, "frozen": _frozen_out(document.get("frozen"), files),
                     "attachments": with_links(document.get("attachments", []), files)},
        "leader_id": doc.get("leader_id"), "leader_name": names.get(doc.get("leader_id") or ""),
        "instruction": _acted(doc["instruction"], names, whom=doc.get("leader_id")) if doc.get("instruction") else None,
        "readers": [{"user_id": user_id, "name": names.get(user_id), "read_at": to_api(reads.get(user_id))}
                    for user_id in doc.get("readers", [])],
        "read_count": len(reads), "unread_count": len(doc.get("readers", [])) - len(reads),
        "result": {**result, "at": to_api(result["at"]), "attachments": with_links(result.get("attachments", []), files)}
        if result else None,
        "returned": {**doc["returned"], "at": to_api(doc["returned"]["at"])} if doc.get("returned") else None,
        "history": _history(doc, names),
        "actions": await available_actions(ctx, INCOMING_WORKFLOW, doc, viewer),
    }


async def list_incoming(ctx: Context, actor: Principal, *, state: str | None, limit: int,
                        cursor: str | None) -> dict[str, Any]:
    """Copies received by the caller's departments, and copies they were assigned to handle."""
    if state is not None and state not in IncomingState._value2member_map_:
        raise ValidationFailed(details={"fields": [{"field": "state", "message": f"未知状态：{state}"}]})
    scope = await office_scope(ctx, actor)
    if not scope:
        return {"items": [], "next_cursor": None}
    extra = {"state": state} if state else {}
    filters = [{"department": code, **extra} for code in scope]
    filters += [{"handling_unit": code, "department": {"$nin": scope}, **extra} for code in scope]
    docs, next_cursor = await paginate_union(ctx.store.collection(INCOMING), filters, sort=[("_id", -1)],
                                             limit=limit, cursor=cursor)
    now = ctx.clock.now()
    return {"items": [incoming_summary(doc, now) for doc in docs], "next_cursor": next_cursor}
