"""The supervision task's workflow (督查督办事项): states, who holds a task in each, and the table.

    create ──▶ in_progress ──submit_completion──▶ completion_review ──accept──▶ done
                 ▲  │                                   │
                 │  │ give_opinion · report ·           │
                 │  │ request_extension · remind_report │ decide_extension (either state)
                 └──┴──────────── send_back ◀───────────┘

A supervisor (the creator) opens a task on behalf of a supervising office (督查室, a department:
the task's ``supervising_office`` field, by default the supervisor's own department), from a
leader's instruction or an official document, for a lead unit and co-units. The lead unit
handles it and reports progress every ``reporting.period_days`` working days (co-units may
report too); co-units give their opinions (协办意见) before the lead unit's completion report,
which the supervisor accepts or sends back with a reason. Where the supervisor acts, their
deputy may act for them during a delegation (the history names whom they acted for).

One clock, ``supervision_task.handling``: ``deadline_days`` working days from creation, answered
for by the lead unit; paused while the supervisor reviews a completion report (waiting on the
supervisor is not the lead unit's time), resumed on a send-back, extended by an approved
extension, stopped on acceptance — a clock stopped while paused stopped at the pause, so "met"
judges the moment the completion report came in.

The reporting cadence is not a kernel clock (a case has one): ``reporting.next_due_at`` moves on
by the period with each of the lead unit's reports, and the reminder job (``remind_report``, the
kernel's ``SYSTEM`` actor) tells the lead unit once per period when it has passed.
"""

from __future__ import annotations

from typing import Any

from backend.cases.assignment import CO_UNITS, LEAD_UNIT, OPINIONS_IN, PENDING_CO_UNITS
from backend.cases.deadline import (
    EXTEND,
    PAUSE,
    RESUME,
    STOP,
    DeadlinePolicy,
    ExtensionPending,
    NoExtensionPending,
    start,
)
from backend.cases.engine import SYSTEM_ACTOR
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
from backend.config import Settings
from backend.office.permissions import CIVIL_SERVANTS
from backend.office.tasks.errors import NotCoUnit, NotLeadUnit, NotTaskUnit, NotTheSupervisor
from backend.office.tasks.events import TaskEvent as E
from backend.office.tasks.schemas import TaskState
from backend.store.interface import Document

TASKS = "supervision_tasks"

S = TaskState
JOBS = {SYSTEM_ACTOR}

# --- who ----------------------------------------------------------------------------------

LEADER = user_at("leader.user_id", "leader")
SUPERVISOR = user_at("supervisor.user_id", "supervisor")
SUPERVISING_OFFICE = department_at("supervising_office", "supervising office")
UNITS = LEAD_UNIT | CO_UNITS


def _extension_pending(doc: Document) -> bool:
    return (doc.get("extension") or {}).get("state") == "pending"


def _report_reminded(doc: Document) -> bool:
    return bool((doc.get("reporting") or {}).get("reminded_at"))


# The supervisor, while an extension request waits for them.
EXTENSION_DECIDER = Party("supervisor with an extension request",
                          lambda doc: SUPERVISOR(doc) if _extension_pending(doc) else ())
# The lead unit, once reminded that its progress report is late (until it reports).
LATE_REPORTER = Party("lead unit with a late report", lambda doc: LEAD_UNIT(doc) if _report_reminded(doc) else ())

IS_LEAD = member_of(LEAD_UNIT, NotLeadUnit)
IS_CO = member_of(CO_UNITS, NotCoUnit)
IS_UNIT = member_of(UNITS, NotTaskUnit)
IS_SUPERVISOR = person_or_deputy(SUPERVISOR, NotTheSupervisor)


async def _pending(given: GuardInput) -> Verdict:
    return Verdict(_extension_pending(given.doc))


async def _not_pending(given: GuardInput) -> Verdict:
    return Verdict(not _extension_pending(given.doc))


EXTENSION_WAITS = Guard("an extension request waits", _pending, NoExtensionPending)
NO_EXTENSION_WAITS = Guard("no extension request waits", _not_pending, ExtensionPending)

# --- the clock ----------------------------------------------------------------------------


def _days(settings: Settings, doc: Document) -> int:
    return int(doc["deadline_days"])


