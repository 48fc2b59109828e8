"""Every write to a letter: each is one declared transition of ``LETTER_WORKFLOW`` applied by the
case kernel (``backend/cases/engine.py``), which writes the state, history, clock, holder and the
domain event in one compare-and-set. The functions here only do the letter's own work: check
references, shape the fields, choose the declared outcome."""

from __future__ import annotations

from typing import Any

from backend.attachments.use_cases import resolve_attachments
from backend.auth.tokens import Principal
from backend.cases.assignment import assigned, opinion
from backend.cases.deadline import Extension, ExtensionPending, NoExtensionPending, stopped
from backend.cases.engine import apply, create_case
from backend.clock import to_storage
from backend.context import Context
from backend.errors import DuplicateKey, InvalidTransition, ValidationFailed, VersionConflict
from backend.events import Recipient, new_event
from backend.identity.queries import USERS, get_department
from backend.mailbox import queries
from backend.mailbox.errors import CannotMergeIntoItself, LetterNotFound, MergeTargetClosed, NothingHeld
from backend.mailbox.events import LetterEvent
from backend.mailbox.queries import access_letter_for_citizen, access_letter_for_staff
from backend.mailbox.schemas import (
    BAD_RATINGS,
    LETTER_FILE_TYPES,
    RATING_LABELS,
    AddresseeKind,
    DecisionIn,
    DisclosureIn,
    DispatchIn,
    ExtensionIn,
    InfoRequestIn,
    LetterIn,
    MergeIn,
    OpinionIn,
    RatingIn,
    ReasonIn,
    ReleaseIn,
    ReplyIn,
    ReturnIn,
    SupplyInfoIn,
)
from backend.mailbox.workflow import CONTACT_PHONE, LETTER_WORKFLOW, LETTERS, LetterState
from backend.moderation import screen
from backend.personal_data import sealed_values
from backend.tracking import next_tracking_number

PUBLIC_INDEX = "public_letters"
# Which kind of department each mailbox writes to (部门信箱 → a department, 区市信箱 → a district).
_ADDRESSEE_KINDS = {AddresseeKind.DEPARTMENT: "department", AddresseeKind.DISTRICT: "district"}  # the search index of published (masked) text only
_MERGE_RETRIES = 5


async def _apply(ctx: Context, doc: dict[str, Any], action: str, actor: Principal, **kwargs: Any) -> dict[str, Any]:
    return await apply(ctx, LETTER_WORKFLOW, doc, action, actor=actor, **kwargs)


# --- citizens ------------------------------------------------------------------------------

async def do_submit_letter(ctx: Context, data: LetterIn, *, acting_user: Principal, letter_id: str) -> dict[str, Any]:
    """A new letter with a tracking number, into the mailbox centre's inbox.

    ``letter_id`` comes from the request's Idempotency-Key claim: a retry after a crash finds the
    letter already stored under it (the insert refuses the same id) and returns it instead of
    creating a second one; that retry costs a tracking number, which leaves a harmless gap.
    """
    if data.addressee.kind is not AddresseeKind.MAYOR:
        department = await get_department(ctx.store, data.addressee.code or "")
        if department["kind"] != _ADDRESSEE_KINDS[data.addressee.kind]:
            raise ValidationFailed("收信部门与信箱类型不符", details={"fields": [{
                "field": "addressee.code", "message": "部门信箱须选择市直部门，区市信箱须选择区市"}]})
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user, accept=LETTER_FILE_TYPES)
    fields = {
        "tracking_no": await next_tracking_number(ctx.store, "XJ", ctx.clock.now()),
        "citizen_id": acting_user.user_id, "type": data.type.value, "title": data.title, "content": data.content,
        "addressee": data.addressee.model_dump(mode="json"), "attachments": attachments, "public": data.public,
        "channel": "miniprogram",
        **(sealed_values(ctx.personal_data, CONTACT_PHONE, data.contact_phone) if data.contact_phone
           else {"contact_phone": None}),
        "writer_name": data.writer_name, "round": 1, "followers": [],
        "assignment": None, "stats": {},
    }
    verdict = await screen(ctx, f"{data.title}\n{data.content}", openid=lambda: _openid(ctx, acting_user))
    fields["moderation"] = verdict.record(ctx.clock.stored())
    try:
        doc = await create_case(ctx, LETTER_WORKFLOW, fields, actor=acting_user, case_id=letter_id,
                                data={"held": verdict.held, "held_text": "（内容待审核）" if verdict.held else ""})
    except DuplicateKey:  # the same reserved id: stored by an earlier attempt of this request
        stored = await ctx.store.collection(LETTERS).find_one({"_id": letter_id})
        if stored is None or stored["citizen_id"] != acting_user.user_id:
            raise
        # That attempt may have died between the insert and the search index: index again
        # (an upsert), or the letter would never be found by duplicate detection.
        doc = stored
    await ctx.search.index(LETTERS, letter_id, f"{doc['title']} {doc['content']}")
    return await queries.letter_for_citizen(ctx, doc)


