"""The letter's transition table: state, action, roles allowed → next state.

    submitted ──dispatch──▶ dispatched ──accept──▶ handling ──reply──▶ reply_review ──approve──▶ replied
        │  ▲                    │                    │  ▲                  │                       │
        │  └──dispatch── returned ◀──return──────────┘  └──send_back───────┘        rate (satisfied, or 2nd)
        ├──answer──▶ replied                  request_info ▼ ▲ supply_info                        ▼
        ├──reject──▶ rejected                        awaiting_info                              closed
        └──merge───▶ merged                                     rate (dissatisfied, 1st) ──▶ handling (二次办理)
"""

from __future__ import annotations

from enum import StrEnum

from backend.auth.permissions import Role
from backend.workflow import Workflow, transition


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

# Open states: the letter is someone's work and its deadline runs (or is paused).
OPEN_STATES = frozenset({S.SUBMITTED, S.DISPATCHED, S.HANDLING, S.AWAITING_INFO, S.REPLY_REVIEW, S.RETURNED})
# States in which a department holds the letter and the deadline counts.
DEADLINE_STATES = frozenset({S.DISPATCHED, S.HANDLING, S.REPLY_REVIEW})
PUBLIC_STATES = frozenset({S.REPLIED, S.CLOSED})

LETTER_WORKFLOW = Workflow("letter", LetterState, [
    transition("dispatch", {S.SUBMITTED, S.RETURNED}, S.DISPATCHED, CENTER),
    transition("answer", {S.SUBMITTED, S.RETURNED}, S.REPLIED, CENTER),
    transition("reject", {S.SUBMITTED, S.RETURNED}, S.REJECTED, CENTER),
    transition("merge", {S.SUBMITTED, S.RETURNED}, S.MERGED, CENTER),
    transition("accept", S.DISPATCHED, S.HANDLING, DEPARTMENT),
    transition("return", {S.DISPATCHED, S.HANDLING}, S.RETURNED, DEPARTMENT),
    transition("request_info", S.HANDLING, S.AWAITING_INFO, DEPARTMENT),
    transition("supply_info", S.AWAITING_INFO, S.HANDLING, CITIZEN),
    transition("reply", S.HANDLING, S.REPLY_REVIEW, DEPARTMENT),
    transition("request_extension", S.HANDLING, None, DEPARTMENT),
    transition("decide_extension", {S.HANDLING, S.AWAITING_INFO, S.REPLY_REVIEW}, None, CENTER),
    transition("approve", S.REPLY_REVIEW, S.REPLIED, CENTER),
    transition("send_back", S.REPLY_REVIEW, S.HANDLING, CENTER),
    transition("rate", S.REPLIED, S.CLOSED, CITIZEN),
    transition("rate_reopen", S.REPLIED, S.HANDLING, CITIZEN),
    transition("warn", {S.DISPATCHED, S.HANDLING, S.REPLY_REVIEW}, None, {Role.ADMIN}),
])

# What the citizen sees of the history: the actions, never staff names or internal comments.
CITIZEN_VISIBLE_ACTIONS = {
    "submit": "已提交", "dispatch": "已转交办理", "answer": "已答复", "reject": "不予受理",
    "merge": "已并入同类信件办理", "accept": "部门已受理", "request_info": "需要补充材料",
    "supply_info": "已补充材料", "approve": "已答复", "rate": "已评价", "rate_reopen": "已评价，重新办理",
}
