"""Every write to notices, receipts and groups.

Notices and receipts change only through their workflows (``workflow.py``), applied by the case
kernel, which writes state, history, holder and event in one compare-and-set. Publishing is the
one long step: the audience is expanded to people and recorded (``publish``), one receipt per
person is written in a single bulk insert (``create_cases``), and ``distribute`` completes it
with the one event that tells everyone. Each receipt's own event is silent for push and only
carries its to-do; so 2,000 readers cost push one event, not 2,000.

The notices' job (``run_notice_jobs``) acts as the kernel's ``SYSTEM``: it finishes a
distribution a dead request left half done, sends the automatic reminder once, N hours after
publishing, and closes notices at their term.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from backend.attachments.use_cases import resolve_attachments
from backend.auth.tokens import Principal
from backend.cases.engine import SYSTEM, apply, create_case, create_cases
from backend.clock import from_storage, to_api, to_storage
from backend.context import Context
from backend.errors import DuplicateKey, InvalidTransition, ValidationFailed, VersionConflict
from backend.events import Recipient, new_event
from backend.identity.queries import find_active_staff, user_names
from backend.office.notices import queries
from backend.office.notices.errors import (
    InvalidMembers,
    InvalidSubstitute,
    MeetingInPast,
    NoDepartment,
    NoRecipients,
    NotAMeeting,
    NotARecipient,
    NothingToRemind,
    NoticeNotOpen,
    OfficeGroupNameTaken,
    RemindedRecently,
)
from backend.office.notices.events import NoticeEvent
from backend.office.notices.queries import (
    Person,
    access_notice_for_issuer,
    access_notice_for_staff,
    access_office_group,
    check_audience,
)
from backend.office.notices.schemas import (
    ATTENDANCE_LABELS,
    MeetingReplyIn,
    NoticeIn,
    NoticeKind,
    NoticeReminderIn,
    NoticeWithdrawIn,
    OfficeGroupIn,
    OfficeGroupUpdateIn,
)
from backend.office.notices.workflow import (
    GROUPS,
    NOTICE_TERM_DAYS,
    NOTICE_WORKFLOW,
    NOTICES,
    OPEN_RECEIPTS,
    RECEIPT_WORKFLOW,
    RECEIPTS,
    REMINDER_COOLDOWN,
    STUCK_DISTRIBUTION,
    NoticeState,
    ReceiptState,
    meeting_time_text,
    receipt_id,
)
from backend.store.interface import Document

log = logging.getLogger(__name__)

_BATCH = 500  # receipts read at a time when closing or withdrawing a notice
_JOB_BATCH = 50  # notices a job run takes on


# --- drafts ---------------------------------------------------------------------------------

async def _draft_fields(ctx: Context, data: NoticeIn, actor: Principal) -> dict[str, Any]:
    department = actor.department
    if department is None:  # every office role belongs to a department; a token without one issues nothing
        raise NoDepartment()
    audience = data.audience.model_dump()
    await check_audience(ctx.store, audience, department=department)
    attachments = await resolve_attachments(ctx, data.attachments, owner=actor)
    meeting = None
    if data.kind is NoticeKind.MEETING:
        assert data.starts_at is not None and data.ends_at is not None  # the model checked it
        if data.starts_at <= ctx.clock.now():
            raise ValidationFailed(details={"fields": [{"field": "starts_at", "message": "会议开始时间应晚于当前时间"}]})
        meeting = {"starts_at": to_storage(data.starts_at), "ends_at": to_storage(data.ends_at), "place": data.place}
    return {"kind": data.kind.value, "title": data.title, "body": data.body, "attachments": attachments,
            "audience": audience, "meeting": meeting, "remind_after_hours": data.remind_after_hours}


async def do_create_notice(ctx: Context, data: NoticeIn, *, acting_user: Principal, notice_id: str) -> dict[str, Any]:
    """A draft of the author's department. ``notice_id`` is reserved by the Idempotency-Key: a
    retry finds the draft already stored and returns it."""
    fields = await _draft_fields(ctx, data, acting_user)
    author = (await user_names(ctx.store, [acting_user.user_id])).get(acting_user.user_id)
    department = acting_user.department or ""
    fields.update(department=department, department_name=await ctx.department_names.get(department),
                  author_id=acting_user.user_id, author_name=author, recipient_count=0)
    try:
        doc = await create_case(ctx, NOTICE_WORKFLOW, fields, actor=acting_user, case_id=notice_id)
    except DuplicateKey:
        stored = await ctx.store.collection(NOTICES).find_one({"_id": notice_id})
        if stored is None or stored["author_id"] != acting_user.user_id:
            raise
        doc = stored
    return await queries.notice_out(ctx, doc, viewer=acting_user, receipt=None)


async def do_update_notice(ctx: Context, notice_id: str, data: NoticeIn, *, acting_user: Principal,
                           expected_version: int | None) -> dict[str, Any]:
    """Replace a draft's content and audience."""
    doc = await access_notice_for_issuer(ctx.store, acting_user, notice_id)
    _allowed(doc, "edit")
    fields = await _draft_fields(ctx, data, acting_user)
    if all(doc.get(name) == value for name, value in fields.items()):
        return await queries.notice_out(ctx, doc, viewer=acting_user, receipt=None)
    after = await apply(ctx, NOTICE_WORKFLOW, doc, "edit", actor=acting_user, changes={"$set": fields},
                        expected_version=expected_version)
    return await queries.notice_out(ctx, after, viewer=acting_user, receipt=None)