async def do_supply_info(ctx: Context, letter_id: str, data: SupplyInfoIn, *, acting_user: Principal) -> dict[str, Any]:
    """The citizen answers the department's question; the paused clock moves on by the pause."""
    doc = await access_letter_for_citizen(ctx.store, acting_user, letter_id)
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user, accept=LETTER_FILE_TYPES)
    verdict = await screen(ctx, data.text, openid=lambda: _openid(ctx, acting_user))
    supplement = {"at": ctx.clock.stored(), "text": data.text, "attachments": attachments,
                  "moderation": verdict.record(ctx.clock.stored())}
    after = await _apply(ctx, doc, "supply_info", acting_user, comment=data.text,
                         changes={"$push": {"supplements": supplement}})
    return await queries.letter_for_citizen(ctx, after)


async def do_rate_letter(ctx: Context, letter_id: str, data: RatingIn, *, acting_user: Principal) -> dict[str, Any]:
    """Five-level rating of the final reply. A bad first rating reopens the letter once for
    re-handling (二次办理) by whoever answered it; the second rating is final."""
    doc = await access_letter_for_citizen(ctx.store, acting_user, letter_id)
    now = ctx.clock.stored()
    verdict = await screen(ctx, data.comment, openid=lambda: _openid(ctx, acting_user)) if data.comment else None
    rating = {"level": data.level.value, "comment": data.comment, "at": now, "round": doc["round"],
              "moderation": verdict.record(now) if verdict else None}
    labels = {"rating": data.level.value, "rating_label": RATING_LABELS[data.level]}
    if data.level in BAD_RATINGS and doc["round"] == 1:
        changes: dict[str, Any] = {"$set": {"round": 2, "stats.reopened": 1, "reopened_at": now},
                                   "$push": {"ratings": rating}}
        if (doc.get("disclosure") or {}).get("state") == "published":  # the answer changes: a person decides again
            changes["$set"]["disclosure.state"] = "withdrawn"
        outcome = "center" if doc.get("answered_by_center") else "department"
        after = await _apply(ctx, doc, "rate_reopen", acting_user, outcome=outcome, comment=data.comment,
                             changes=changes, data=labels)
        if "disclosure.state" in changes["$set"]:
            await ctx.search.remove(PUBLIC_INDEX, letter_id)
    else:
        satisfied = 0 if data.level in BAD_RATINGS else 1
        after = await _apply(ctx, doc, "rate", acting_user, comment=data.comment, data=labels, changes={
            "$set": {"closed_at": now, "stats.closed": 1, "stats.rated": 1, "stats.satisfied": satisfied},
            "$push": {"ratings": rating}})
    return await queries.letter_for_citizen(ctx, after)


# --- the mailbox centre --------------------------------------------------------------------

