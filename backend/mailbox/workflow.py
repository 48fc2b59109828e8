"""The letter's workflow: states, who holds a letter in each, and the transition table.

    submitted ──dispatch──▶ dispatched ──accept──▶ handling ──reply──▶ reply_review ──approve──▶ replied
        │  ▲                    │                    │  ▲                  │                       │
        │  └──dispatch── returned ◀──return──────────┘  └──send_back───────┘        rate (satisfied, or 2nd)
        ├──answer──▶ replied                  request_info ▼ ▲ supply_info                        ▼
        ├──reject──▶ rejected                        awaiting_info                              closed
        └──merge───▶ merged                                     rate (dissatisfied, 1st) ──▶ handling (二次办理)
                                                                 (answered by the centre itself: ──▶ submitted)

Two clocks: the centre's to dispatch (``letter.dispatch``, N working days from receipt or
return), then the lead department's to handle (``letter.handling``, working days by letter type,
paused while the citizen is asked for information, stopped when the reply is approved).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from backend.auth.permissions import Role
from backend.cases.assignment import CO_UNITS, LEAD_UNIT, OPINIONS_IN, PENDING_CO_UNITS
from backend.cases.deadline import EXTEND, PAUSE, RESTART, RESUME, STOP, DeadlinePolicy, start
from backend.cases.parties import department_at, role, user_at
from backend.cases.workflow import (
    STAY,
    Branch,
    Guard,
    GuardInput,
    Verdict,
    Workflow,
    creation,
    hold,
    member_of,
    transition,
)
from backend.config import Settings
from backend.mailbox.errors import ContentHeld, LetterNotPublic, NotCoDepartment, NotLeadDepartment, NotTheWriter
from backend.mailbox.events import LetterEvent as E
from backend.mailbox.schemas import LETTER_TYPE_LABELS, LetterType
from backend.personal_data import SealedField
from backend.store.interface import Document

LETTERS = "letters"
# The writer's contact number: sealed at rest, shown to the writer and the staff handling the letter.
CONTACT_PHONE = SealedField(LETTERS, "contact_phone", kind="phone")


class LetterState(StrEnum):
    SUBMITTED = "submitted"
    DISPATCHED = "dispatched"
    HANDLING = "handling"
    AWAITING_INFO = "awaiting_info"
    REPLY_REVIEW = "reply_review"
    RETURNED = "returned"
    REPLIED = "replied"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"


S = LetterState
CENTER = {Role.MAILBOX_CENTER}
DEPARTMENT = {Role.STAFF, Role.DEPARTMENT_ADMIN}
CITIZEN = {Role.CITIZEN}

PUBLIC_STATES = frozenset({S.REPLIED, S.CLOSED})
# Letters a department may still take in as duplicates (并单): never a finished one.
ABSORBING_STATES = frozenset({S.SUBMITTED, S.RETURNED, S.DISPATCHED, S.HANDLING, S.AWAITING_INFO, S.REPLY_REVIEW,
                              S.REPLIED})

# --- who ----------------------------------------------------------------------------------

WRITER = user_at("citizen_id", "writer")
THE_CENTER = role(Role.MAILBOX_CENTER, "mailbox centre")
LEAD = LEAD_UNIT
LEAD_AND_CO = LEAD_UNIT | CO_UNITS
HANDLING_PARTIES = department_at("assignment.lead") | CO_UNITS

IS_LEAD = member_of(LEAD_UNIT, NotLeadDepartment)
IS_CO = member_of(CO_UNITS, NotCoDepartment)
IS_WRITER = member_of(WRITER, NotTheWriter)


async def _consented(given: GuardInput) -> Verdict:
    return Verdict(bool(given.doc.get("public")))


PUBLIC_CONSENT = Guard("writer agreed to publication", _consented, LetterNotPublic)


async def _not_held(given: GuardInput) -> Verdict:
    return Verdict((given.doc.get("moderation") or {}).get("state") != "held")


# A letter held by the content check goes nowhere until the centre has read and released it.
NOT_HELD = Guard("content released", _not_held, ContentHeld)

# --- clocks -------------------------------------------------------------------------------


def _handling_days(settings: Settings, doc: Document) -> int:
    return settings.letter_deadline_days(doc["type"])


def _center_unit(settings: Settings, doc: Document) -> str | None:
    return settings.mailbox_center_department or None


def _lead_unit(settings: Settings, doc: Document) -> str | None:
    return (doc.get("assignment") or {}).get("lead")


DISPATCH_CLOCK = DeadlinePolicy("letter.dispatch", "分办时限", lambda settings, doc: settings.letter_dispatch_days,
                                unit=_center_unit, yellow_within=0, red_within=0)
HANDLING_CLOCK = DeadlinePolicy("letter.handling", "办理时限", _handling_days, unit=_lead_unit, yellow_within=2)


def _event_data(doc: Document) -> dict[str, Any]:
    return {"tracking_no": doc["tracking_no"], "title": doc["title"], "type": doc["type"],
            "type_label": LETTER_TYPE_LABELS[LetterType(doc["type"])]}


LETTER_WORKFLOW = Workflow(
    name="letter", module="mailbox", collection=LETTERS, states=LetterState,
    title=lambda doc: doc["title"], event_data=_event_data,
    policies=(DISPATCH_CLOCK, HANDLING_CLOCK),
    warning=E.OVERDUE_WARNING, warning_notify=HANDLING_PARTIES | THE_CENTER,
    terminal=frozenset({S.CLOSED, S.REJECTED, S.MERGED}),
    holders={
        S.SUBMITTED: (hold(THE_CENTER, "分办信件", "dispatch"),),
        S.RETURNED: (hold(THE_CENTER, "重新分办退回的信件", "dispatch"),),
        S.DISPATCHED: (hold(LEAD, "受理交办信件", "sign_for"),),
        S.HANDLING: (hold(LEAD, "办理信件"), hold(PENDING_CO_UNITS, "提交协办意见", "opinion")),
        S.AWAITING_INFO: (hold(WRITER, "补充材料", "supply"),),
        S.REPLY_REVIEW: (hold(THE_CENTER, "审核答复", "review"),),
        S.REPLIED: (hold(WRITER, "评价答复", "rate"),),
    },
    create=creation("submit", S.SUBMITTED, roles=CITIZEN, event=E.SUBMITTED, notify=THE_CENTER,
                    deadline=start(DISPATCH_CLOCK.name)),
    transitions=[
        # the mailbox centre
        transition("dispatch", {S.SUBMITTED, S.RETURNED}, S.DISPATCHED, roles=CENTER, guard=NOT_HELD,
                   deadline=start(HANDLING_CLOCK.name), event=E.DISPATCHED, notify=LEAD_AND_CO | WRITER),
        transition("answer", {S.SUBMITTED, S.RETURNED}, S.REPLIED, roles=CENTER, guard=NOT_HELD, deadline=STOP,
                   event=E.REPLIED, notify=WRITER),
        transition("release", set(LetterState), STAY, roles=CENTER, event=E.CONTENT_RELEASED),
        transition("reject", {S.SUBMITTED, S.RETURNED}, S.REJECTED, roles=CENTER, deadline=STOP,
                   event=E.REJECTED, notify=WRITER),
        transition("merge", {S.SUBMITTED, S.RETURNED}, S.MERGED, roles=CENTER, deadline=STOP,
                   event=E.MERGED, notify=WRITER),
        transition("absorb", ABSORBING_STATES, STAY, roles=CENTER, event=E.DUPLICATE_ABSORBED),
        transition("approve", S.REPLY_REVIEW, S.REPLIED, roles=CENTER, deadline=STOP,
                   event=E.REPLIED, notify=WRITER | LEAD),
        transition("send_back", S.REPLY_REVIEW, S.HANDLING, roles=CENTER, event=E.REPLY_SENT_BACK, notify=LEAD),
        transition("decide_extension", {S.HANDLING, S.AWAITING_INFO, S.REPLY_REVIEW}, roles=CENTER,
                   event=E.EXTENSION_DECIDED, notify=LEAD,
                   branches={"approved": Branch(deadline=EXTEND), "refused": Branch()}),
        transition("publish", PUBLIC_STATES, STAY, roles=CENTER, guard=PUBLIC_CONSENT, event=E.PUBLISHED,
                   notify=WRITER),
        transition("unpublish", PUBLIC_STATES, STAY, roles=CENTER, event=E.UNPUBLISHED),
        # the lead department and co-departments
        transition("accept", S.DISPATCHED, S.HANDLING, roles=DEPARTMENT, guard=IS_LEAD, event=E.ACCEPTED,
                   notify=WRITER),
        transition("return", {S.DISPATCHED, S.HANDLING}, S.RETURNED, roles=DEPARTMENT, guard=IS_LEAD,
                   deadline=start(DISPATCH_CLOCK.name), event=E.RETURNED, notify=THE_CENTER),
        transition("request_info", S.HANDLING, S.AWAITING_INFO, roles=DEPARTMENT, guard=IS_LEAD, deadline=PAUSE,
                   event=E.INFO_REQUESTED, notify=WRITER),
        transition("give_opinion", {S.DISPATCHED, S.HANDLING, S.AWAITING_INFO}, STAY, roles=DEPARTMENT,
                   guard=IS_CO, event=E.CO_OPINION_GIVEN, notify=LEAD),
        transition("reply", S.HANDLING, S.REPLY_REVIEW, roles=DEPARTMENT, guard=IS_LEAD & OPINIONS_IN,
                   event=E.REPLY_SUBMITTED, notify=THE_CENTER),
        transition("request_extension", S.HANDLING, STAY, roles=DEPARTMENT, guard=IS_LEAD,
                   event=E.EXTENSION_REQUESTED, notify=THE_CENTER),
        # the writer
        transition("supply_info", S.AWAITING_INFO, S.HANDLING, roles=CITIZEN, guard=IS_WRITER, deadline=RESUME,
                   event=E.INFO_SUPPLIED, notify=LEAD),
        transition("rate", S.REPLIED, S.CLOSED, roles=CITIZEN, guard=IS_WRITER, event=E.RATED,
                   notify=LEAD | THE_CENTER),
        # 不满意 on the first reply: a second round (二次办理), by whoever answered it.
        transition("rate_reopen", S.REPLIED, roles=CITIZEN, guard=IS_WRITER, event=E.REOPENED, branches={
            "department": Branch(S.HANDLING, deadline=RESTART, notify=LEAD | THE_CENTER),
            "center": Branch(S.SUBMITTED, deadline=start(DISPATCH_CLOCK.name), notify=THE_CENTER),
        }),
    ],
)

# What the citizen sees of the history: the actions, never staff names or internal comments.
CITIZEN_VISIBLE_ACTIONS = {
    "submit": "已提交", "dispatch": "已转交办理", "answer": "已答复", "reject": "不予受理",
    "merge": "已并入同类信件办理", "accept": "部门已受理", "request_info": "需要补充材料",
    "supply_info": "已补充材料", "approve": "已答复", "rate": "已评价", "rate_reopen": "已评价，重新办理",
}
