"""Official documents (公文流转): outgoing documents and their approval (发文), incoming copies
and their handling (收文). See ``workflow.py``."""

from backend.office.documents.notifications import RULES
from backend.office.documents.numbering import PREFIXES
from backend.office.documents.workflow import DOCUMENTS, INCOMING, INCOMING_WORKFLOW, OUTGOING_WORKFLOW
from backend.office.part import Part
from backend.registry import collection, index

PART = Part(
    collections=(
        collection(DOCUMENTS, index("department", ("_id", -1)), index("participants"),
                   index("number_key", unique=True, sparse=True), index("number_prefix", "number_year", "number_seq"),
                   outbox=True),
        collection(INCOMING, index("department", ("_id", -1)), index("handling_unit", ("_id", -1)),
                   index("document_id"), outbox=True),
        collection(PREFIXES),
    ),
    workflows=(OUTGOING_WORKFLOW, INCOMING_WORKFLOW),
    rules=RULES,
)
