"""Reads of notices, receipts and groups, and the one rule of who sees a notice.

A civil servant sees a notice sent to them (they hold a receipt of it) and every notice their
department issued (drafts included); anyone else gets the same 404 as for a notice that does
not exist. Read receipts, the attendance list and reminders are the issuing department's.
Nothing here is served to the citizen face.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.auth.tokens import Principal
from backend.cases.engine import available_actions
from backend.clock import to_api
from backend.context import Context
from backend.identity.queries import DEPARTMENTS, USERS, find_active_staff
from backend.office.notices.errors import (
    InvalidAudience,
    NotAMeeting,
    NoticeNotFound,
    NotIssuingDepartment,
    OfficeGroupNotFound,
)
from backend.office.notices.schemas import (
    ATTENDANCE_LABELS,
    KIND_LABELS,
    Attendance,
    AttendanceFilter,
    NoticeBox,
    NoticeKind,
)
from backend.office.notices.workflow import (
    GROUPS,
    NOTICE_STATE_LABELS,
    NOTICE_WORKFLOW,
    NOTICES,
    OPEN_RECEIPTS,
    RECEIPT_STATE_LABELS,
    RECEIPT_WORKFLOW,
    RECEIPTS,
    NoticeState,
    ReceiptState,
    receipt_id,
)
from backend.store.interface import Document, DocumentStore
from backend.store.pagination import paginate

# What a list item reads of a notice (never its text, audience or recipient list).
SUMMARY_FIELDS = ["kind", "title", "state", "department", "department_name", "published_at", "meeting", "version"]
RECEIPT_FIELDS = ["user_id", "name", "department", "state", "read", "read_at", "reply"]
READ_STATES = frozenset({ReceiptState.READ, ReceiptState.OPENED, ReceiptState.ATTENDING, ReceiptState.ON_LEAVE})


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str | None
    department: str | None


# --- access -------------------------------------------------------------------------------

async def access_notice_for_staff(store: DocumentStore, actor: Principal,
                                  notice_id: str) -> tuple[Document, Document | None]:
    """The notice and the actor's receipt of it (None if they have none), if the actor received
    it or works in its issuing department; the same 404 whether it is missing or not theirs."""
    doc = await store.collection(NOTICES).find_one({"_id": notice_id})
    if doc is None:
        raise NoticeNotFound()
    receipt = await store.collection(RECEIPTS).find_one({"_id": receipt_id(notice_id, actor.user_id)})
    if receipt is None and not is_issuer(actor, doc):
        raise NoticeNotFound()
    return doc, receipt


async def access_notice_for_issuer(store: DocumentStore, actor: Principal, notice_id: str) -> Document:
    """The notice, for its issuing department's staff; a recipient gets 403, anyone else 404."""
    doc, _receipt = await access_notice_for_staff(store, actor, notice_id)
    if not is_issuer(actor, doc):
        raise NotIssuingDepartment()
    return doc


def is_issuer(actor: Principal, doc: Document) -> bool:
    return actor.department is not None and actor.department == doc["department"]


async def access_office_group(store: DocumentStore, actor: Principal, group_id: str) -> Document:
    """A group, for the staff of the department that owns it; 404 for anyone else."""
    doc = await store.collection(GROUPS).find_one({"_id": group_id})
    if doc is None or actor.department is None or doc["department"] != actor.department:
        raise OfficeGroupNotFound()
    return doc


# --- the audience ---------------------------------------------------------------------------

def _field_error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


async def check_audience(store: DocumentStore, audience: dict[str, list[str]], *, department: str) -> None:
    """Every department exists, every group is the issuing department's, every person an
    active staff account (a 400 naming what is not)."""
    problems: list[dict[str, str]] = []
    if audience["departments"]:
        found = {d["_id"] for d in await store.collection(DEPARTMENTS).find(
            {"_id": {"$in": audience["departments"]}}, projection=["_id"])}
        problems += [_field_error("audience.departments", f"部门 {code} 不存在")
                     for code in audience["departments"] if code not in found]
    if audience["groups"]:
        found = {d["_id"] for d in await store.collection(GROUPS).find(
            {"_id": {"$in": audience["groups"]}, "department": department}, projection=["_id"])}
        problems += [_field_error("audience.groups", f"分组 {group_id} 不存在")
                     for group_id in audience["groups"] if group_id not in found]
    if audience["people"]:
        found = set(await find_active_staff(store, audience["people"]))
        problems += [_field_error("audience.people", f"人员 {user_id} 不存在或已停用")
                     for user_id in audience["people"] if user_id not in found]
    if problems:
        raise InvalidAudience(details={"fields": problems})


