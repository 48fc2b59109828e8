"""Every write to a letter. Each is one declared transition (``LETTER_WORKFLOW``) applied as one
atomic compare-and-set that also records the history entry and the domain event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.attachments.use_cases import resolve_attachments
from backend.auth.permissions import Role
from backend.auth.tokens import Principal
from backend.clock import from_storage, now_stored, to_storage, utcnow
from backend.errors import DuplicateKey, InvalidTransition, ServiceError
from backend.events import doc_with_events, new_event
from backend.identity.queries import get_department
from backend.identity.use_cases import SYSTEM
from backend.mailbox import queries
from backend.mailbox.errors import CannotMergeIntoItself, ExtensionPending, NoExtensionPending, NotLeadDepartment
from backend.mailbox.queries import LETTERS, access_letter_for_citizen, access_letter_for_staff
from backend.mailbox.schemas import (
    BAD_RATINGS,
    AddresseeKind,
    DecisionIn,
    DispatchIn,
    ExtensionIn,
    InfoRequestIn,
    LetterIn,
    MergeIn,
    RatingIn,
    ReasonIn,
    ReplyIn,
    ReturnIn,
    SupplyInfoIn,
)
from backend.mailbox.workflow import DEADLINE_STATES, LETTER_WORKFLOW, LetterState
from backend.tracking import next_tracking_number
from backend.workdays import add_workdays, extend_for_pause, warning_level, workdays_between
from backend.workflow import apply_transition

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

CENTER_RECIPIENT = {"kind": "role", "role": Role.MAILBOX_CENTER.value}


def _writer(doc: dict[str, Any]) -> list[dict[str, str]]:
    return [{"kind": "user", "id": doc["citizen_id"]}]


def _readers(doc: dict[str, Any]) -> list[dict[str, str]]:
    """The writer and everyone whose duplicate letter was merged into this one."""
    return [*_writer(doc), *({"kind": "user", "id": uid} for uid in doc.get("followers", []))]


def _lead(doc: dict[str, Any]) -> list[dict[str, str]]:
    return [{"kind": "department", "code": doc["lead_department"]}] if doc.get("lead_department") else []


def _event(doc: dict[str, Any], event_type: str, actor: Principal, recipients: list[dict[str, str]],
           **data: Any) -> dict[str, Any]:
    return new_event(event_type, collection=LETTERS, subject_id=doc["_id"], actor=actor.user_id,
                     recipients=recipients, data={"tracking_no": doc["tracking_no"], "title": doc["title"],
                                                  "type": doc["type"], **data})


async def _transition(ctx: "AppContext", doc: dict[str, Any], action: str, actor: Principal, *,
                      events: list[dict[str, Any]] = (), **kwargs: Any) -> dict[str, Any]:
    after = await apply_transition(ctx.store.collection(LETTERS), doc, workflow=LETTER_WORKFLOW, action=action,
                                   actor=actor, events=events, **kwargs)
    if events:
        ctx.relay.wake()
    return after


def _due(ctx: "AppContext", letter_type: str) -> str:
    return to_storage(add_workdays(utcnow(), ctx.settings.letter_deadline_days(letter_type)))


def _require_lead(doc: dict[str, Any], actor: Principal) -> None:
    if actor.department is None or actor.department != doc.get("lead_department"):
        raise NotLeadDepartment()


# --- citizens ------------------------------------------------------------------------------

async def do_submit_letter(ctx: "AppContext", data: LetterIn, *, acting_user: Principal,
                           letter_id: str) -> dict[str, Any]:
    """A new letter with a tracking number, into the mailbox centre's inbox.

    ``letter_id`` comes from the request's Idempotency-Key claim: a retry after a crash finds the
    letter already stored under it (the insert refuses the same id) and returns it instead of
    creating a second one; that retry costs a tracking number, which leaves a harmless gap.
    """
    letters = ctx.store.collection(LETTERS)
    if data.addressee.kind is not AddresseeKind.MAYOR:
        await get_department(ctx.store, data.addressee.code or "")
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user, images_only=True)
    now = now_stored()
    doc: dict[str, Any] = {
        "_id": letter_id, "tracking_no": await next_tracking_number(ctx.store, "XJ"),
        "citizen_id": acting_user.user_id, "type": data.type.value, "title": data.title, "content": data.content,
        "addressee": data.addressee.model_dump(mode="json"), "attachments": attachments, "public": data.public,
        "contact_phone": data.contact_phone, "writer_name": data.writer_name,
        "state": LetterState.SUBMITTED.value, "version": 1, "round": 1, "followers": [], "co_departments": [],
        "lead_department": None, "due_at": None, "stats": {},
        "history": [{"at": now, "by": acting_user.user_id, "role": Role.CITIZEN.value, "action": "submit",
                     "from": None, "to": LetterState.SUBMITTED.value, "comment": None}],
        "created_at": now, "updated_at": now,
    }
    event = _event(doc, "letter.submitted", acting_user, [CENTER_RECIPIENT])
    try:
        await letters.insert_one(doc_with_events(doc, event))
    except DuplicateKey:  # the same reserved id: stored by an earlier attempt of this request
        stored = await letters.find_one({"_id": letter_id})
        if stored is None or stored["citizen_id"] != acting_user.user_id:
            raise
        # That attempt may have died between the insert and the search index: index again
        # (an upsert), or the letter would never be found by search.
        await ctx.search.index(LETTERS, letter_id, f"{stored['title']} {stored['content']}")
        return await queries.letter_for_citizen(ctx.store, stored)
    ctx.relay.wake()
    await ctx.search.index(LETTERS, letter_id, f"{data.title} {data.content}")
    return await queries.letter_for_citizen(ctx.store, doc)


async def do_supply_info(ctx: "AppContext", letter_id: str, data: SupplyInfoIn, *,
                         acting_user: Principal) -> dict[str, Any]:
    """The citizen answers the department's question; the paused deadline moves on by the pause."""
    doc = await access_letter_for_citizen(ctx.store, acting_user, letter_id)
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user, images_only=True)
    now = utcnow()
    change: dict[str, Any] = {"paused_at": None}
    if doc.get("due_at") and doc.get("paused_at"):
        change["due_at"] = to_storage(extend_for_pause(from_storage(doc["due_at"]), from_storage(doc["paused_at"]), now))
    after = await _transition(ctx, doc, "supply_info", acting_user, comment=data.text, set_fields=change,
                              update={"$push": {"supplements": {"at": to_storage(now), "text": data.text,
                                                                "attachments": attachments}}},
                              events=[_event(doc, "letter.info_supplied", acting_user, _lead(doc))])
    return await queries.letter_for_citizen(ctx.store, after)


