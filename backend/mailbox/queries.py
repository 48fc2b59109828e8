"""Reads of letters, shaped for each audience: the writer, staff, and the public."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.attachments.queries import cover_thumbnail_url, held_file, with_links
from backend.auth.permissions import Role
from backend.auth.tokens import Principal
from backend.cases.assignment import units
from backend.cases.deadline import Moment
from backend.cases.engine import available_actions
from backend.clock import from_storage, to_api, to_storage
from backend.context import Context
from backend.errors import ValidationFailed
from backend.identity.queries import department_scope, user_names
from backend.mailbox.errors import LetterNotFound
from backend.mailbox.schemas import LETTER_TYPE_LABELS, RATING_LABELS, LetterType, Rating
from backend.mailbox.workflow import (
    CITIZEN_VISIBLE_ACTIONS,
    CONTACT_PHONE,
    HANDLING_CLOCK,
    LETTER_WORKFLOW,
    LETTERS,
    PUBLIC_STATES,
    LetterState,
)
from backend.personal_data import read_sealed
from backend.privacy import mask_for_disclosure, mask_name
from backend.similarity import most_similar
from backend.store.interface import DocumentStore
from backend.store.pagination import paginate

# Suggestions are reviewed by a person, so lean towards showing a reworded duplicate: measured on
# sample letters, rewordings of one issue score 0.57–0.87 and unrelated letters at most 0.54.
DUPLICATE_THRESHOLD = 0.55
PUBLIC_INDEX = "public_letters"

STATE_LABELS = {
    LetterState.SUBMITTED: "待分办", LetterState.DISPATCHED: "已转办", LetterState.HANDLING: "办理中",
    LetterState.AWAITING_INFO: "待补充材料", LetterState.REPLY_REVIEW: "答复审核中", LetterState.RETURNED: "已退回",
    LetterState.REPLIED: "已答复", LetterState.CLOSED: "已办结", LetterState.REJECTED: "不予受理",
    LetterState.MERGED: "已并单",
}
# What a citizen sees of the internal states: review and returns are the administration's business.
CITIZEN_STATE = {LetterState.REPLY_REVIEW: LetterState.HANDLING, LetterState.RETURNED: LetterState.SUBMITTED,
                 LetterState.DISPATCHED: LetterState.DISPATCHED}

# The fields a list item needs: lists read only these (not contents and histories).
SUMMARY_FIELDS = ["tracking_no", "type", "title", "state", "assignment", "created_at", "deadline", "round", "version",
                  "moderation", "attachments"]
# Where each audience downloads a letter's files (the routes of miniprogram_api/mailbox.py and
# handlers/mailbox.py): the links in its views point there.
CITIZEN_FILES = "/mp/v1/letters/{letter_id}/files"
STAFF_FILES = "/api/v1/letters/{letter_id}/files"


def _lead(doc: dict[str, Any]) -> str | None:
    return (doc.get("assignment") or {}).get("lead")


def _times(record: dict[str, Any] | None, *names: str) -> dict[str, Any] | None:
    """A nested record with its stored times in API form."""
    if record is None:
        return None
    return {**record, **{name: to_api(record.get(name)) for name in names if name in record}}


def warning_level(doc: dict[str, Any], moment: Moment) -> str | None:
    deadline = doc.get("deadline")
    return moment.display(deadline, _POLICIES.get((deadline or {}).get("policy")))


_POLICIES = {policy.name: policy for policy in LETTER_WORKFLOW.policies}


def _files(doc: dict[str, Any], files: str) -> str:
    return files.format(letter_id=doc["_id"])


def letter_summary(doc: dict[str, Any], moment: Moment, *, files: str) -> dict[str, Any]:
    """A list item; ``thumbnail_url`` is the first image attachment's, under ``files`` (the
    audience's ``CITIZEN_FILES`` or ``STAFF_FILES``). Labels are looked up by the stored strings
    (a StrEnum member hashes as its value): a page of twenty builds no enum."""
    deadline = doc.get("deadline") or {}
    attachments = doc.get("attachments")
    return {
        "id": doc["_id"], "tracking_no": doc["tracking_no"], "type": doc["type"],
        "type_label": LETTER_TYPE_LABELS[doc["type"]], "title": doc["title"], "state": doc["state"],
        "state_label": STATE_LABELS[doc["state"]], "lead_department": _lead(doc),
        "created_at": to_api(doc["created_at"]), "due_at": to_api(deadline.get("due_at")),
        "warning_level": warning_level(doc, moment), "round": doc["round"], "version": doc["version"],
        "held": _held(doc.get("moderation")),
        "thumbnail_url": cover_thumbnail_url(attachments, _files(doc, files)) if attachments else None,
    }


def _held(record: dict[str, Any] | None) -> bool:
    return bool(record) and record.get("state") == "held"  # type: ignore[union-attr]  # checked just before


def _screened(items: list[dict[str, Any]], text_field: str, *, center: bool) -> list[dict[str, Any]]:
    """Citizens' texts as staff see them: one the content check held is read by the centre
    alone (with why it was held); everyone else sees that it is held, not what it says."""
    out = []
    for item in items:
        record = item.get("moderation")
        shown = {**{k: v for k, v in item.items() if k != "moderation"}, "held": _held(record)}
        if center:
            shown["moderation"] = _times(record, "at", "released_at")
        elif shown["held"]:
            shown[text_field] = None
        out.append(shown)
    return out


def _reply_out(reply: dict[str, Any] | None, *, files_path: str | None) -> dict[str, Any] | None:
    """The reply; ``files_path`` None for the masked form (a merged duplicate's writer): no attachments."""
    if not reply:
        return None
    masked = files_path is None
    return {"text": mask_for_disclosure(reply["text"]) if masked else reply["text"],
            "department": reply.get("department"), "at": to_api(reply.get("approved_at") or reply["at"]),
            "attachments": [] if files_path is None else with_links(reply.get("attachments", []), files_path)}


def _supplements_out(doc: dict[str, Any], files_path: str) -> list[dict[str, Any]]:
    return [{**item, "at": to_api(item.get("at")), "attachments": with_links(item.get("attachments", []), files_path)}
            for item in doc.get("supplements", [])]


def _own_texts(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The writer's own texts as they see them: whether one is held, never why."""
    return [{**{k: v for k, v in item.items() if k != "moderation"}, "held": _held(item.get("moderation"))}
            for item in items]


def _reply_approved(doc: dict[str, Any]) -> bool:
    return bool((doc.get("reply") or {}).get("approved_at"))


def letter_file_for_citizen(doc: dict[str, Any], file_id: str) -> dict[str, Any]:
    """A file of the writer's own letter (``access_letter_for_citizen``): its attachments, their
    supplements', and the reply's once approved; else ``LetterNotFound``."""
    reply = (doc.get("reply") or {}) if _reply_approved(doc) else {}
    return held_file([*doc.get("attachments", []), *_supplement_files(doc), *reply.get("attachments", [])], file_id,
                     LetterNotFound)


def letter_file_for_staff(doc: dict[str, Any], file_id: str) -> dict[str, Any]:
    """A file of a letter the caller may see (``access_letter_for_staff``): the writer's
    attachments, the supplements', and the reply's (approved or under review); else ``LetterNotFound``."""
    reply = doc.get("reply") or {}
    return held_file([*doc.get("attachments", []), *_supplement_files(doc), *reply.get("attachments", [])], file_id,
                     LetterNotFound)


def _supplement_files(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [record for item in doc.get("supplements", []) for record in item.get("attachments", [])]


def _history_for_citizen(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"at": to_api(entry["at"]), "action": entry["action"], "label": CITIZEN_VISIBLE_ACTIONS[entry["action"]]}
            for entry in doc["history"] if entry["action"] in CITIZEN_VISIBLE_ACTIONS]


def _ratings_out(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"level": r["level"], "label": RATING_LABELS[Rating(r["level"])], "comment": r.get("comment"),
             "round": r.get("round"), "at": r["at"], "moderation": r.get("moderation")}
            for r in doc.get("ratings", [])]


async def letter_for_citizen(ctx: Context, doc: dict[str, Any]) -> dict[str, Any]:
    """The writer's view: their own data, the approved reply, a public history (no staff names,
    no internal comments, no review or return steps)."""
    state = CITIZEN_STATE.get(LetterState(doc["state"]), LetterState(doc["state"]))
    deadline = doc.get("deadline") or {}
    handling_due = deadline.get("due_at") if deadline.get("policy") == HANDLING_CLOCK.name else None
    files = _files(doc, CITIZEN_FILES)
    out = {
        "id": doc["_id"], "tracking_no": doc["tracking_no"], "type": doc["type"], "title": doc["title"],
        "content": doc["content"], "addressee": doc["addressee"], "attachments": with_links(doc["attachments"], files),
        "public": doc["public"], "contact_phone": read_sealed(ctx.personal_data, CONTACT_PHONE, doc),
        "writer_name": doc.get("writer_name"), "state": state.value, "state_label": STATE_LABELS[state], "version": doc["version"], "round": doc["round"],
        "created_at": to_api(doc["created_at"]), "due_at": to_api(handling_due),
        "reply": _reply_out(doc.get("reply"), files_path=files) if _reply_approved(doc) else None,
        "supplements": _own_texts(_supplements_out(doc, files)),
        "info_request": _times(doc.get("info_request"), "at") if doc["state"] == LetterState.AWAITING_INFO else None,
        "ratings": _own_texts([{**r, "at": to_api(r["at"])} for r in _ratings_out(doc)]),
        "held": _held(doc.get("moderation")),
        "can_rate": doc["state"] == LetterState.REPLIED,
        "rejection_reason": doc.get("rejection_reason"),
        "history": _history_for_citizen(doc),
    }
    if doc.get("duplicate_of"):
        out["merged_into"] = await _merged_into(ctx.store, doc["duplicate_of"])
    return out


async def _merged_into(store: DocumentStore, original_id: str) -> dict[str, Any] | None:
    """What the writer of a merged duplicate learns of the letter it joined: its number, its
    progress and its reply as public text (the published one, or masked) — never its writer's
    title or words."""
    original = await store.collection(LETTERS).find_one({"_id": original_id})
    if original is None:
        return None
    state = CITIZEN_STATE.get(LetterState(original["state"]), LetterState(original["state"]))
    reply = original.get("reply") if (original.get("reply") or {}).get("approved_at") else None
    published = original.get("disclosure") or {}
    shown = _reply_out(reply, files_path=None)
    if shown is not None and published.get("state") == "published":
        shown["text"] = published["reply"]
    return {"tracking_no": original["tracking_no"], "state_label": STATE_LABELS[state], "reply": shown}


async def letter_for_staff(ctx: Context, doc: dict[str, Any], *, viewer: Principal) -> dict[str, Any]:
    """The staff view, history with the names of the staff who acted (the writer's is never shown)."""
    now = ctx.clock.now()
    staff_ids = [entry["by"] for entry in doc["history"] if entry.get("role") != Role.CITIZEN]
    names = await user_names(ctx.store, staff_ids)
    center = Role.MAILBOX_CENTER in viewer.roles
    assignment = doc.get("assignment") or {}
    deadline = doc.get("deadline") or {}
    files = _files(doc, STAFF_FILES)
    out = {
        **letter_summary(doc, Moment(now), files=STAFF_FILES),
        "content": doc["content"], "addressee": doc["addressee"], "attachments": with_links(doc["attachments"], files),
        "public": doc["public"], "contact_phone": read_sealed(ctx.personal_data, CONTACT_PHONE, doc),
        "writer_name": doc.get("writer_name"), "citizen_id": doc["citizen_id"], "co_departments": assignment.get("co", []),
        "co_opinions": [_times(item, "at") for item in assignment.get("opinions", [])],
        "dispatched_at": to_api(doc.get("dispatched_at")), "paused_at": to_api(deadline.get("paused_at")),
        "deadline": _times(deadline, "started_at", "due_at", "paused_at", "stopped_at") if deadline else None,
        "reply": _reply_out(doc.get("reply"), files_path=files), "reply_approved": _reply_approved(doc),
        "info_request": _times(doc.get("info_request"), "at"),
        "supplements": _screened(_supplements_out(doc, files), "text", center=center),
        "extension": _times(doc.get("extension"), "requested_at", "decided_at"),
        "returned": _times(doc.get("returned"), "at"),
        "ratings": _screened([{**r, "at": to_api(r["at"])} for r in _ratings_out(doc)], "comment", center=center),
        "moderation": _times(doc.get("moderation"), "at", "released_at") if center else None,
        "duplicate_of": doc.get("duplicate_of"), "followers": len(doc.get("followers", [])),
        "disclosure_state": (doc.get("disclosure") or {}).get("state"),
        "todo": doc.get("todo", []),
        "history": [{**entry, "at": to_api(entry["at"]),
                     "by_name": names.get(entry["by"]) if entry.get("role") != Role.CITIZEN else None}
                    for entry in doc["history"]],
        "actions": await available_actions(ctx, LETTER_WORKFLOW, doc, viewer),
    }
    if Role.MAILBOX_CENTER in viewer.roles and doc["state"] in (LetterState.SUBMITTED, LetterState.RETURNED):
        out["suggested_duplicates"] = await suggested_duplicates(ctx, doc)
    return out


async def suggested_duplicates(ctx: Context, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Possible duplicates within the window: the same writer's letters, and letters whose text is
    similar (candidates from the search index, compared on segmented text)."""
    letters = ctx.store.collection(LETTERS)
    since = to_storage(from_storage(doc["created_at"]) - timedelta(days=ctx.settings.duplicate_window_days))
    window = {"created_at": {"$gte": since}, "_id": {"$ne": doc["_id"]},
              "state": {"$nin": [LetterState.MERGED.value, LetterState.REJECTED.value]}}
    same_writer = await letters.find({**window, "citizen_id": doc["citizen_id"]}, sort=[("_id", -1)], limit=10)
    candidate_ids = await ctx.search.search(LETTERS, doc["title"], limit=30, any_term=True)
    similar_docs = await letters.find({**window, "_id": {"$in": candidate_ids, "$ne": doc["_id"]}}) if candidate_ids else []
    scored = most_similar(f"{doc['title']} {doc['content']}",
                          [(d["_id"], f"{d['title']} {d['content']}") for d in similar_docs],
                          threshold=DUPLICATE_THRESHOLD)
    by_id = {d["_id"]: d for d in similar_docs}
    suggestions: dict[str, dict[str, Any]] = {}
    for other in same_writer:
        suggestions[other["_id"]] = {"id": other["_id"], "tracking_no": other["tracking_no"], "title": other["title"],
                                     "state": other["state"], "reason": "same_writer", "score": None}
    for other_id, score in scored:
        other = by_id[other_id]
        entry = suggestions.setdefault(other_id, {"id": other_id, "tracking_no": other["tracking_no"],
                                                  "title": other["title"], "state": other["state"],
                                                  "reason": "similar_text", "score": None})
        entry["score"] = round(score, 3)
    return list(suggestions.values())


# --- access ------------------------------------------------------------------------------

async def access_letter_for_staff(store: DocumentStore, actor: Principal, letter_id: str) -> dict[str, Any]:
    """The letter, if the actor's department holds it (lead or co-department); the same 404
    whether it is missing or someone else's."""
    doc = await store.collection(LETTERS).find_one({"_id": letter_id})
    scope = await department_scope(store, actor)
    if doc is None or (scope is not None and not set(units(doc)) & set(scope)):
        raise LetterNotFound()
    return doc


async def access_letter_for_citizen(store: DocumentStore, actor: Principal, letter_id: str) -> dict[str, Any]:
    doc = await store.collection(LETTERS).find_one({"_id": letter_id})
    if doc is None or doc["citizen_id"] != actor.user_id:
        raise LetterNotFound()
    return doc


# --- lists -------------------------------------------------------------------------------

async def list_my_letters(ctx: Context, actor: Principal, *, limit: int, cursor: str | None) -> dict[str, Any]:
    docs, next_cursor = await paginate(ctx.store.collection(LETTERS), {"citizen_id": actor.user_id},
                                       sort=[("_id", -1)], limit=limit, cursor=cursor, projection=SUMMARY_FIELDS)
    moment = Moment(ctx.clock.now())
    items = []
    for doc in docs:
        summary = letter_summary(doc, moment, files=CITIZEN_FILES)
        state = CITIZEN_STATE.get(LetterState(doc["state"]), LetterState(doc["state"]))
        summary.update(state=state.value, state_label=STATE_LABELS[state], warning_level=None, lead_department=None)
        if (doc.get("deadline") or {}).get("policy") != HANDLING_CLOCK.name:
            summary["due_at"] = None
        items.append(summary)
    return {"items": items, "next_cursor": next_cursor}


async def list_staff_letters(ctx: Context, actor: Principal, *, states: list[str], department: str | None,
                             overdue: bool, co_handled: bool, limit: int, cursor: str | None) -> dict[str, Any]:
    """The inbox: the centre sees every letter; a department the letters it leads (or, with
    ``co_handled``, those it co-handles)."""
    scope = await department_scope(ctx.store, actor)
    field = "assignment.co" if co_handled else "assignment.lead"
    filter_: dict[str, Any] = {}
    if department is not None:
        if scope is not None and department not in scope:
            return {"items": [], "next_cursor": None}
        filter_[field] = department
    elif scope is not None:
        filter_[field] = scope[0] if len(scope) == 1 else {"$in": scope}
    elif co_handled:
        filter_[field] = {"$exists": True, "$ne": []}
    unknown = [state for state in states if state not in LetterState._value2member_map_]
    if unknown:
        raise ValidationFailed(details={"fields": [{"field": "state", "message": f"未知状态：{s}"} for s in unknown]})
    now = ctx.clock.now()
    if states:
        filter_["state"] = states[0] if len(states) == 1 else {"$in": states}
    if overdue:
        filter_.update({"deadline.running": True, "deadline.paused_at": None,
                        "deadline.due_at": {"$lt": to_storage(now)}})
    docs, next_cursor = await paginate(ctx.store.collection(LETTERS), filter_, sort=[("_id", -1)], limit=limit,
                                       cursor=cursor, projection=SUMMARY_FIELDS)
    moment = Moment(now)
    return {"items": [letter_summary(doc, moment, files=STAFF_FILES) for doc in docs], "next_cursor": next_cursor}


# --- public disclosure -------------------------------------------------------------------

PUBLIC_FILTER = {"disclosure.state": "published", "state": {"$in": sorted(PUBLIC_STATES)}}


def disclosure_draft(doc: dict[str, Any]) -> dict[str, str]:
    """The auto-masked text a person checks before publishing: the writer's name masked
    wherever it occurs, and everything a person can be found by (``backend/privacy.py``)."""
    names = [doc["writer_name"]] if doc.get("writer_name") else []
    reply = (doc.get("reply") or {}).get("text", "")
    return {"title": mask_for_disclosure(doc["title"], names=names),
            "content": mask_for_disclosure(doc["content"], names=names),
            "reply": mask_for_disclosure(reply, names=names)}


async def disclosure_for_staff(ctx: Context, doc: dict[str, Any]) -> dict[str, Any]:
    saved = doc.get("disclosure") or {}
    text = saved if saved.get("state") == "published" else disclosure_draft(doc)
    return {"id": doc["_id"], "state": saved.get("state") or "draft", "public_consent": bool(doc.get("public")),
            "title": text["title"], "content": text["content"], "reply": text["reply"],
            "published_at": to_api(saved.get("published_at")), "version": doc["version"]}


async def _public_out(ctx: Context, doc: dict[str, Any], *, detail: bool) -> dict[str, Any]:
    published = doc["disclosure"]
    department = (doc.get("reply") or {}).get("department")
    out = {"id": doc["_id"], "tracking_no": doc["tracking_no"], "type": doc["type"],
           "type_label": LETTER_TYPE_LABELS[LetterType(doc["type"])], "title": published["title"],
           "writer": mask_name(doc["writer_name"]) if doc.get("writer_name") else "市民",
           "created_at": to_api(doc["created_at"]), "replied_at": to_api(doc.get("replied_at")),
           "published_at": to_api(published.get("published_at")),
           "department": await ctx.department_names.get(department) if department else None}
    if detail:
        out.update(content=published["content"], reply={
            "text": published["reply"], "department": out["department"],
            "at": to_api((doc.get("reply") or {}).get("approved_at"))})
    return out


async def list_public_letters(ctx: Context, *, q: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    filter_: dict[str, Any] = dict(PUBLIC_FILTER)
    if q:
        filter_["_id"] = {"$in": await ctx.search.search(PUBLIC_INDEX, q, limit=200)}
    docs, next_cursor = await paginate(ctx.store.collection(LETTERS), filter_, sort=[("_id", -1)], limit=limit,
                                       cursor=cursor)
    return {"items": [await _public_out(ctx, doc, detail=False) for doc in docs], "next_cursor": next_cursor}


async def get_public_letter(ctx: Context, letter_id: str) -> dict[str, Any]:
    doc = await ctx.store.collection(LETTERS).find_one({"_id": letter_id, **PUBLIC_FILTER})
    if doc is None:
        raise LetterNotFound()
    return await _public_out(ctx, doc, detail=True)
