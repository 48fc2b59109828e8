"""Reads of letters, shaped for each audience: the writer, staff, and the public."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from backend.auth.permissions import Role
from backend.auth.tokens import Principal
from backend.clock import CHINA, from_storage, to_api, to_storage, utcnow
from backend.errors import ValidationFailed
from backend.identity.queries import subtree_codes
from backend.mailbox.errors import LetterNotFound
from backend.mailbox.schemas import LETTER_TYPE_LABELS, RATING_LABELS, LetterType, Rating
from backend.mailbox.workflow import (
    CITIZEN_VISIBLE_ACTIONS,
    DEADLINE_STATES,
    LETTER_WORKFLOW,
    PUBLIC_STATES,
    LetterState,
)
from backend.privacy import mask_name, mask_text
from backend.similarity import most_similar
from backend.store.interface import DocumentStore
from backend.store.pagination import paginate
from backend.workdays import add_workdays

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

LETTERS = "letters"
YELLOW_WITHIN_WORKDAYS = 2
# Suggestions are reviewed by a person, so lean towards showing a reworded duplicate: measured on
# sample letters, rewordings of one issue score 0.57–0.87 and unrelated letters at most 0.54.
DUPLICATE_THRESHOLD = 0.55

STATE_LABELS = {
    LetterState.SUBMITTED: "待分办", LetterState.DISPATCHED: "已转办", LetterState.HANDLING: "办理中",
    LetterState.AWAITING_INFO: "待补充材料", LetterState.REPLY_REVIEW: "答复审核中", LetterState.RETURNED: "已退回",
    LetterState.REPLIED: "已答复", LetterState.CLOSED: "已办结", LetterState.REJECTED: "不予受理",
    LetterState.MERGED: "已并单",
}
# What a citizen sees of the internal states: review and returns are the administration's business.
CITIZEN_STATE = {LetterState.REPLY_REVIEW: LetterState.HANDLING, LetterState.RETURNED: LetterState.SUBMITTED,
                 LetterState.DISPATCHED: LetterState.DISPATCHED}


async def create_indexes(ctx: "AppContext") -> None:
    letters = ctx.store.collection(LETTERS)
    await letters.create_index([("citizen_id", 1), ("_id", -1)])
    await letters.create_index([("lead_department", 1), ("_id", -1)])
    await letters.create_index([("state", 1), ("_id", -1)])
    await letters.create_index([("state", 1), ("due_at", 1)])
    await letters.create_index([("public", 1), ("replied_at", -1)])
    await letters.create_index([("dispatched_at", 1)])
    await letters.create_index([("tracking_no", 1)], unique=True)


@lru_cache(maxsize=8)
def _yellow_horizon(today: date) -> str:
    """The end of the 2nd working day after ``today`` (Beijing): it depends on the date only."""
    return to_storage(add_workdays(datetime.combine(today, time(12), tzinfo=CHINA), YELLOW_WITHIN_WORKDAYS))


class WarningClock:
    """Warning levels of many letters at one moment: the yellow horizon (2 working days ahead)
    is computed once, and stored deadlines compare as strings (storage times sort as times)."""

    def __init__(self, now: datetime) -> None:
        self.now = to_storage(now)
        self.horizon = _yellow_horizon(now.astimezone(CHINA).date())

    def level(self, doc: dict[str, Any]) -> str | None:
        if doc["state"] == LetterState.AWAITING_INFO and doc.get("paused_at"):
            return "paused"
        due = doc.get("due_at")
        if doc["state"] not in DEADLINE_STATES or not due:
            return None
        return "red" if self.now > due else "yellow" if due <= self.horizon else "normal"


# The fields a list item needs: lists read only these (not contents and histories).
SUMMARY_FIELDS = ["tracking_no", "type", "title", "state", "lead_department", "created_at", "due_at", "paused_at",
                  "round", "version"]


def letter_summary(doc: dict[str, Any], clock: WarningClock) -> dict[str, Any]:
    return {
        "id": doc["_id"], "tracking_no": doc["tracking_no"], "type": doc["type"],
        "type_label": LETTER_TYPE_LABELS[LetterType(doc["type"])], "title": doc["title"], "state": doc["state"],
        "state_label": STATE_LABELS[LetterState(doc["state"])], "lead_department": doc.get("lead_department"),
        "created_at": to_api(doc["created_at"]), "due_at": to_api(doc.get("due_at")),
        "warning_level": clock.level(doc), "round": doc["round"], "version": doc["version"],
    }


def _reply_out(reply: dict[str, Any] | None, *, mask: bool = False) -> dict[str, Any] | None:
    if not reply:
        return None
    text = mask_text(reply["text"]) if mask else reply["text"]
    return {"text": text, "department": reply.get("department"), "at": to_api(reply.get("approved_at") or reply["at"]),
            "attachments": reply.get("attachments", [])}


def _history_for_citizen(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"at": to_api(entry["at"]), "action": entry["action"], "label": CITIZEN_VISIBLE_ACTIONS[entry["action"]]}
            for entry in doc["history"] if entry["action"] in CITIZEN_VISIBLE_ACTIONS]


async def letter_for_citizen(store: DocumentStore, doc: dict[str, Any]) -> dict[str, Any]:
    """The writer's view: their own data, the approved reply, a public history (no staff names,
    no internal comments, no review or return steps)."""
    state = CITIZEN_STATE.get(LetterState(doc["state"]), LetterState(doc["state"]))
    approved = doc.get("reply") and doc["reply"].get("approved_at")
    out = {
        "id": doc["_id"], "tracking_no": doc["tracking_no"], "type": doc["type"], "title": doc["title"],
        "content": doc["content"], "addressee": doc["addressee"], "attachments": doc["attachments"],
        "public": doc["public"], "contact_phone": doc.get("contact_phone"), "writer_name": doc.get("writer_name"),
        "state": state.value, "state_label": STATE_LABELS[state], "version": doc["version"], "round": doc["round"],
        "created_at": to_api(doc["created_at"]), "due_at": to_api(doc.get("due_at")),
        "reply": _reply_out(doc.get("reply")) if approved else None,
        "info_request": doc.get("info_request") if doc["state"] == LetterState.AWAITING_INFO else None,
        "ratings": [{"level": r["level"], "label": RATING_LABELS[Rating(r["level"])], "comment": r.get("comment"),
                     "at": to_api(r["at"])} for r in doc.get("ratings", [])],
        "can_rate": doc["state"] == LetterState.REPLIED,
        "rejection_reason": doc.get("rejection_reason"),
        "history": _history_for_citizen(doc),
    }
    if doc.get("duplicate_of"):
        original = await store.collection(LETTERS).find_one({"_id": doc["duplicate_of"]})
        if original is not None:
            original_approved = original.get("reply") and original["reply"].get("approved_at")
            out["merged_into"] = {
                "tracking_no": original["tracking_no"],
                "state_label": STATE_LABELS[CITIZEN_STATE.get(LetterState(original["state"]),
                                                              LetterState(original["state"]))],
                "reply": _reply_out(original.get("reply"), mask=True) if original_approved else None,
            }
    return out


async def letter_for_staff(ctx: "AppContext", doc: dict[str, Any], *, viewer: Principal) -> dict[str, Any]:
    out = {
        **letter_summary(doc, WarningClock(utcnow())),
        "content": doc["content"], "addressee": doc["addressee"], "attachments": doc["attachments"],
        "public": doc["public"], "contact_phone": doc.get("contact_phone"), "writer_name": doc.get("writer_name"),
        "citizen_id": doc["citizen_id"], "co_departments": doc.get("co_departments", []),
        "dispatched_at": to_api(doc.get("dispatched_at")), "paused_at": to_api(doc.get("paused_at")),
        "reply": _reply_out(doc.get("reply")), "reply_approved": bool((doc.get("reply") or {}).get("approved_at")),
        "info_request": doc.get("info_request"), "supplements": doc.get("supplements", []),
        "extension": doc.get("extension"), "returned": doc.get("returned"), "ratings": doc.get("ratings", []),
        "duplicate_of": doc.get("duplicate_of"), "followers": len(doc.get("followers", [])),
        "history": [{**entry, "at": to_api(entry["at"])} for entry in doc["history"]],
        "actions": LETTER_WORKFLOW.actions(doc["state"], viewer.roles),
    }
    if Role.MAILBOX_CENTER in viewer.roles and doc["state"] in (LetterState.SUBMITTED, LetterState.RETURNED):
        out["suggested_duplicates"] = await suggested_duplicates(ctx, doc)
    return out


async def suggested_duplicates(ctx: "AppContext", doc: dict[str, Any]) -> list[dict[str, Any]]:
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

async def _staff_scope(store: DocumentStore, actor: Principal) -> list[str] | None:
    """Departments whose letters the actor sees: None means every letter (centre, admin)."""
    if Role.MAILBOX_CENTER in actor.roles or Role.ADMIN in actor.roles:
        return None
    if actor.department is None:
        return []
    if Role.DEPARTMENT_ADMIN in actor.roles:
        return await subtree_codes(store, actor.department)
    return [actor.department]


async def access_letter_for_staff(store: DocumentStore, actor: Principal, letter_id: str) -> dict[str, Any]:
    """The letter, if the actor's department holds it (lead or co-department); the same 404
    whether it is missing or someone else's."""
    doc = await store.collection(LETTERS).find_one({"_id": letter_id})
    scope = await _staff_scope(store, actor)
    if doc is None or (scope is not None and not ({doc.get("lead_department"), *doc.get("co_departments", [])}
                                                  & set(scope))):
        raise LetterNotFound()
    return doc


