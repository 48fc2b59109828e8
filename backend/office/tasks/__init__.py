"""Supervision tasks (督查督办): a leader's instruction or an official document turned into a task
for a lead unit and co-units, under a working-day deadline, with milestones, periodic progress
reports, extensions, overdue escalation to the supervising office (督查室) and a completion
report the supervisor accepts or sends back; a board per leader (督查督办看板).

The part's declaration, composed into the office module by ``backend/office/__init__.py``.
"""

from backend.office.part import Part
from backend.office.tasks.notifications import RULES
from backend.office.tasks.use_cases import do_remind_late_reports
from backend.office.tasks.workflow import TASK_WORKFLOW, TASKS
from backend.registry import Job, collection, index

PART = Part(
    collections=(collection(
        TASKS,
        index("assignment.lead", ("_id", -1)), index("assignment.co", ("_id", -1)),
        index("supervising_office", ("_id", -1)), index("people", "state", "deadline.due_at"),
        index("state", "reporting.next_due_at"),
        outbox=True),),
    workflows=(TASK_WORKFLOW,),
    rules=RULES,
    jobs=(Job("supervision-task-report-reminders", 300, do_remind_late_reports),),
)