async def do_dispatch_letter(ctx: Context, letter_id: str, data: DispatchIn, *, acting_user: Principal,
                             expected_version: int | None) -> dict[str, Any]:
    """To one lead department plus co-departments; the handling clock starts now."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    assignment = assigned(data.lead_department, data.co_departments)
    for code in [assignment["lead"], *assignment["co"]]:
        await get_department(ctx.store, code)
    after = await _apply(ctx, doc, "dispatch", acting_user, comment=data.comment, expected_version=expected_version,
                         changes={"$set": {"assignment": assignment, "dispatched_at": ctx.clock.stored(),
                                           "answered_by_center": False}},
                         history={"lead_department": assignment["lead"], "co_departments": assignment["co"]},
                         data={"lead_department": assignment["lead"]})
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_answer_letter(ctx: Context, letter_id: str, data: ReplyIn, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    """The centre answers directly (e.g. a simple consultation) without dispatching."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user)
    now = ctx.clock.stored()
    reply = {"text": data.text, "attachments": attachments, "by": acting_user.user_id,
             "department": acting_user.department, "at": now, "approved_at": now}
    changes = {"$set": {"reply": reply, "replied_at": now, "answered_by_center": True,
                        "assignment": assigned(acting_user.department) if acting_user.department else None}}
    if doc["round"] == 1:
        changes["$set"].update({"dispatched_at": now, "stats.replied": 1, "stats.on_time": 1,
                                "stats.handling_workdays": 0})
    after = await _apply(ctx, doc, "answer", acting_user, expected_version=expected_version, changes=changes,
                         events=_follower_notices(ctx, doc, acting_user))
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_reject_letter(ctx: Context, letter_id: str, data: ReasonIn, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    after = await _apply(ctx, doc, "reject", acting_user, comment=data.reason, expected_version=expected_version,
                         changes={"$set": {"rejection_reason": data.reason, "closed_at": ctx.clock.stored()}},
                         data={"reason": data.reason})
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_merge_letter(ctx: Context, letter_id: str, data: MergeIn, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    """并单: ``letter_id`` is a duplicate of ``data.original_id``. Both letters record it (history
    and event on each): the duplicate becomes ``merged``; the original takes its writer as a
    follower, who is told of the original's answer under their own letter, never the original's
    title or text."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    if data.original_id == letter_id:
        raise CannotMergeIntoItself()
    try:
        original = await access_letter_for_staff(ctx.store, acting_user, data.original_id)
    except LetterNotFound:
        raise CannotMergeIntoItself() from None
    if original["state"] == LetterState.MERGED:
        raise CannotMergeIntoItself()
    if LETTER_WORKFLOW.find(original["state"], "absorb") is None:
        raise MergeTargetClosed(details={"state": original["state"]})
    if LETTER_WORKFLOW.find(doc["state"], "merge") is None:  # before touching the original
        raise InvalidTransition(details={"state": doc["state"], "action": "merge"})
    after = await _apply(ctx, doc, "merge", acting_user, comment=data.comment, expected_version=expected_version,
                         changes={"$set": {"duplicate_of": original["_id"], "closed_at": ctx.clock.stored()}},
                         history={"original_tracking_no": original["tracking_no"]},
                         data={"original_tracking_no": original["tracking_no"]})
    follower = {"letter_id": doc["_id"], "citizen_id": doc["citizen_id"], "tracking_no": doc["tracking_no"],
                "title": doc["title"], "type": doc["type"]}
    for attempt in range(_MERGE_RETRIES):
        try:
            await _apply(ctx, original, "absorb", acting_user, comment=data.comment,
                         changes={"$push": {"followers": follower}},
                         history={"duplicate_tracking_no": doc["tracking_no"]},
                         data={"duplicate_tracking_no": doc["tracking_no"]})
            break
        except VersionConflict:  # the original moved on meanwhile: adding a follower commutes, so retry
            if attempt + 1 == _MERGE_RETRIES:
                raise
            original = await access_letter_for_staff(ctx.store, acting_user, data.original_id)
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_review_reply(ctx: Context, letter_id: str, data: DecisionIn, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    """Approve the department's reply (the citizen then sees it) or send it back with comments."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    if not data.approve:
        after = await _apply(ctx, doc, "send_back", acting_user, comment=data.comment,
                             expected_version=expected_version, data={"comment": data.comment})
        return await queries.letter_for_staff(ctx, after, viewer=acting_user)
    now = ctx.clock.now()
    changes: dict[str, Any] = {"$set": {"reply.approved_at": to_storage(now), "replied_at": to_storage(now)}}
    if doc["round"] == 1 and doc.get("deadline"):  # round-one figures, from the clock this stops
        handled = stopped(doc["deadline"], now)
        changes["$set"].update({"stats.replied": 1, "stats.on_time": int(bool(handled["met"])),
                                "stats.handling_workdays": handled["workdays"] or 0})
    after = await _apply(ctx, doc, "approve", acting_user, comment=data.comment, expected_version=expected_version,
                         changes=changes, events=_follower_notices(ctx, doc, acting_user), now=now)
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_decide_extension(ctx: Context, letter_id: str, data: DecisionIn, *, acting_user: Principal,
                              expected_version: int | None) -> dict[str, Any]:
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    request = doc.get("extension") or {}
    if request.get("state") != "pending":
        raise NoExtensionPending()
    changes = {"$set": {"extension.state": "approved" if data.approve else "refused",
                        "extension.decided_at": ctx.clock.stored(), "extension.decided_by": acting_user.user_id}}
    after = await _apply(ctx, doc, "decide_extension", acting_user, outcome="approved" if data.approve else "refused",
                         comment=data.comment, expected_version=expected_version, changes=changes,
                         extension=Extension(request["days"], request["reason"], request["by"]),
                         history={"approved": data.approve},
                         data={"approved": data.approve, "decision_label": "已批准" if data.approve else "未获批准"})
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


# --- departments ---------------------------------------------------------------------------

async def do_accept_letter(ctx: Context, letter_id: str, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    after = await _apply(ctx, doc, "accept", acting_user, expected_version=expected_version,
                         changes={"$set": {"accepted_at": ctx.clock.stored()}})
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_return_letter(ctx: Context, letter_id: str, data: ReturnIn, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    """退回: "not ours" must name who is responsible, so the centre can re-dispatch at once."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    lead = (doc.get("assignment") or {}).get("lead")
    returned = {"by_department": lead, "reason": data.reason, "responsible_body": data.responsible_body,
                "at": ctx.clock.stored()}
    after = await _apply(ctx, doc, "return", acting_user, comment=data.reason, expected_version=expected_version,
                         changes={"$set": {"returned": returned}},
                         history={"responsible_body": data.responsible_body},
                         data={"responsible_body": data.responsible_body})
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_request_info(ctx: Context, letter_id: str, data: InfoRequestIn, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    """Ask the citizen for more information; the clock pauses until they answer."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    after = await _apply(ctx, doc, "request_info", acting_user, comment=data.question,
                         expected_version=expected_version,
                         changes={"$set": {"info_request": {"question": data.question, "at": ctx.clock.stored()}}},
                         data={"question": data.question})
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_give_opinion(ctx: Context, letter_id: str, data: OpinionIn, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    """A co-department's opinion (协办意见), which the lead department sees before replying."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    entry = opinion(acting_user.department or "", acting_user.user_id, data.text, ctx.clock.stored())
    after = await _apply(ctx, doc, "give_opinion", acting_user, comment=data.text, expected_version=expected_version,
                         changes={"$push": {"assignment.opinions": entry}},
                         data={"co_department": acting_user.department})
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_reply_letter(ctx: Context, letter_id: str, data: ReplyIn, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    """The department's reply, which the centre reviews before the citizen sees it."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user)
    reply = {"text": data.text, "attachments": attachments, "by": acting_user.user_id,
             "department": acting_user.department, "at": ctx.clock.stored(), "approved_at": None}
    after = await _apply(ctx, doc, "reply", acting_user, expected_version=expected_version,
                         changes={"$set": {"reply": reply}})
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_request_extension(ctx: Context, letter_id: str, data: ExtensionIn, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    if (doc.get("extension") or {}).get("state") == "pending":
        raise ExtensionPending()
    extension = {"state": "pending", "days": data.days, "reason": data.reason, "by": acting_user.user_id,
                 "requested_at": ctx.clock.stored()}
    after = await _apply(ctx, doc, "request_extension", acting_user, comment=data.reason,
                         expected_version=expected_version, changes={"$set": {"extension": extension}},
                         history={"days": data.days}, data={"days": data.days})
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def do_release_content(ctx: Context, letter_id: str, data: ReleaseIn, *, acting_user: Principal,
                             expected_version: int | None) -> dict[str, Any]:
    """The centre has read a text the content check held and lets it through (a text it will not
    let through is answered by rejecting the letter, which keeps it from everyone)."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    now = ctx.clock.stored()
    released = {"state": "released", "released_by": acting_user.user_id, "released_at": now}
    if data.part == "letter":
        record = doc.get("moderation")
        changes = {"moderation": {**(record or {}), **released}}
    else:
        # The whole list is written again (under the compare-and-set): the store updates no element by index.
        field = "supplements" if data.part == "supplement" else "ratings"
        items = [dict(item) for item in doc.get(field, [])]
        index = data.index if data.index is not None else -1  # ReleaseIn requires it for these parts
        record = items[index].get("moderation") if 0 <= index < len(items) else None
        if record is not None:
            items[index] = {**items[index], "moderation": {**record, **released}}
        changes = {field: items}
    if not record or record.get("state") != "held":
        raise NothingHeld()
    after = await _apply(ctx, doc, "release", acting_user, expected_version=expected_version,
                         changes={"$set": changes}, history={"part": data.part, "index": data.index})
    return await queries.letter_for_staff(ctx, after, viewer=acting_user)


async def _openid(ctx: Context, citizen: Principal) -> str | None:
    """The writer's mini-program openid, which WeChat's content check is asked about."""
    user = await ctx.store.collection(USERS).find_one({"_id": citizen.user_id}, projection=["openid"])
    return (user or {}).get("openid")


# --- public disclosure ---------------------------------------------------------------------

async def do_publish_letter(ctx: Context, letter_id: str, data: DisclosureIn, *, acting_user: Principal,
                            expected_version: int | None) -> dict[str, Any]:
    """The centre publishes the letter and its reply as it edited the redactions (the
    auto-masked draft is what ``GET …/disclosure`` shows). Only this text is public or searchable."""
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    now = ctx.clock.stored()
    disclosure = {"state": "published", "title": data.title, "content": data.content, "reply": data.reply,
                  "published_at": now, "published_by": acting_user.user_id}
    after = await _apply(ctx, doc, "publish", acting_user, comment=data.comment, expected_version=expected_version,
                         changes={"$set": {"disclosure": disclosure}})
    await ctx.search.index(PUBLIC_INDEX, letter_id, f"{data.content} {data.reply}", fields={"title": data.title})
    return await queries.disclosure_for_staff(ctx, after)


async def do_unpublish_letter(ctx: Context, letter_id: str, data: ReasonIn, *, acting_user: Principal,
                              expected_version: int | None) -> dict[str, Any]:
    doc = await access_letter_for_staff(ctx.store, acting_user, letter_id)
    after = await _apply(ctx, doc, "unpublish", acting_user, comment=data.reason, expected_version=expected_version,
                         changes={"$set": {"disclosure.state": "withdrawn"}})
    await ctx.search.remove(PUBLIC_INDEX, letter_id)
    return await queries.disclosure_for_staff(ctx, after)


def _follower_notices(ctx: Context, doc: dict[str, Any], actor: Principal) -> list[Any]:
    """One event per merged duplicate, about the follower's own letter (its title, its number)."""
    notices = []
    for follower in doc.get("followers", []):
        notices.append(new_event(
            LetterEvent.MERGED_REPLIED, collection=LETTERS, subject_id=follower["letter_id"], actor=actor.user_id,
            recipients=[Recipient.user(follower["citizen_id"])], at=ctx.clock.stored(),
            data={"tracking_no": follower["tracking_no"], "title": follower["title"], "type": follower["type"]}))
    return notices