async def do_rate_letter(ctx: "AppContext", letter_id: str, data: RatingIn, *,
                         acting_user: Principal) -> dict[str, Any]:
    """Five-level rating of the final reply. A bad first rating reopens the letter once for
    re-handling (二次办理) with a new deadline; the second rating is final."""
    doc = await access_letter_for_citizen(ctx.store, acting_user, letter_id)
    rating = {"level": data.level.value, "comment": data.comment, "at": now_stored(), "round": doc["round"]}
    if data.level in BAD_RATINGS and doc["round"] == 1:
        after = await _transition(
            ctx, doc, "rate_reopen", acting_user, comment=data.comment,
            set_fields={"round": 2, "due_at": _due(ctx, doc["type"]), "warned_level": None, "stats.reopened": 1,
                        "reopened_at": now_stored()},
            update={"$push": {"ratings": rating}},
            events=[_event(doc, "letter.reopened", acting_user, [*_lead(doc), CENTER_RECIPIENT],
                           rating=data.level.value)])
    else:
        satisfied = 0 if data.level in BAD_RATINGS else 1
        after = await _transition(
            ctx, doc, "rate", acting_user, comment=data.comment,
            set_fields={"closed_at": now_stored(), "stats.closed": 1, "stats.rated": 1, "stats.satisfied": satisfied},
            update={"$push": {"ratings": rating}},
            events=[_event(doc, "letter.rated", acting_user, [*_lead(doc), CENTER_RECIPIENT],
                           rating=data.level.value)])
    return await queries.letter_for_citizen(ctx.store, after)


# --- the mailbox centre --------------------------------------------------------------------