async def access_letter_for_citizen(store: DocumentStore, actor: Principal, letter_id: str) -> dict[str, Any]:
    doc = await store.collection(LETTERS).find_one({"_id": letter_id})
    if doc is None or doc["citizen_id"] != actor.user_id:
        raise LetterNotFound()
    return doc


# --- lists -------------------------------------------------------------------------------

async def list_my_letters(store: DocumentStore, actor: Principal, *, limit: int, cursor: str | None) -> dict[str, Any]:
    docs, next_cursor = await paginate(store.collection(LETTERS), {"citizen_id": actor.user_id},
                                       sort=[("_id", -1)], limit=limit, cursor=cursor, projection=SUMMARY_FIELDS)
    clock = WarningClock(utcnow())
    items = []
    for doc in docs:
        summary = letter_summary(doc, clock)
        state = CITIZEN_STATE.get(LetterState(doc["state"]), LetterState(doc["state"]))
        summary.update(state=state.value, state_label=STATE_LABELS[state], warning_level=None,
                       lead_department=None)
        items.append(summary)
    return {"items": items, "next_cursor": next_cursor}


async def list_staff_letters(store: DocumentStore, actor: Principal, *, states: list[str], department: str | None,
                             overdue: bool, limit: int, cursor: str | None) -> dict[str, Any]:
    """The inbox: the centre sees every letter; a department the letters it leads."""
    scope = await _staff_scope(store, actor)
    filter_: dict[str, Any] = {}
    if department is not None:
        if scope is not None and department not in scope:
            return {"items": [], "next_cursor": None}
        filter_["lead_department"] = department
    elif scope is not None:
        filter_["lead_department"] = scope[0] if len(scope) == 1 else {"$in": scope}
    unknown = [state for state in states if state not in LetterState._value2member_map_]
    if unknown:
        raise ValidationFailed(details={"fields": [{"field": "state", "message": f"未知状态：{s}"} for s in unknown]})
    if overdue:
        filter_["state"] = {"$in": sorted(set(states) & DEADLINE_STATES) if states else sorted(DEADLINE_STATES)}
        filter_["due_at"] = {"$lt": to_storage(utcnow())}
        filter_["paused_at"] = None
    elif states:
        filter_["state"] = states[0] if len(states) == 1 else {"$in": states}
    docs, next_cursor = await paginate(store.collection(LETTERS), filter_, sort=[("_id", -1)], limit=limit,
                                       cursor=cursor, projection=SUMMARY_FIELDS)
    clock = WarningClock(utcnow())
    return {"items": [letter_summary(doc, clock) for doc in docs], "next_cursor": next_cursor}