async def expand_audience(store: DocumentStore, audience: dict[str, list[str]], *, department: str,
                          exclude: str) -> list[Person]:
    """The people the audience means now: the staff of each department (exactly it), the members
    of the groups and the people named; active staff accounts only, each once, the author left
    out (nobody receives what they issued). Sorted by id."""
    users = store.collection(USERS)
    found: dict[str, Document] = {}
    if audience["departments"]:
        for doc in await users.find({"kind": "staff", "department": {"$in": audience["departments"]},
                                     "disabled": {"$ne": True}}, projection=["name", "department"]):
            found[doc["_id"]] = doc
    named = list(audience["people"])
    if audience["groups"]:
        for group in await store.collection(GROUPS).find({"_id": {"$in": audience["groups"]},
                                                          "department": department}, projection=["members"]):
            named += group["members"]
    found.update(await find_active_staff(store, [user_id for user_id in named if user_id not in found]))
    found.pop(exclude, None)
    return [Person(uid, doc.get("name"), doc.get("department")) for uid, doc in sorted(found.items())]


async def people_by_ids(store: DocumentStore, user_ids: list[str]) -> list[Person]:
    """The people recorded at publishing, as they are now (for a distribution the job finishes)."""
    docs = {doc["_id"]: doc for doc in await store.collection(USERS).find(
        {"_id": {"$in": user_ids}}, projection=["name", "department"])} if user_ids else {}
    return [Person(uid, docs.get(uid, {}).get("name"), docs.get(uid, {}).get("department")) for uid in user_ids]


# --- shaping --------------------------------------------------------------------------------

def _meeting_out(doc: Document) -> dict[str, Any] | None:
    meeting = doc.get("meeting")
    if not meeting:
        return None
    return {"starts_at": to_api(meeting["starts_at"]), "ends_at": to_api(meeting["ends_at"]),
            "place": meeting["place"]}


def receipt_out(receipt: Document | None) -> dict[str, Any] | None:
    """A person's own receipt as they see it."""
    if receipt is None:
        return None
    return {"state": receipt["state"], "state_label": RECEIPT_STATE_LABELS[ReceiptState(receipt["state"])],
            "read": bool(receipt.get("read")), "read_at": to_api(receipt.get("read_at")),
            "reply": _reply_out(receipt.get("reply"))}


def _reply_out(reply: dict[str, Any] | None) -> dict[str, Any] | None:
    if not reply:
        return None
    return {"attendance": reply["attendance"], "attendance_label": ATTENDANCE_LABELS[Attendance(reply["attendance"])],
            "substitute": reply.get("substitute"), "reason": reply.get("reason"), "at": to_api(reply["at"])}


def notice_summary(doc: Document, receipt: Document | None = None) -> dict[str, Any]:
    kind = NoticeKind(doc["kind"])
    return {"id": doc["_id"], "kind": kind.value, "kind_label": KIND_LABELS[kind], "title": doc["title"],
            "state": doc["state"], "state_label": NOTICE_STATE_LABELS[NoticeState(doc["state"])],
            "department": doc["department"], "department_name": doc.get("department_name"),
            "published_at": to_api(doc.get("published_at")), "meeting": _meeting_out(doc),
            "my_receipt": receipt_out(receipt), "version": doc["version"]}


