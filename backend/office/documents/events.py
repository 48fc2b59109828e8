"""Events of official documents: the outgoing document (``office.document.*``) and each
recipient department's copy (``office.incoming.*``)."""

from __future__ import annotations

from enum import StrEnum


class DocumentEvent(StrEnum):
    DRAFTED = "office.document.drafted"
    EDITED = "office.document.edited"
    SUBMITTED = "office.document.submitted"
    APPROVED = "office.document.approved"  # one signer of a step that waits for others
    STEP_COMPLETED = "office.document.step_completed"
    SENT_BACK = "office.document.sent_back"  # to an earlier step
    RETURNED = "office.document.returned"  # to the drafter
    SIGNERS_CHANGED = "office.document.signers_changed"
    SIGNED = "office.document.signed"  # the route completed: numbered, main text frozen
    INSTRUCTED = "office.document.instructed"  # a leader's 批示
    DISTRIBUTED = "office.document.distributed"
    WITHDRAWN = "office.document.withdrawn"
    OVERDUE_WARNING = "office.document.overdue_warning"


class IncomingEvent(StrEnum):
    DELIVERED = "office.incoming.delivered"
    SIGNED_FOR = "office.incoming.signed_for"
    RETURNED = "office.incoming.returned"
    REGISTERED = "office.incoming.registered"
    SUBMITTED_TO_LEADER = "office.incoming.submitted_to_leader"
    ASSIGNED = "office.incoming.assigned"
    CIRCULATED = "office.incoming.circulated"
    READ = "office.incoming.read"
    HANDED_BACK = "office.incoming.handed_back"
    RESULT_ATTACHED = "office.incoming.result_attached"
    CLOSED = "office.incoming.closed"
    OVERDUE_WARNING = "office.incoming.overdue_warning"
