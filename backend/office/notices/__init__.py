"""Notices and meeting notices (通知公告 / 会议通知): issued by a department to departments, groups
and named people; a receipt per person (who read when, who has not), reminders (催办) by hand and
once automatically, and for meetings the attendance replies (参会 / 请假, with a substitute).

Collections: ``office_notices`` (the notice case), ``office_notice_receipts`` (one receipt case per
person, written in one bulk insert at publishing), ``office_groups`` (named groups of people a
department keeps to address notices to). See ``workflow.py`` for both state machines.
"""

from backend.office.notices.events import NoticeEvent
from backend.office.notices.notifications import RULES
from backend.office.notices.use_cases import run_notice_jobs
from backend.office.notices.workflow import GROUPS, NOTICE_WORKFLOW, NOTICES, RECEIPT_WORKFLOW, RECEIPTS
from backend.office.part import Part
from backend.registry import Job, collection, index

PART = Part(
    collections=(
        collection(NOTICES, index("department", ("_id", -1)), index("state", "auto_remind_at"),
                   index("state", "closes_at"), index("state", "updated_at"), outbox=True),
        collection(RECEIPTS, index("notice_id", "department", "_id"), index("notice_id", "read", "department", "_id"),
                   index("notice_id", "state", "department", "_id"), index("user_id", ("_id", -1)),
                   index("user_id", "read", ("_id", -1)), outbox=True),
        collection(GROUPS, index("department", "name", unique=True)),
    ),
    workflows=(NOTICE_WORKFLOW, RECEIPT_WORKFLOW),
    rules=RULES,
    jobs=(Job("office-notices", 60, run_notice_jobs),),
    events=frozenset({NoticeEvent.SUBSTITUTE_NAMED}),
)