async def notice_out(ctx: Context, doc: Document, *, viewer: Principal, receipt: Document | None) -> dict[str, Any]:
    """The notice for one viewer: its text and their receipt; for its issuing department also the
    audience, the read counts, the reminders and the history."""
    out = {**notice_summary(doc, receipt), "body": doc["body"], "attachments": doc["attachments"],
           "author_id": doc["author_id"], "author_name": doc.get("author_name"),
           "created_at": to_api(doc["created_at"]), "updated_at": to_api(doc["updated_at"]),
           "withdrawn": _times(doc.get("withdrawn"), "at"), "closed_at": to_api(doc.get("closed_at")),
           "actions": [], "receipt_actions": []}
    if receipt is not None and doc["state"] == NoticeState.PUBLISHED:
        out["receipt_actions"] = await available_actions(ctx, RECEIPT_WORKFLOW, receipt, viewer)
    if is_issuer(viewer, doc):
        out.update(
            audience=doc["audience"], remind_after_hours=doc.get("remind_after_hours"),
            recipient_count=doc.get("recipient_count"), auto_remind_at=to_api(doc.get("auto_remind_at")),
            auto_reminded_at=to_api(doc.get("auto_reminded_at")), closes_at=to_api(doc.get("closes_at")),
            reminders=[_times(item, "at") for item in doc.get("reminders", [])],
            history=[{**entry, "at": to_api(entry["at"])} for entry in doc["history"]],
            actions=await available_actions(ctx, NOTICE_WORKFLOW, doc, viewer))
        if doc.get("recipient_count"):
            summary = await receipt_counts(ctx, doc)
            out["read_counts"] = {key: summary[key] for key in ("total", "read", "unread")}
    return out


def _times(record: dict[str, Any] | None, *names: str) -> dict[str, Any] | None:
    if record is None:
        return None
    return {**record, **{name: to_api(record.get(name)) for name in names if name in record}}


# --- lists ----------------------------------------------------------------------------------

async def list_notices(ctx: Context, actor: Principal, *, box: str, kind: str | None, unread: bool,
                       limit: int, cursor: str | None) -> dict[str, Any]:
    """``received``: the notices sent to me, newest first, with my receipt; ``issued``: my
    department's, drafts included."""
    if NoticeBox(box) is NoticeBox.ISSUED:
        if actor.department is None:
            return {"items": [], "next_cursor": None}
        filter_: dict[str, Any] = {"department": actor.department}
        if kind is not None:
            filter_["kind"] = NoticeKind(kind).value
        docs, next_cursor = await paginate(ctx.store.collection(NOTICES), filter_, sort=[("_id", -1)], limit=limit,
                                           cursor=cursor, projection=SUMMARY_FIELDS)
        return {"items": [notice_summary(doc) for doc in docs], "next_cursor": next_cursor}
    filter_ = {"user_id": actor.user_id}
    if unread:
        filter_["read"] = False
    if kind is not None:
        filter_["kind"] = NoticeKind(kind).value
    receipts, next_cursor = await paginate(ctx.store.collection(RECEIPTS), filter_, sort=[("_id", -1)], limit=limit,
                                           cursor=cursor, projection=["notice_id", *RECEIPT_FIELDS])
    ids = [receipt["notice_id"] for receipt in receipts]
    notices = {doc["_id"]: doc for doc in await ctx.store.collection(NOTICES).find(
        {"_id": {"$in": ids}}, projection=SUMMARY_FIELDS)} if ids else {}
    items = [notice_summary(notices[r["notice_id"]], r) for r in receipts if r["notice_id"] in notices]
    return {"items": items, "next_cursor": next_cursor}


async def _person_out(ctx: Context, receipt: Document) -> dict[str, Any]:
    department = receipt.get("department")
    return {"user_id": receipt["user_id"], "name": receipt.get("name"), "department": department,
            "department_name": await ctx.department_names.get(department) if department else None}


async def list_receipts(ctx: Context, doc: Document, *, read: bool | None, department: str | None, limit: int,
                        cursor: str | None) -> dict[str, Any]:
    """Who read when, by department then person; ``read=False`` is who has not read."""
    filter_: dict[str, Any] = {"notice_id": doc["_id"]}
    if read is not None:
        filter_["read"] = read
    if department is not None:
        filter_["department"] = department
    receipts, next_cursor = await paginate(ctx.store.collection(RECEIPTS), filter_,
                                           sort=[("department", 1), ("_id", 1)], limit=limit, cursor=cursor,
                                           projection=RECEIPT_FIELDS)
    items = [{**await _person_out(ctx, r), "state": r["state"],
              "state_label": RECEIPT_STATE_LABELS[ReceiptState(r["state"])], "read": bool(r.get("read")),
              "read_at": to_api(r.get("read_at"))} for r in receipts]
    return {"items": items, "next_cursor": next_cursor}