def _lead_unit(settings: Settings, doc: Document) -> str | None:
    return (doc.get("assignment") or {}).get("lead")


HANDLING_CLOCK = DeadlinePolicy("supervision_task.handling", "督办时限", _days, unit=_lead_unit)


def _event_data(doc: Document) -> dict[str, Any]:
    """Every label a message names: the title, the people and the departments by name."""
    names = doc.get("department_names") or {}
    lead = (doc.get("assignment") or {}).get("lead")
    leader = doc.get("leader") or {}
    return {"title": doc["title"], "lead_department": lead, "lead_department_name": names.get(lead, lead),
            "supervising_office": doc["supervising_office"],
            "supervising_office_name": names.get(doc["supervising_office"], doc["supervising_office"]),
            "supervisor_name": doc["supervisor"]["name"], "leader_name": leader.get("name")}


TASK_WORKFLOW = Workflow(
    name="supervision_task", module="office", collection=TASKS, states=TaskState,
    title=lambda doc: doc["title"], event_data=_event_data,
    policies=(HANDLING_CLOCK,),
    warning=E.OVERDUE_WARNING, warning_notify=LEAD_UNIT | SUPERVISOR | SUPERVISING_OFFICE,
    terminal=frozenset({S.DONE}),
    holders={
        # The first holding of a recipient wins: a reminded lead unit's to-do says "report".
        S.IN_PROGRESS: (hold(LATE_REPORTER, "报送督办进展", "report"), hold(LEAD_UNIT, "办理督办事项"),
                        hold(PENDING_CO_UNITS, "提交协办意见", "opinion"),
                        hold(EXTENSION_DECIDER, "审批延期申请", "approve")),
        S.COMPLETION_REVIEW: (hold(SUPERVISOR, "审核办结报告", "review"),),
    },
    create=creation("create", S.IN_PROGRESS, roles=CIVIL_SERVANTS, event=E.CREATED, notify=UNITS | LEADER,
                    deadline=start(HANDLING_CLOCK.name)),
    transitions=[
        # the lead unit and co-units
        transition("give_opinion", S.IN_PROGRESS, STAY, roles=CIVIL_SERVANTS, guard=IS_CO,
                   event=E.CO_OPINION_GIVEN, notify=LEAD_UNIT),
        transition("report", S.IN_PROGRESS, roles=CIVIL_SERVANTS, guard=IS_UNIT, event=E.PROGRESS_REPORTED,
                   branches={"lead": Branch(notify=SUPERVISOR | LEADER), "co": Branch(notify=LEAD_UNIT | SUPERVISOR)}),
        transition("request_extension", S.IN_PROGRESS, STAY, roles=CIVIL_SERVANTS, guard=IS_LEAD & NO_EXTENSION_WAITS,
                   event=E.EXTENSION_REQUESTED, notify=SUPERVISOR),
        transition("submit_completion", S.IN_PROGRESS, S.COMPLETION_REVIEW, roles=CIVIL_SERVANTS,
                   guard=IS_LEAD & OPINIONS_IN, deadline=PAUSE, event=E.COMPLETION_SUBMITTED, notify=SUPERVISOR),
        # the supervisor, or their deputy
        transition("decide_extension", {S.IN_PROGRESS, S.COMPLETION_REVIEW}, roles=CIVIL_SERVANTS,
                   guard=IS_SUPERVISOR & EXTENSION_WAITS, event=E.EXTENSION_DECIDED, notify=LEAD_UNIT,
                   branches={"approved": Branch(deadline=EXTEND), "refused": Branch()}),
        transition("send_back", S.COMPLETION_REVIEW, S.IN_PROGRESS, roles=CIVIL_SERVANTS, guard=IS_SUPERVISOR,
                   deadline=RESUME, event=E.COMPLETION_SENT_BACK, notify=LEAD_UNIT),
        transition("accept", S.COMPLETION_REVIEW, S.DONE, roles=CIVIL_SERVANTS, guard=IS_SUPERVISOR, deadline=STOP,
                   event=E.COMPLETED, notify=UNITS | LEADER),
        # the reminder job
        transition("remind_report", S.IN_PROGRESS, STAY, roles=JOBS, event=E.REPORT_OVERDUE, notify=LEAD_UNIT,
                   keeps_version=True),
    ],
)