async def do_discard_notice(ctx: Context, notice_id: str, *, acting_user: Principal,
                            expected_version: int | None) -> dict[str, Any]:
    doc = await access_notice_for_issuer(ctx.store, acting_user, notice_id)
    after = await apply(ctx, NOTICE_WORKFLOW, doc, "discard", actor=acting_user, expected_version=expected_version)
    return await queries.notice_out(ctx, after, viewer=acting_user, receipt=None)


def _allowed(doc: Document, action: str) -> None:
    """Refuse an action the state does not allow before doing its (costly) work."""
    if NOTICE_WORKFLOW.find(doc["state"], action) is None:
        raise InvalidTransition(details={"state": doc["state"], "action": action})


# --- publishing -----------------------------------------------------------------------------

async def do_publish_notice(ctx: Context, notice_id: str, *, acting_user: Principal,
                            expected_version: int | None) -> dict[str, Any]:
    """Expand the audience to people now, write one receipt each (one bulk write) and tell them
    all with one event. Publishing a notice still ``distributing`` (its first attempt died
    half-way) finishes that distribution instead."""
    doc = await access_notice_for_issuer(ctx.store, acting_user, notice_id)
    if doc["state"] == NoticeState.DISTRIBUTING:
        return await queries.notice_out(ctx, await _distribute(ctx, doc, acting_user), viewer=acting_user,
                                        receipt=None)
    _allowed(doc, "publish")
    now = ctx.clock.now()
    meeting = doc.get("meeting")
    if meeting and from_storage(meeting["starts_at"]) <= now:
        raise MeetingInPast()
    people = await queries.expand_audience(ctx.store, doc["audience"], department=doc["department"],
                                           exclude=doc["author_id"])
    if not people:
        raise NoRecipients()
    told_departments = set(doc["audience"]["departments"])
    hours = doc.get("remind_after_hours")
    closes_at = from_storage(meeting["ends_at"]) if meeting else now + timedelta(days=NOTICE_TERM_DAYS)
    changes = {"$set": {
        "published_at": to_storage(now), "published_by": acting_user.user_id,
        "recipient_ids": [person.user_id for person in people], "recipient_count": len(people),
        # Those the event names one by one: the staff of the audience's departments are told as departments.
        "distribution": {"people": [p.user_id for p in people if p.department not in told_departments]},
        "auto_remind_at": _auto_remind_at(now, hours, meeting), "auto_reminded_at": None,
        "closes_at": to_storage(closes_at), "reminders": [],
    }}
    doc = await apply(ctx, NOTICE_WORKFLOW, doc, "publish", actor=acting_user, changes=changes,
                      expected_version=expected_version, data={"recipient_count": len(people)}, now=now)
    after = await _distribute(ctx, doc, acting_user, people)
    return await queries.notice_out(ctx, after, viewer=acting_user, receipt=None)