async def receipt_counts(ctx: Context, doc: Document) -> dict[str, Any]:
    """Read and unread per department (one grouped count), and in all; for a meeting also the
    replies."""
    groups = await ctx.store.collection(RECEIPTS).group_count({"notice_id": doc["_id"]}, by=["department", "state"])
    per: dict[str | None, dict[str, int]] = {}
    states: dict[str, int] = {}
    for group in groups:
        department, state = group["key"]["department"], group["key"]["state"]
        row = per.setdefault(department, {"total": 0, "read": 0, "unread": 0})
        row["total"] += group["count"]
        row["read" if state in READ_STATES else "unread"] += group["count"]
        states[state] = states.get(state, 0) + group["count"]
    departments = [{"department": code, "department_name": await ctx.department_names.get(code) if code else None,
                    **row} for code, row in sorted(per.items(), key=lambda item: item[0] or "")]
    out: dict[str, Any] = {"total": sum(r["total"] for r in per.values()), "read": sum(r["read"] for r in per.values()),
                           "unread": sum(r["unread"] for r in per.values()), "departments": departments}
    if doc["kind"] == NoticeKind.MEETING:
        out["attendance"] = _attendance_counts(states)
    return out


def _attendance_counts(states: dict[str, int]) -> dict[str, int]:
    return {"attending": states.get(ReceiptState.ATTENDING, 0), "on_leave": states.get(ReceiptState.ON_LEAVE, 0),
            "no_reply": sum(states.get(s, 0) for s in (*OPEN_RECEIPTS, ReceiptState.LAPSED, ReceiptState.WITHDRAWN))}


_REPLY_STATES = {
    AttendanceFilter.ATTENDING: [ReceiptState.ATTENDING.value],
    AttendanceFilter.ON_LEAVE: [ReceiptState.ON_LEAVE.value],
    AttendanceFilter.NO_REPLY: [*OPEN_RECEIPTS, ReceiptState.LAPSED.value, ReceiptState.WITHDRAWN.value],
}


async def attendance_list(ctx: Context, doc: Document, *, reply: str | None, limit: int,
                          cursor: str | None) -> dict[str, Any]:
    """The organiser's list: who attends, who is on leave and whom they send, who has not answered."""
    if doc["kind"] != NoticeKind.MEETING:
        raise NotAMeeting()
    filter_: dict[str, Any] = {"notice_id": doc["_id"]}
    if reply is not None:
        filter_["state"] = {"$in": _REPLY_STATES[AttendanceFilter(reply)]}
    receipts, next_cursor = await paginate(ctx.store.collection(RECEIPTS), filter_,
                                           sort=[("department", 1), ("_id", 1)], limit=limit, cursor=cursor,
                                           projection=RECEIPT_FIELDS)
    items = []
    for r in receipts:
        answer = r.get("reply") or {}
        state = ReceiptState(r["state"])
        answered = state in (ReceiptState.ATTENDING, ReceiptState.ON_LEAVE)
        items.append({**await _person_out(ctx, r), "reply": answer["attendance"] if answered else "none",
                      "reply_label": ATTENDANCE_LABELS[Attendance(answer["attendance"])] if answered else "未回复",
                      "substitute": answer.get("substitute") if answered else None,
                      "reason": answer.get("reason") if answered else None,
                      "replied_at": to_api(answer.get("at")) if answered else None})
    counts = (await receipt_counts(ctx, doc)).get("attendance") or _attendance_counts({})
    return {"counts": counts, "items": items, "next_cursor": next_cursor}


# --- groups ---------------------------------------------------------------------------------

async def office_group_out(ctx: Context, doc: Document) -> dict[str, Any]:
    people = {p["_id"]: p for p in await ctx.store.collection(USERS).find(
        {"_id": {"$in": doc["members"]}}, projection=["name", "department", "disabled"])}
    members = [{"user_id": uid, "name": people.get(uid, {}).get("name"),
                "department": people.get(uid, {}).get("department"),
                "active": uid in people and not people[uid].get("disabled")} for uid in doc["members"]]
    return {"id": doc["_id"], "name": doc["name"], "department": doc["department"], "members": members,
            "version": doc["version"], "created_at": to_api(doc["created_at"]),
            "updated_at": to_api(doc["updated_at"])}


async def list_office_groups(ctx: Context, actor: Principal, *, limit: int, cursor: str | None) -> dict[str, Any]:
    if actor.department is None:
        return {"items": [], "next_cursor": None}
    docs, next_cursor = await paginate(ctx.store.collection(GROUPS), {"department": actor.department},
                                       sort=[("name", 1)], limit=limit, cursor=cursor)
    return {"items": [await office_group_out(ctx, doc) for doc in docs], "next_cursor": next_cursor}