# --- public disclosure -------------------------------------------------------------------

def _public_out(doc: dict[str, Any], *, detail: bool) -> dict[str, Any]:
    out = {"id": doc["_id"], "tracking_no": doc["tracking_no"], "type": doc["type"],
           "type_label": LETTER_TYPE_LABELS[LetterType(doc["type"])], "title": mask_text(doc["title"]),
           "writer": mask_name(doc["writer_name"]) if doc.get("writer_name") else "市民",
           "created_at": to_api(doc["created_at"]), "replied_at": to_api(doc.get("replied_at")),
           "department": (doc.get("reply") or {}).get("department")}
    if detail:
        out.update(content=mask_text(doc["content"]), reply=_reply_out(doc.get("reply"), mask=True))
    return out


PUBLIC_FILTER = {"public": True, "state": {"$in": sorted(PUBLIC_STATES)}}


async def list_public_letters(ctx: "AppContext", *, q: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    filter_: dict[str, Any] = dict(PUBLIC_FILTER)
    if q:
        filter_["_id"] = {"$in": await ctx.search.search(LETTERS, q, limit=200)}
    docs, next_cursor = await paginate(ctx.store.collection(LETTERS), filter_, sort=[("_id", -1)], limit=limit,
                                       cursor=cursor)
    return {"items": [_public_out(doc, detail=False) for doc in docs], "next_cursor": next_cursor}


async def get_public_letter(store: DocumentStore, letter_id: str) -> dict[str, Any]:
    doc = await store.collection(LETTERS).find_one({"_id": letter_id, **PUBLIC_FILTER})
    if doc is None:
        raise LetterNotFound()
    return _public_out(doc, detail=True)