def _auto_remind_at(now: datetime, hours: int | None, meeting: dict[str, Any] | None) -> str | None:
    """``hours`` after publishing; for a meeting no later than an hour before it starts (a reminder
    after the start would be no use), and none if that hour has passed already."""
    if not hours:
        return None
    at = now + timedelta(hours=hours)
    if meeting:
        at = min(at, from_storage(meeting["starts_at"]) - timedelta(hours=1))
        if at <= now:
            return None
    return to_storage(at)


async def _distribute(ctx: Context, doc: Document, actor: Principal, people: list[Person] | None = None) -> Document:
    """Write the receipts a ``distributing`` notice still lacks, then publish it."""
    if people is None:
        people = await queries.people_by_ids(ctx.store, doc["recipient_ids"])
    meeting = doc.get("meeting") or {}
    cases = [(receipt_id(doc["_id"], person.user_id), {
        "notice_id": doc["_id"], "kind": doc["kind"], "title": doc["title"], "issuer_department": doc["department"],
        "user_id": person.user_id, "name": person.name, "department": person.department,
        "starts_at": meeting.get("starts_at"), "read": False, "read_at": None, "reply": None,
    }) for person in people]
    try:
        await create_cases(ctx, RECEIPT_WORKFLOW, cases, actor=actor)
    except DuplicateKey:  # a retry: some receipts were written by the first attempt
        written = {r["_id"] for r in await ctx.store.collection(RECEIPTS).find(
            {"notice_id": doc["_id"]}, projection=["_id"])}
        await create_cases(ctx, RECEIPT_WORKFLOW, [case for case in cases if case[0] not in written], actor=actor)
    return await apply(ctx, NOTICE_WORKFLOW, doc, "distribute", actor=actor,
                       data={"recipient_count": doc["recipient_count"]})


# --- reminders, withdrawal, closing ------------------------------------------------------------

async def _unread_people(ctx: Context, notice_id: str) -> list[str]:
    """Those a reminder is for: who has not read a notice, or not answered a meeting notice."""
    receipts = await ctx.store.collection(RECEIPTS).find(
        {"notice_id": notice_id, "state": {"$in": list(OPEN_RECEIPTS)}}, projection=["user_id"])
    return sorted(r["user_id"] for r in receipts)


async def _remind(ctx: Context, doc: Document, actor: Principal, people: list[str], *, automatic: bool,
                  comment: str | None = None) -> Document:
    stored = ctx.clock.stored()
    reminder = {"at": stored, "by": actor.user_id, "count": len(people), "automatic": automatic}
    changes: dict[str, Any] = {"$push": {"reminders": reminder}}
    if automatic:
        changes["$set"] = {"auto_reminded_at": stored}
    return await apply(ctx, NOTICE_WORKFLOW, doc, "remind", actor=actor, comment=comment, changes=changes,
                       recipients=[Recipient.user(user_id) for user_id in people],
                       history={"reminded": len(people), "automatic": automatic},
                       data={"unread_count": len(people), "automatic": automatic, "comment": comment or ""})


async def do_remind_notice(ctx: Context, notice_id: str, data: NoticeReminderIn, *, acting_user: Principal,
                           ) -> dict[str, Any]:
    """催办: one event naming exactly those who have not read yet (a meeting: not answered yet)."""
    doc = await access_notice_for_issuer(ctx.store, acting_user, notice_id)
    _allowed(doc, "remind")
    manual = [r for r in doc.get("reminders", []) if not r.get("automatic")]
    now = ctx.clock.now()
    if manual and from_storage(manual[-1]["at"]) + REMINDER_COOLDOWN > now:
        raise RemindedRecently(details={"last_at": to_api(manual[-1]["at"])})
    people = await _unread_people(ctx, notice_id)
    if not people:
        raise NothingToRemind()
    after = await _remind(ctx, doc, acting_user, people, automatic=False, comment=data.comment)
    return {"notice_id": notice_id, "reminded": len(people), "at": to_api(after["updated_at"]),
            "version": after["version"]}


