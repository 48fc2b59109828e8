"""Official documents (公文): the outgoing document's approval route and distribution (发文), and
each recipient department's copy, from signing for it to a handling result (收文).

Outgoing (``office_documents``)::

    draft ──submit──▶ in_approval ──approve (route completed)──▶ signed ──distribute──▶ distributed
      ▲                  │  ▲ approve / reject to a step / 加签 减签 (the route moves on)
      └─reject to the drafter┘
    draft, in_approval ──withdraw──▶ withdrawn                  批示 (instruct) any time of the approval

Incoming (``office_incoming``), one per recipient department::

    delivered ──sign_for──▶ received ──register──▶ registered ──submit_to_leader──▶ awaiting_instruction
        └──return──▶ returned                       instruct: assign ──▶ handling ──close (with a result)──▶ closed
                                                              circulate ──▶ circulating ──read (the last)──▶ closed
                                                    handling ──hand_back──▶ awaiting_instruction

Clocks: the approval (by urgency, the drafting department answers for it, paused while the draft
is back with its drafter), signing for a delivered copy (1 working day), and handling (by urgency,
the handling unit answers for it).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from backend.cases.approvals import CURRENT_SIGNERS, IS_SIGNER, ROUTE_SIGNERS
from backend.cases.deadline import PAUSE, RESUME, STOP, DeadlinePolicy, start
from backend.cases.parties import Party, department_at, user_at
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
    person_or_deputy,
    transition,
)
from backend.events import Recipient
from backend.office.documents.errors import NotInDepartment, NotOnRoute, NotTheDrafter, NotTheLeader, ResultRequired
from backend.office.documents.events import DocumentEvent as DE
from backend.office.documents.events import IncomingEvent as IE
from backend.office.permissions import CIVIL_SERVANTS
from backend.store.interface import Document

DOCUMENTS = "office_documents"
INCOMING = "office_incoming"



class DocumentType(StrEnum):
    NOTICE = "notice"    # 通知
    REQUEST = "request"  # 请示
    REPORT = "report"    # 报告
    LETTER = "letter"    # 函
    MINUTES = "minutes"  # 纪要


class Urgency(StrEnum):
    EXTRA_URGENT = "extra_urgent"  # 特急
    URGENT = "urgent"              # 加急
    NORMAL = "normal"              # 平件


class Secrecy(StrEnum):
    PUBLIC = "public"      # 公开
    INTERNAL = "internal"  # 内部: never on the citizen face


DOCUMENT_TYPE_LABELS = {DocumentType.NOTICE: "通知", DocumentType.REQUEST: "请示", DocumentType.REPORT: "报告",
                        DocumentType.LETTER: "函", DocumentType.MINUTES: "纪要"}
URGENCY_LABELS = {Urgency.EXTRA_URGENT: "特急", Urgency.URGENT: "加急", Urgency.NORMAL: "平件"}
SECRECY_LABELS = {Secrecy.PUBLIC: "公开", Secrecy.INTERNAL: "内部"}
APPROVAL_DAYS = {Urgency.EXTRA_URGENT: 1, Urgency.URGENT: 2, Urgency.NORMAL: 5}
HANDLING_DAYS = {Urgency.EXTRA_URGENT: 2, Urgency.URGENT: 5, Urgency.NORMAL: 10}


class OutgoingState(StrEnum):
    DRAFT = "draft"
    IN_APPROVAL = "in_approval"
    SIGNED = "signed"
    DISTRIBUTED = "distributed"
    WITHDRAWN = "withdrawn"


class IncomingState(StrEnum):
    DELIVERED = "delivered"
    RECEIVED = "received"
    REGISTERED = "registered"
    AWAITING_INSTRUCTION = "awaiting_instruction"
    HANDLING = "handling"
    CIRCULATING = "circulating"
    CLOSED = "closed"
    RETURNED = "returned"


O, I = OutgoingState, IncomingState

# --- who ----------------------------------------------------------------------------------

DRAFTER = user_at("drafter_id", "drafter")
DRAFTING_DEPARTMENT = department_at("department", "drafting department")
RECIPIENTS = department_at("main_recipients") | department_at("copy_recipients")
IS_DRAFTER = member_of(DRAFTER, NotTheDrafter)
IS_ROUTE_SIGNER = person_or_deputy(ROUTE_SIGNERS, NotOnRoute)

RECIPIENT = department_at("department", "recipient department")
SENDER = user_at("sender_id", "sender")
LEADER = user_at("leader_id", "leader")
HANDLING_UNIT = department_at("handling_unit", "handling unit")
IS_RECIPIENT = member_of(RECIPIENT, NotInDepartment)
IS_LEADER = person_or_deputy(LEADER, NotTheLeader)
IS_HANDLING_UNIT = member_of(HANDLING_UNIT, NotInDepartment)


def waiting_readers(doc: Document) -> list[str]:
    done = {read["user_id"] for read in doc.get("reads", [])}
    return [user_id for user_id in doc.get("readers", []) if user_id not in done]


PENDING_READERS = Party("readers who have not read", lambda doc: [Recipient.user(u) for u in waiting_readers(doc)])
IS_PENDING_READER = member_of(PENDING_READERS)


async def _result_attached(given: GuardInput) -> Verdict:
    return Verdict(bool((given.doc.get("result") or {}).get("text")))


RESULT_ATTACHED = Guard("a handling result is attached", _result_attached, ResultRequired)

# --- clocks -------------------------------------------------------------------------------

APPROVAL_CLOCK = DeadlinePolicy("office.document.approval", "审批时限",
                                lambda settings, doc: APPROVAL_DAYS[Urgency(doc["urgency"])],
                                unit=lambda settings, doc: doc.get("department"), yellow_within=1)
SIGN_FOR_CLOCK = DeadlinePolicy("office.incoming.sign_for", "签收时限", 1,
                                unit=lambda settings, doc: doc.get("department"), yellow_within=0)
HANDLING_CLOCK = DeadlinePolicy("office.incoming.handling", "办理时限",
                                lambda settings, doc: HANDLING_DAYS[Urgency(doc["urgency"])],
                                unit=lambda settings, doc: doc.get("handling_unit"), yellow_within=2)


def _labels(doc: Document) -> dict[str, Any]:
    return {"title": doc["title"], "number": doc.get("number"),
            "doc_type_label": DOCUMENT_TYPE_LABELS[DocumentType(doc["doc_type"])],
            "urgency_label": URGENCY_LABELS[Urgency(doc["urgency"])]}


OUTGOING_WORKFLOW = Workflow(
    name="outgoing_document", module="office", collection=DOCUMENTS, states=OutgoingState,
    title=lambda doc: doc["title"], event_data=_labels, policies=(APPROVAL_CLOCK,),
    warning=DE.OVERDUE_WARNING, warning_notify=CURRENT_SIGNERS | DRAFTER,
    terminal=frozenset({O.DISTRIBUTED, O.WITHDRAWN}),
    holders={
        O.DRAFT: (hold(DRAFTER, "修改并提交公文"),),
        O.IN_APPROVAL: (hold(CURRENT_SIGNERS, "审批公文", "approve"),),
        O.SIGNED: (hold(DRAFTER, "分发公文", "distribute"),),
    },
    create=creation("draft", O.DRAFT, roles=CIVIL_SERVANTS, event=DE.DRAFTED),
    transitions=[
        transition("edit", O.DRAFT, STAY, roles=CIVIL_SERVANTS, guard=IS_DRAFTER, event=DE.EDITED),
        transition("submit", O.DRAFT, roles=CIVIL_SERVANTS, guard=IS_DRAFTER, event=DE.SUBMITTED,
                   notify=CURRENT_SIGNERS, branches={
                       "first": Branch(O.IN_APPROVAL, start(APPROVAL_CLOCK.name)),
                       "again": Branch(O.IN_APPROVAL, RESUME)}),
        transition("approve", O.IN_APPROVAL, roles=CIVIL_SERVANTS, guard=IS_SIGNER, event=DE.APPROVED, branches={
            "pending": Branch(),
            "advanced": Branch(event=DE.STEP_COMPLETED, notify=CURRENT_SIGNERS | DRAFTER),
            "completed": Branch(O.SIGNED, STOP, event=DE.SIGNED, notify=DRAFTER)}),
        transition("reject", O.IN_APPROVAL, roles=CIVIL_SERVANTS, guard=IS_SIGNER, branches={
            "rejected_to_step": Branch(event=DE.SENT_BACK, notify=CURRENT_SIGNERS | DRAFTER),
            "returned_to_drafter": Branch(O.DRAFT, PAUSE, event=DE.RETURNED, notify=DRAFTER)}),
        transition("change_signers", O.IN_APPROVAL, roles=CIVIL_SERVANTS, guard=IS_DRAFTER | IS_SIGNER,
                   event=DE.SIGNERS_CHANGED, notify=CURRENT_SIGNERS, branches={
                       "pending": Branch(), "advanced": Branch(),
                       "completed": Branch(O.SIGNED, STOP, event=DE.SIGNED, notify=DRAFTER)}),
        transition("instruct", {O.IN_APPROVAL, O.SIGNED}, STAY, roles=CIVIL_SERVANTS, guard=IS_ROUTE_SIGNER,
                   event=DE.INSTRUCTED, notify=DRAFTER),
        transition("distribute", O.SIGNED, O.DISTRIBUTED, roles=CIVIL_SERVANTS,
                   guard=IS_DRAFTER | member_of(DRAFTING_DEPARTMENT, NotInDepartment), event=DE.DISTRIBUTED,
                   notify=RECIPIENTS),
        transition("withdraw", {O.DRAFT, O.IN_APPROVAL}, O.WITHDRAWN, roles=CIVIL_SERVANTS, guard=IS_DRAFTER,
                   deadline=STOP, event=DE.WITHDRAWN, notify=CURRENT_SIGNERS),
    ],
)

INCOMING_WORKFLOW = Workflow(
    name="incoming_document", module="office", collection=INCOMING, states=IncomingState,
    title=lambda doc: doc["title"], event_data=_labels, policies=(SIGN_FOR_CLOCK, HANDLING_CLOCK),
    warning=IE.OVERDUE_WARNING, warning_notify=RECIPIENT | HANDLING_UNIT,
    terminal=frozenset({I.CLOSED, I.RETURNED}),
    holders={
        I.DELIVERED: (hold(RECIPIENT, "签收公文", "sign_for"),),
        I.RECEIVED: (hold(RECIPIENT, "登记公文", "register"),),
        I.REGISTERED: (hold(RECIPIENT, "呈送领导拟办"),),
        I.AWAITING_INSTRUCTION: (hold(LEADER, "拟办公文", "instruct"),),
        I.HANDLING: (hold(HANDLING_UNIT, "办理公文"),),
        I.CIRCULATING: (hold(PENDING_READERS, "阅读公文", "read"),),
    },
    create=creation("deliver", I.DELIVERED, roles=CIVIL_SERVANTS, event=IE.DELIVERED,
                    deadline=start(SIGN_FOR_CLOCK.name)),
    transitions=[
        transition("sign_for", I.DELIVERED, I.RECEIVED, roles=CIVIL_SERVANTS, guard=IS_RECIPIENT, deadline=STOP,
                   event=IE.SIGNED_FOR, notify=SENDER),
        transition("return", I.DELIVERED, I.RETURNED, roles=CIVIL_SERVANTS, guard=IS_RECIPIENT, deadline=STOP,
                   event=IE.RETURNED, notify=SENDER),
        transition("register", I.RECEIVED, I.REGISTERED, roles=CIVIL_SERVANTS, guard=IS_RECIPIENT,
                   event=IE.REGISTERED),
        transition("submit_to_leader", I.REGISTERED, I.AWAITING_INSTRUCTION, roles=CIVIL_SERVANTS,
                   guard=IS_RECIPIENT, event=IE.SUBMITTED_TO_LEADER, notify=LEADER),
        transition("instruct", I.AWAITING_INSTRUCTION, roles=CIVIL_SERVANTS, guard=IS_LEADER, branches={
            "assign": Branch(I.HANDLING, start(HANDLING_CLOCK.name), event=IE.ASSIGNED, notify=HANDLING_UNIT),
            "circulate": Branch(I.CIRCULATING, event=IE.CIRCULATED, notify=PENDING_READERS)}),
        transition("read", I.CIRCULATING, roles=CIVIL_SERVANTS, guard=IS_PENDING_READER, event=IE.READ, branches={
            "pending": Branch(), "all_read": Branch(I.CLOSED, event=IE.CLOSED, notify=LEADER | SENDER)}),
        transition("hand_back", I.HANDLING, I.AWAITING_INSTRUCTION, roles=CIVIL_SERVANTS, guard=IS_HANDLING_UNIT,
                   event=IE.HANDED_BACK, notify=LEADER),
        transition("attach_result", I.HANDLING, STAY, roles=CIVIL_SERVANTS, guard=IS_HANDLING_UNIT,
                   event=IE.RESULT_ATTACHED, notify=LEADER),
        transition("close", I.HANDLING, I.CLOSED, roles=CIVIL_SERVANTS, guard=IS_HANDLING_UNIT & RESULT_ATTACHED,
                   deadline=STOP, event=IE.CLOSED, notify=LEADER | SENDER),
    ],
)
