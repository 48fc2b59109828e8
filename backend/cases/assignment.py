"""Assignment to a lead unit and co-units (主办/协办).

A case handled by several departments carries::

    {"assignment": {"lead": "qd-housing", "co": ["qd-env"],
                    "opinions": [{"department", "by", "text", "at"}]}}

The lead unit acts on the case; each co-unit gives its opinion (协办意见), which the lead sees,
and the lead's reply waits until every co-unit has given one (``OPINIONS_IN``). The parties and
guards here are what workflows declare; the module chooses the error codes its clients know.
"""

from __future__ import annotations

from typing import Any, Iterable

from backend.cases.parties import Party, department_at
from backend.cases.workflow import Guard, GuardInput, Verdict
from backend.errors import Conflict
from backend.events import Recipient
from backend.store.interface import Document

LEAD_UNIT = department_at("assignment.lead", "lead unit")
CO_UNITS = department_at("assignment.co", "co-units")


class CoOpinionsPending(Conflict):
    code = "co_opinions_pending"
    message = "协办单位意见尚未全部提交"


def assigned(lead: str, co: Iterable[str] = ()) -> dict[str, Any]:
    """A new assignment; the lead is never also a co-unit, and co-units are unique."""
    return {"lead": lead, "co": [code for code in dict.fromkeys(co) if code != lead], "opinions": []}


def units(doc: Document) -> list[str]:
    """Every department the case is assigned to, lead first."""
    assignment = doc.get("assignment") or {}
    return [code for code in [assignment.get("lead"), *assignment.get("co", [])] if code]


def opinion(department: str, by: str, text: str, at: str) -> dict[str, str]:
    return {"department": department, "by": by, "text": text, "at": at}


def waiting_co_units(doc: Document) -> list[str]:
    assignment = doc.get("assignment") or {}
    given = {item["department"] for item in assignment.get("opinions", [])}
    return [code for code in assignment.get("co", []) if code not in given]


PENDING_CO_UNITS = Party("co-units without an opinion",
                         lambda doc: [Recipient.department(code) for code in waiting_co_units(doc)])


async def _opinions_in(given: GuardInput) -> Verdict:
    return Verdict(not waiting_co_units(given.doc))


OPINIONS_IN = Guard("co-unit opinions in", _opinions_in, CoOpinionsPending)