async def do_withdraw_notice(ctx: Context, notice_id: str, data: NoticeWithdrawIn, *, acting_user: Principal,
                             expected_version: int | None) -> dict[str, Any]:
    """撤回: everyone told is told again; the open receipts leave their to-do lists."""
    doc = await access_notice_for_issuer(ctx.store, acting_user, notice_id)
    withdrawn = {"reason": data.reason, "at": ctx.clock.stored(), "by": acting_user.user_id}
    after = await apply(ctx, NOTICE_WORKFLOW, doc, "withdraw", actor=acting_user, comment=data.reason,
                        expected_version=expected_version, changes={"$set": {"withdrawn": withdrawn}},
                        data={"reason": data.reason})
    await _end_receipts(ctx, notice_id, "withdraw", acting_user)
    return await queries.notice_out(ctx, after, viewer=acting_user, receipt=None)


async def do_close_notice(ctx: Context, notice_id: str, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    doc = await access_notice_for_issuer(ctx.store, acting_user, notice_id)
    after = await _close(ctx, doc, acting_user, expected_version=expected_version)
    return await queries.notice_out(ctx, after, viewer=acting_user, receipt=None)


async def _close(ctx: Context, doc: Document, actor: Principal, *, expected_version: int | None = None) -> Document:
    after = await apply(ctx, NOTICE_WORKFLOW, doc, "close", actor=actor, expected_version=expected_version,
                        changes={"$set": {"closed_at": ctx.clock.stored()}})
    await _end_receipts(ctx, doc["_id"], "lapse", actor)
    return after


async def _end_receipts(ctx: Context, notice_id: str, action: str, actor: Principal) -> int:
    """Take every receipt still waiting for its person out of their to-do list: one transition
    each, as each carries its to-do's removal. Each receipt is tried once (again once if its
    person acted at that very moment); one read meanwhile stays read."""
    receipts = ctx.store.collection(RECEIPTS)
    ended, after = 0, ""
    while True:
        batch = await receipts.find({"notice_id": notice_id, "state": {"$in": list(OPEN_RECEIPTS)},
                                     "_id": {"$gt": after}}, sort=[("_id", 1)], limit=_BATCH)
        if not batch:
            return ended
        after = batch[-1]["_id"]
        for receipt in batch:
            for _attempt in range(2):
                try:
                    await apply(ctx, RECEIPT_WORKFLOW, receipt, action, actor=actor)
                    ended += 1
                    break
                except (VersionConflict, InvalidTransition):
                    fresh = await receipts.find_one({"_id": receipt["_id"]})
                    if fresh is None or fresh["state"] not in OPEN_RECEIPTS:
                        break
                    receipt = fresh


# --- the recipient --------------------------------------------------------------------------

async def do_read_notice(ctx: Context, notice_id: str, *, acting_user: Principal) -> dict[str, Any]:
    """The recipient read it. Idempotent: only the first read is recorded (and the to-do
    ``阅读通知`` goes; a meeting's ``回复参会`` stays until answered)."""
    doc, receipt = await access_notice_for_staff(ctx.store, acting_user, notice_id)
    if receipt is None:
        raise NotARecipient()
    if receipt["state"] == ReceiptState.UNREAD and doc["state"] == NoticeState.PUBLISHED:
        try:
            receipt = await apply(ctx, RECEIPT_WORKFLOW, receipt, "read", actor=acting_user, outcome=receipt["kind"],
                                  changes={"$set": {"read": True, "read_at": ctx.clock.stored()}})
        except VersionConflict:  # read at the same moment from another device, or ended by its notice
            receipt = await ctx.store.collection(RECEIPTS).find_one({"_id": receipt["_id"]}) or receipt
    return await queries.notice_out(ctx, doc, viewer=acting_user, receipt=receipt)


async def do_reply_meeting(ctx: Context, notice_id: str, data: MeetingReplyIn, *,
                           acting_user: Principal) -> dict[str, Any]:
    """参会 or 请假 (with a reason, and the colleague or the name of who goes instead), changeable
    until the meeting starts. A colleague named as substitute is told."""
    doc, receipt = await access_notice_for_staff(ctx.store, acting_user, notice_id)
    if doc["kind"] != NoticeKind.MEETING:
        raise NotAMeeting()
    if receipt is None:
        raise NotARecipient()
    if doc["state"] != NoticeState.PUBLISHED:
        raise NoticeNotOpen()
    substitute = None
    if data.substitute is not None:
        substitute = await _substitute(ctx, data.substitute.user_id, data.substitute.name, acting_user)
    previous = receipt.get("reply") or {}
    if (receipt["state"] in (ReceiptState.ATTENDING, ReceiptState.ON_LEAVE)
            and (previous.get("attendance"), previous.get("substitute"), previous.get("reason"))
            == (data.attendance.value, substitute, data.reason)):
        return await queries.notice_out(ctx, doc, viewer=acting_user, receipt=receipt)  # nothing changed
    now = ctx.clock.stored()
    reply = {"attendance": data.attendance.value, "substitute": substitute, "reason": data.reason, "at": now}
    events = []
    newly_named = (substitute or {}).get("user_id")
    if newly_named and newly_named != (previous.get("substitute") or {}).get("user_id"):
        meeting = doc["meeting"]
        events.append(new_event(
            NoticeEvent.SUBSTITUTE_NAMED, collection=RECEIPTS, subject_id=receipt["_id"], actor=acting_user.user_id,
            recipients=[Recipient.user(newly_named)], at=now,
            data={"notice_id": doc["_id"], "title": doc["title"], "kind": doc["kind"],
                  "requester_name": receipt.get("name") or "", "starts_at": meeting["starts_at"],
                  "starts_at_text": meeting_time_text(meeting["starts_at"]), "place": meeting["place"],
                  "department_name": doc.get("department_name") or doc["department"]}))
    changes = {"$set": {"reply": reply, "read": True, "read_at": receipt.get("read_at") or now}}
    receipt = await apply(ctx, RECEIPT_WORKFLOW, receipt, "reply", actor=acting_user, outcome=data.attendance.value,
                          comment=data.reason, changes=changes, events=events,
                          history={"attendance": data.attendance.value, "substitute": substitute},
                          data={"attendance": data.attendance.value,
                                "attendance_label": ATTENDANCE_LABELS[data.attendance]})
    return await queries.notice_out(ctx, doc, viewer=acting_user, receipt=receipt)


async def _substitute(ctx: Context, user_id: str | None, name: str | None, actor: Principal) -> dict[str, Any]:
    if user_id is None:
        return {"user_id": None, "name": name}
    found = (await find_active_staff(ctx.store, [user_id])).get(user_id)
    if found is None or user_id == actor.user_id or found["department"] != actor.department:
        raise InvalidSubstitute(details={"fields": [{"field": "substitute.user_id", "message": "须为本单位在职同事"}]})
    return {"user_id": user_id, "name": found["name"]}


# --- groups ---------------------------------------------------------------------------------

async def _members(ctx: Context, members: list[str]) -> list[str]:
    found = await find_active_staff(ctx.store, members)
    missing = [user_id for user_id in members if user_id not in found]
    if missing:
        raise InvalidMembers(details={"fields": [
            {"field": "members", "message": f"人员 {user_id} 不存在或已停用"} for user_id in missing]})
    return members


async def do_create_office_group(ctx: Context, data: OfficeGroupIn, *, acting_user: Principal,
                                 group_id: str) -> dict[str, Any]:
    """A named group of people of the actor's department's choosing (e.g. 应急联络员), to address
    notices to."""
    if acting_user.department is None:
        raise NoDepartment()
    now = ctx.clock.stored()
    doc = {"_id": group_id, "name": data.name, "department": acting_user.department,
           "members": await _members(ctx, data.members), "version": 1, "created_at": now, "updated_at": now,
           "created_by": acting_user.user_id}
    groups = ctx.store.collection(GROUPS)
    try:
        await groups.insert_one(doc)
    except DuplicateKey:
        stored = await groups.find_one({"_id": group_id})
        if stored is None or stored["department"] != acting_user.department:  # the name is taken
            raise OfficeGroupNameTaken(details={"name": data.name}) from None
        doc = stored  # a retry of this very request
    return await queries.office_group_out(ctx, doc)


async def do_update_office_group(ctx: Context, group_id: str, data: OfficeGroupUpdateIn, *, acting_user: Principal,
                                 expected_version: int | None) -> dict[str, Any]:
    doc = await access_office_group(ctx.store, acting_user, group_id)
    if expected_version is not None and expected_version != doc["version"]:
        raise VersionConflict(details={"current_version": doc["version"]})
    change: dict[str, Any] = {}
    if data.name is not None and data.name != doc["name"]:
        change["name"] = data.name
    if data.members is not None and data.members != doc["members"]:
        change["members"] = await _members(ctx, data.members)
    if not change:
        return await queries.office_group_out(ctx, doc)
    change.update(updated_at=ctx.clock.stored(), updated_by=acting_user.user_id)
    try:
        after = await ctx.store.collection(GROUPS).find_one_and_update(
            {"_id": group_id, "version": doc["version"]}, {"$set": change, "$inc": {"version": 1}})
    except DuplicateKey:
        raise OfficeGroupNameTaken(details={"name": data.name}) from None
    if after is None:
        raise VersionConflict()
    return await queries.office_group_out(ctx, after)


# --- the job --------------------------------------------------------------------------------

async def run_notice_jobs(ctx: Context) -> dict[str, int]:
    """One run of the notices' periodic job, as ``SYSTEM``: finish stuck distributions, send the
    automatic reminders that are due, close notices at their term. Safe to run in several
    processes at once: every write is a compare-and-set, and a lost race is skipped."""
    now = ctx.clock.now()
    return {"distributed": await _finish_distributions(ctx, now), "reminded": await _send_due_reminders(ctx, now),
            "closed": await _close_due_notices(ctx, now)}


async def _due(ctx: Context, filter_: dict[str, Any]) -> list[Document]:
    return await ctx.store.collection(NOTICES).find(filter_, sort=[("_id", 1)], limit=_JOB_BATCH)


async def _finish_distributions(ctx: Context, now: datetime) -> int:
    done = 0
    for doc in await _due(ctx, {"state": NoticeState.DISTRIBUTING.value,
                                "updated_at": {"$lte": to_storage(now - STUCK_DISTRIBUTION)}}):
        done += await _skipping_races(_distribute(ctx, doc, SYSTEM), doc)
    return done


async def _send_due_reminders(ctx: Context, now: datetime) -> int:
    done = 0
    for doc in await _due(ctx, {"state": NoticeState.PUBLISHED.value, "auto_remind_at": {"$lte": to_storage(now)},
                                "auto_reminded_at": None}):
        # Told to nobody if everyone has read by now: the reminder is still recorded, once.
        people = await _unread_people(ctx, doc["_id"])
        done += await _skipping_races(_remind(ctx, doc, SYSTEM, people, automatic=True), doc)
    return done


async def _close_due_notices(ctx: Context, now: datetime) -> int:
    done = 0
    for doc in await _due(ctx, {"state": NoticeState.PUBLISHED.value, "closes_at": {"$lte": to_storage(now)}}):
        done += await _skipping_races(_close(ctx, doc, SYSTEM), doc)
    return done


async def _skipping_races(step: Any, doc: Document) -> int:
    try:
        await step
        return 1
    except (VersionConflict, InvalidTransition):  # someone changed the notice meanwhile: the next run looks again
        log.info("notices job: %s changed meanwhile; skipped", doc["_id"])
        return 0