async def do_dispatch_letter(ctx: "AppContext", letter_id: str, data: DispatchIn, *, acting_user: Principal,
                             expected_version: int | None) -> dict[str, Any]:
    """To one lead department plus co-departments; the deadline starts now (working days by type)."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    co = [code for code in dict.fromkeys(data.co_departments) if code != data.lead_department]
    for code in [data.lead_department, *co]:
        await get_department(ctx.store, code)
    now = now_stored()
    after = await _transition(
        ctx, doc, "dispatch", acting_user, comment=data.comment, expected_version=expected_version,
        set_fields={"lead_department": data.lead_department, "co_departments": co, "dispatched_at": now,
                    "due_at": _due(ctx, doc["type"]), "warned_level": None, "paused_at": None},
        history={"lead_department": data.lead_department, "co_departments": co},
        events=[_event(doc, "letter.dispatched", acting_user,
                       [{"kind": "department", "code": code} for code in [data.lead_department, *co]] + _writer(doc),
                       lead_department=data.lead_department)])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_answer_letter(ctx: "AppContext", letter_id: str, data: ReplyIn, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    """The centre answers directly (e.g. a simple consultation) without dispatching."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user)
    now = now_stored()
    reply = {"text": data.text, "attachments": attachments, "by": acting_user.user_id,
             "department": acting_user.department, "at": now, "approved_at": now}
    after = await _transition(
        ctx, doc, "answer", acting_user, expected_version=expected_version,
        set_fields={"reply": reply, "replied_at": now, "lead_department": acting_user.department,
                    "dispatched_at": now, "stats.replied": 1, "stats.on_time": 1, "stats.handling_workdays": 0},
        events=[_event(doc, "letter.replied", acting_user, _readers(doc))])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_reject_letter(ctx: "AppContext", letter_id: str, data: ReasonIn, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    after = await _transition(ctx, doc, "reject", acting_user, comment=data.reason, expected_version=expected_version,
                              set_fields={"rejection_reason": data.reason, "closed_at": now_stored()},
                              events=[_event(doc, "letter.rejected", acting_user, _writer(doc), reason=data.reason)])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_merge_letter(ctx: "AppContext", letter_id: str, data: MergeIn, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    """并单: this letter is a duplicate of ``original_id``. Its writer follows the original and is
    told of the original's reply. The follower is added first: if the second write fails, the
    original merely has one more reader, and the merge can be retried."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    original = await access_letter_for_staff(ctx.store, acting_user, data.original_id)
    if original["_id"] == doc["_id"] or original["state"] in (LetterState.MERGED, LetterState.REJECTED):
        raise CannotMergeIntoItself()
    if LETTER_WORKFLOW.find(doc["state"], "merge") is None:  # refuse before touching the original
        raise InvalidTransition(details={"state": doc["state"], "action": "merge"})
    letters = ctx.store.collection(LETTERS)
    await letters.update_one({"_id": original["_id"]}, {"$addToSet": {"followers": doc["citizen_id"]}})
    after = await _transition(
        ctx, doc, "merge", acting_user, comment=data.comment, expected_version=expected_version,
        set_fields={"duplicate_of": original["_id"], "closed_at": now_stored()},
        history={"original_tracking_no": original["tracking_no"]},
        events=[_event(doc, "letter.merged", acting_user, _writer(doc), original_tracking_no=original["tracking_no"])])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_review_reply(ctx: "AppContext", letter_id: str, data: DecisionIn, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    """Approve the department's reply (the citizen, and the public if allowed, then see it) or
    send it back with comments."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    if not data.approve:
        after = await _transition(ctx, doc, "send_back", acting_user, comment=data.comment,
                                  expected_version=expected_version,
                                  events=[_event(doc, "letter.reply_sent_back", acting_user, _lead(doc),
                                                 comment=data.comment)])
        return await queries.letter_for_staff(ctx, after, viewer=acting_user)
    now = utcnow()
    change: dict[str, Any] = {"reply.approved_at": to_storage(now), "replied_at": to_storage(now)}
    if doc["round"] == 1 and doc.get("dispatched_at"):  # absent only in states that cannot be approved
        change.update({
            "stats.replied": 1,
            "stats.on_time": int(doc.get("due_at") is None or to_storage(now) <= doc["due_at"]),
            "stats.handling_workdays": round(workdays_between(from_storage(doc["dispatched_at"]), now), 2),
        })
    after = await _transition(ctx, doc, "approve", acting_user, comment=data.comment,
                              expected_version=expected_version, set_fields=change,
                              events=[_event(doc, "letter.replied", acting_user, _readers(doc) + _lead(doc))])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_decide_extension(ctx: "AppContext", letter_id: str, data: DecisionIn, *, acting_user: Principal,
                              expected_version: int | None) -> dict[str, Any]:
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    extension = doc.get("extension") or {}
    if extension.get("state") != "pending":
        raise NoExtensionPending()
    change: dict[str, Any] = {"extension.state": "approved" if data.approve else "refused",
                              "extension.decided_at": now_stored(), "extension.decided_by": acting_user.user_id}
    if data.approve and doc.get("due_at"):
        change["due_at"] = to_storage(add_workdays(from_storage(doc["due_at"]), extension["days"]))
        change["warned_level"] = None
    after = await _transition(ctx, doc, "decide_extension", acting_user, comment=data.comment,
                              expected_version=expected_version, set_fields=change,
                              history={"approved": data.approve},
                              events=[_event(doc, "letter.extension_decided", acting_user, _lead(doc),
                                             approved=data.approve)])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


# --- departments ---------------------------------------------------------------------------

async def do_accept_letter(ctx: "AppContext", letter_id: str, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    _require_lead(doc, acting_user)
    after = await _transition(ctx, doc, "accept", acting_user, expected_version=expected_version,
                              set_fields={"accepted_at": now_stored()},
                              events=[_event(doc, "letter.accepted", acting_user, _writer(doc))])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_return_letter(ctx: "AppContext", letter_id: str, data: ReturnIn, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    """退回: "not ours" must name who is responsible, so the centre can re-dispatch at once."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    _require_lead(doc, acting_user)
    after = await _transition(
        ctx, doc, "return", acting_user, comment=data.reason, expected_version=expected_version,
        set_fields={"returned": {"by_department": doc["lead_department"], "reason": data.reason,
                                 "responsible_body": data.responsible_body, "at": now_stored()},
                    "due_at": None, "paused_at": None},
        history={"responsible_body": data.responsible_body},
        events=[_event(doc, "letter.returned", acting_user, [CENTER_RECIPIENT],
                       responsible_body=data.responsible_body)])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_request_info(ctx: "AppContext", letter_id: str, data: InfoRequestIn, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    """Ask the citizen for more information; the deadline clock pauses until they answer."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    _require_lead(doc, acting_user)
    now = now_stored()
    after = await _transition(ctx, doc, "request_info", acting_user, comment=data.question,
                              expected_version=expected_version,
                              set_fields={"paused_at": now, "info_request": {"question": data.question, "at": now}},
                              events=[_event(doc, "letter.info_requested", acting_user, _writer(doc),
                                             question=data.question)])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_reply_letter(ctx: "AppContext", letter_id: str, data: ReplyIn, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    """The department's reply, which the centre reviews before the citizen sees it."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    _require_lead(doc, acting_user)
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user)
    reply = {"text": data.text, "attachments": attachments, "by": acting_user.user_id,
             "department": acting_user.department, "at": now_stored(), "approved_at": None}
    after = await _transition(ctx, doc, "reply", acting_user, expected_version=expected_version,
                              set_fields={"reply": reply},
                              events=[_event(doc, "letter.reply_submitted", acting_user, [CENTER_RECIPIENT])])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_request_extension(ctx: "AppContext", letter_id: str, data: ExtensionIn, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    _require_lead(doc, acting_user)
    if (doc.get("extension") or {}).get("state") == "pending":
        raise ExtensionPending()
    extension = {"state": "pending", "days": data.days, "reason": data.reason, "by": acting_user.user_id,
                 "requested_at": now_stored()}
    after = await _transition(ctx, doc, "request_extension", acting_user, comment=data.reason,
                              expected_version=expected_version, set_fields={"extension": extension},
                              history={"days": data.days},
                              events=[_event(doc, "letter.extension_requested", acting_user, [CENTER_RECIPIENT],
                                             days=data.days)])
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


# --- electronic supervision (电子监察) ------------------------------------------------------

async def do_warn_due_letters(ctx: "AppContext") -> int:
    """Emit ``letter.overdue_warning`` once per level (yellow: due within 2 working days; red:
    overdue) for every letter a department holds. Run periodically; returns warnings emitted."""
    now = utcnow()
    horizon = to_storage(add_workdays(now, 2))
    candidates = await ctx.store.collection(LETTERS).find(
        {"state": {"$in": sorted(DEADLINE_STATES)}, "due_at": {"$lte": horizon}, "warned_level": {"$ne": "red"},
         "paused_at": None}, limit=1000)
    emitted = 0
    for doc in candidates:
        level = warning_level(from_storage(doc["due_at"]), now)
        if level == "normal" or level == doc.get("warned_level"):
            continue
        try:
            await _transition(ctx, doc, "warn", SYSTEM, set_fields={"warned_level": level},
                              comment="即将到期" if level == "yellow" else "已超期",
                              events=[_event(doc, "letter.overdue_warning", SYSTEM, [*_lead(doc), CENTER_RECIPIENT],
                                             level=level, due_at=doc["due_at"])])
            emitted += 1
        except ServiceError:  # the letter changed meanwhile: the next run sees it as it is now
            continue
    return emitted
