"""Two case kinds: the notice (or meeting notice) and each person's receipt of it.

Notice::

    draft ──publish──▶ distributing ──distribute──▶ published ──close──▶ closed
      │  (edit)            (receipts are written        │  (remind)
      └──discard──▶ discarded between the two)           └──withdraw──▶ withdrawn

``publish`` records who receives it (the audience expanded to people at that moment);
the receipts are then written in one bulk insert; ``distribute`` completes the publication and
emits the one ``notice.published`` event that tells every department and person. A request
that dies between the two leaves the notice ``distributing``, held by the system: the notices'
job writes the missing receipts and distributes it. A published notice is held by the system
too: it closes by itself at its term (a meeting when it ends, a notice after ``NOTICE_TERM_DAYS``),
unless the issuing department closes or withdraws it first.

Receipt (one per person, written by ``create_cases``)::

    unread ──read──▶ read                                   (a notice)
    unread ──read──▶ opened ──reply──▶ attending | on_leave  (a meeting; reply from unread too,
                                                             changeable until the meeting starts)
    unread, opened ──lapse──▶ lapsed (the notice closed)   ──withdraw──▶ withdrawn

Receipt events are silent for push (the notice's events tell people, once each); they carry
the receipt's to-do (阅读通知 / 回复参会) to the person's list.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from backend.cases.engine import SYSTEM_ACTOR
from backend.cases.parties import Party, department_at, role, user_at, users_at
from backend.cases.workflow import Branch, Guard, GuardInput, Verdict, Workflow, creation, hold, member_of, transition
from backend.clock import CHINA, from_storage
from backend.office.notices.errors import MeetingStarted, NotIssuingDepartment, NotTheRecipient
from backend.office.notices.events import NoticeEvent as E
from backend.office.notices.events import ReceiptEvent as R
from backend.office.notices.schemas import KIND_LABELS, NoticeKind
from backend.office.permissions import CIVIL_SERVANTS
from backend.store.interface import Document

NOTICES = "office_notices"
RECEIPTS = "office_notice_receipts"
GROUPS = "office_groups"

NOTICE_TERM_DAYS = 30  # a notice (not a meeting) closes by itself this long after publishing
STUCK_DISTRIBUTION = timedelta(minutes=2)  # a notice still distributing after this is finished by the job
REMINDER_COOLDOWN = timedelta(minutes=30)  # between two reminders by hand (no repeated pressure on readers)

WITH_SYSTEM = CIVIL_SERVANTS | {SYSTEM_ACTOR}


class NoticeState(StrEnum):
    DRAFT = "draft"
    DISTRIBUTING = "distributing"
    PUBLISHED = "published"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    DISCARDED = "discarded"


class ReceiptState(StrEnum):
    UNREAD = "unread"
    READ = "read"
    OPENED = "opened"  # a meeting notice read, not yet answered
    ATTENDING = "attending"
    ON_LEAVE = "on_leave"
    LAPSED = "lapsed"  # the notice closed before this person read or answered it
    WITHDRAWN = "withdrawn"


S = NoticeState
RS = ReceiptState
NOTICE_STATE_LABELS = {S.DRAFT: "草稿", S.DISTRIBUTING: "分发中", S.PUBLISHED: "已发布", S.CLOSED: "已结束",
                       S.WITHDRAWN: "已撤回", S.DISCARDED: "已删除"}
RECEIPT_STATE_LABELS = {RS.UNREAD: "未读", RS.READ: "已读", RS.OPENED: "已读未回复", RS.ATTENDING: "参会",
                        RS.ON_LEAVE: "请假", RS.LAPSED: "逾期未读", RS.WITHDRAWN: "已撤回"}
OPEN_RECEIPTS = (RS.UNREAD.value, RS.OPENED.value)  # what still waits for the person
REPLIED = (RS.ATTENDING.value, RS.ON_LEAVE.value)

# --- who ----------------------------------------------------------------------------------

AUTHOR = user_at("author_id", "author")
ISSUER = department_at("department", "issuing department")
THE_SYSTEM = role(SYSTEM_ACTOR, "the notices' job")
# Everyone told of the notice: the audience's departments (push resolves their staff) and the
# people reached through groups or by name outside those departments.
AUDIENCE = department_at("audience.departments", "audience departments") | users_at("distribution.people")

IS_ISSUER = member_of(ISSUER, NotIssuingDepartment)
# The system first: ``a | b`` refuses with b's error, and a person should read the department's.
BY_SYSTEM_OR_ISSUER = member_of(THE_SYSTEM) | IS_ISSUER

READER = user_at("user_id", "reader")
NOTICE_READER = Party("reader of a notice", lambda doc: READER(doc) if doc["kind"] == NoticeKind.NOTICE else ())
INVITEE = Party("invitee of a meeting", lambda doc: READER(doc) if doc["kind"] == NoticeKind.MEETING else ())
IS_READER = member_of(READER, NotTheRecipient)
RECEIPT_ISSUER = department_at("issuer_department", "issuing department")
RECEIPT_BY_SYSTEM_OR_ISSUER = member_of(THE_SYSTEM) | member_of(RECEIPT_ISSUER, NotIssuingDepartment)


async def _before_start(given: GuardInput) -> Verdict:
    starts_at = given.doc.get("starts_at")
    return Verdict(starts_at is not None and given.now < from_storage(starts_at))


BEFORE_START = Guard("before the meeting starts", _before_start, MeetingStarted)

# --- labels in events -----------------------------------------------------------------------


def meeting_time_text(starts_at: str) -> str:
    """``11月22日 09:00`` (Beijing time), for messages."""
    moment = from_storage(starts_at).astimezone(CHINA)
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def _notice_data(doc: Document) -> dict[str, Any]:
    kind = NoticeKind(doc["kind"])
    data = {"notice_id": doc["_id"], "title": doc["title"], "kind": kind.value, "kind_label": KIND_LABELS[kind],
            "department": doc["department"], "department_name": doc.get("department_name") or doc["department"]}
    meeting = doc.get("meeting")
    if meeting:
        data.update(starts_at=meeting["starts_at"], starts_at_text=meeting_time_text(meeting["starts_at"]),
                    place=meeting["place"], summary=f"会议时间：{meeting_time_text(meeting['starts_at'])}，"
                                                    f"地点：{meeting['place']}，请及时回复是否参会。")
    else:
        data["summary"] = "请及时阅读。"
    return data


def _receipt_data(doc: Document) -> dict[str, Any]:
    kind = NoticeKind(doc["kind"])
    return {"notice_id": doc["notice_id"], "title": doc["title"], "kind": kind.value,
            "kind_label": KIND_LABELS[kind]}


NOTICE_WORKFLOW = Workflow(
    name="notice", module="office", collection=NOTICES, states=NoticeState,
    title=lambda doc: doc["title"], event_data=_notice_data,
    terminal=frozenset({S.CLOSED, S.WITHDRAWN, S.DISCARDED}),
    holders={
        S.DRAFT: (hold(AUTHOR, "发布通知"),),
        S.DISTRIBUTING: (hold(THE_SYSTEM, "完成通知分发"),),
        S.PUBLISHED: (hold(THE_SYSTEM, "到期结束通知"),),
    },
    create=creation("draft", S.DRAFT, roles=CIVIL_SERVANTS, event=E.DRAFTED),
    transitions=[
        transition("edit", S.DRAFT, roles=CIVIL_SERVANTS, guard=IS_ISSUER, event=E.EDITED),
        transition("discard", S.DRAFT, S.DISCARDED, roles=CIVIL_SERVANTS, guard=IS_ISSUER, event=E.DISCARDED),
        transition("publish", S.DRAFT, S.DISTRIBUTING, roles=CIVIL_SERVANTS, guard=IS_ISSUER,
                   event=E.DISTRIBUTION_STARTED),
        transition("distribute", S.DISTRIBUTING, S.PUBLISHED, roles=WITH_SYSTEM, guard=BY_SYSTEM_OR_ISSUER,
                   event=E.PUBLISHED, notify=AUDIENCE),
        # Told to exactly those who have not read (the use case names them).
        transition("remind", S.PUBLISHED, roles=WITH_SYSTEM, guard=BY_SYSTEM_OR_ISSUER, event=E.REMINDED,
                   keeps_version=True),
        transition("withdraw", S.PUBLISHED, S.WITHDRAWN, roles=CIVIL_SERVANTS, guard=IS_ISSUER, event=E.WITHDRAWN,
                   notify=AUDIENCE),
        transition("close", S.PUBLISHED, S.CLOSED, roles=WITH_SYSTEM, guard=BY_SYSTEM_OR_ISSUER, event=E.CLOSED),
    ],
)

RECEIPT_WORKFLOW = Workflow(
    name="notice_receipt", module="office", collection=RECEIPTS, states=ReceiptState,
    title=lambda doc: doc["title"], event_data=_receipt_data,
    terminal=frozenset({RS.READ, RS.ATTENDING, RS.ON_LEAVE, RS.LAPSED, RS.WITHDRAWN}),
    holders={
        RS.UNREAD: (hold(NOTICE_READER, "阅读通知", "read"), hold(INVITEE, "回复参会", "reply")),
        RS.OPENED: (hold(INVITEE, "回复参会", "reply"),),
    },
    create=creation("distribute", RS.UNREAD, roles=WITH_SYSTEM, event=R.CREATED),
    transitions=[
        transition("read", RS.UNREAD, roles=CIVIL_SERVANTS, guard=IS_READER, event=R.READ, branches={
            NoticeKind.NOTICE.value: Branch(RS.READ), NoticeKind.MEETING.value: Branch(RS.OPENED)}),
        # A reply may change (参会 → 请假 …) until the meeting starts.
        transition("reply", {RS.UNREAD, RS.OPENED, RS.ATTENDING, RS.ON_LEAVE}, roles=CIVIL_SERVANTS,
                   guard=IS_READER & BEFORE_START, event=R.REPLIED, branches={
                       "attend": Branch(RS.ATTENDING), "leave": Branch(RS.ON_LEAVE)}),
        transition("lapse", OPEN_RECEIPTS, RS.LAPSED, roles=WITH_SYSTEM, guard=RECEIPT_BY_SYSTEM_OR_ISSUER,
                   event=R.LAPSED),
        transition("withdraw", OPEN_RECEIPTS, RS.WITHDRAWN, roles=CIVIL_SERVANTS,
                   guard=RECEIPT_BY_SYSTEM_OR_ISSUER, event=R.WITHDRAWN),
    ],
)


def receipt_id(notice_id: str, user_id: str) -> str:
    """One receipt per person and notice, so writing them again (a retried distribution) finds
    the ones already there. The to-do's subject is the receipt: its notice id comes first."""
    return f"{notice_id}-{user_id}"
