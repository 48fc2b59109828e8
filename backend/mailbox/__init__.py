"""Government mailbox (政府信箱): citizens' letters from intake to dispatch, handling, review,
rating and public disclosure — "外网受理、内网办理、外网反馈、实时监控"."""

from backend.auth.permissions import Role
from backend.mailbox.events import LetterEvent
from backend.mailbox.notifications import RULES
from backend.mailbox.permissions import MailboxPermission as P
from backend.mailbox.workflow import CONTACT_PHONE, LETTER_WORKFLOW, LETTERS
from backend.registry import Module, collection, index

MODULE = Module(
    name="mailbox", label="政府信箱",
    collections=(collection(
        LETTERS,
        index("citizen_id", ("_id", -1)), index("assignment.lead", ("_id", -1)), index("state", ("_id", -1)),
        index("deadline.running", "deadline.due_at"), index("disclosure.state", ("_id", -1)),
        index("created_at"), index("dispatched_at"), index("tracking_no", unique=True),
        outbox=True),),
    workflows=(LETTER_WORKFLOW,),
    notifications=RULES,
    events=frozenset({LetterEvent.MERGED_REPLIED}),
    sealed=(CONTACT_PHONE,),
    grants={
        Role.CITIZEN: frozenset({P.CITIZEN_LETTER_READ, P.CITIZEN_LETTER_WRITE}),
        Role.STAFF: frozenset({P.STAFF_LETTER_READ, P.STAFF_LETTER_HANDLE, P.STAFF_STATISTICS_READ}),
        Role.DEPARTMENT_ADMIN: frozenset({P.STAFF_LETTER_READ, P.STAFF_LETTER_HANDLE, P.STAFF_STATISTICS_READ}),
        Role.MAILBOX_CENTER: frozenset({P.STAFF_LETTER_READ, P.STAFF_LETTER_HANDLE, P.STAFF_LETTER_CENTER,
                                        P.STAFF_STATISTICS_READ}),
        Role.ADMIN: frozenset({P.STAFF_STATISTICS_READ}),
    },
)
