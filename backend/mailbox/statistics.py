"""Mailbox statistics for a period: every letter received in it, broken down by type, state,
channel and addressee, and a row per handling department with its timeliness and satisfaction.

Each letter carries its own counters under ``stats`` (set by the transitions: replied, on_time,
handling_workdays, closed, rated, satisfied, reopened), so a period's figures are grouped counts
over the letters received in it — no scan of histories. A department sees the letters it led;
the centre and admins the whole city (or a part of it they ask for).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

from backend.auth.permissions import Role
from backend.auth.tokens import Principal
from backend.clock import CHINA, to_storage
from backend.identity.queries import subtree_codes
from backend.mailbox.queries import STATE_LABELS
from backend.mailbox.schemas import LETTER_TYPE_LABELS, LetterType
from backend.mailbox.workflow import LETTERS
from backend.store.interface import DocumentStore

_COUNTERS = ["stats.replied", "stats.on_time", "stats.handling_workdays", "stats.closed", "stats.rated",
             "stats.satisfied", "stats.reopened"]
BREAKDOWNS = {"type": "type", "state": "state", "channel": "channel", "addressee": "addressee.kind"}
CSV_COLUMNS = ["department", "department_name", "received", "closed", "on_time_rate", "average_handling_workdays",
               "satisfaction_rate", "reopened"]


def _day_start(day: date) -> str:
    return to_storage(datetime.combine(day, time(0), tzinfo=CHINA))


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _row(department: str | None, count: int, sums: dict[str, float]) -> dict[str, Any]:
    replied = sums.get("stats.replied", 0)
    return {
        "department": department,
        "received": count,
        "closed": int(sums.get("stats.closed", 0)),
        "on_time_rate": _ratio(sums.get("stats.on_time", 0), replied),
        "average_handling_workdays": _ratio(sums.get("stats.handling_workdays", 0), replied),
        "satisfaction_rate": _ratio(sums.get("stats.satisfied", 0), sums.get("stats.rated", 0)),
        "reopened": int(sums.get("stats.reopened", 0)),
    }


async def letter_statistics(store: DocumentStore, *, start: date, end: date,
                            departments: list[str] | None) -> dict[str, Any]:
    """Letters received from ``start`` to ``end`` inclusive (Beijing dates); ``departments``
    None means the whole city, else the letters those departments led."""
    filter_: dict[str, Any] = {"created_at": {"$gte": _day_start(start), "$lt": _day_start(end + timedelta(days=1))}}
    if departments is not None:
        filter_["assignment.lead"] = {"$in": departments}
    letters = store.collection(LETTERS)
    groups = await letters.group_count(filter_, by=["assignment.lead"], sums=_COUNTERS)
    rows = sorted((_row(g["key"]["assignment.lead"], g["count"], g["sums"]) for g in groups),
                  key=lambda row: (-row["received"], row["department"] or ""))
    totals: dict[str, float] = {}
    for group in groups:
        for name, value in group["sums"].items():
            totals[name] = totals.get(name, 0) + value
    breakdowns = {}
    for name, field in BREAKDOWNS.items():
        counted = await letters.group_count(filter_, by=[field])
        breakdowns[name] = sorted(({"key": g["key"][field], "count": g["count"]} for g in counted),
                                  key=lambda item: (-item["count"], str(item["key"])))
    for item in breakdowns["type"]:
        item["label"] = LETTER_TYPE_LABELS.get(LetterType(item["key"])) if item["key"] else None
    for item in breakdowns["state"]:
        item["label"] = STATE_LABELS.get(item["key"])
    return {"from": start.isoformat(), "to": end.isoformat(), "items": rows,
            "overview": _row(None, sum(g["count"] for g in groups), totals), "breakdowns": breakdowns}


async def statistics_for(store: DocumentStore, actor: Principal, *, start: date, end: date,
                         department: str | None) -> dict[str, Any]:
    """The centre and admins see the whole city or any part; anyone else their own department
    (a department admin its subtree)."""
    departments = await subtree_codes(store, department) if department else None
    if Role.ADMIN not in actor.roles and Role.MAILBOX_CENTER not in actor.roles:
        if Role.DEPARTMENT_ADMIN in actor.roles and actor.department:
            own = await subtree_codes(store, actor.department)
        else:
            own = [actor.department] if actor.department else []
        departments = [code for code in departments if code in own] if departments is not None else own
    return await letter_statistics(store, start=start, end=end, departments=departments)


def as_csv(statistics: dict[str, Any], names: dict[str, str | None]) -> str:
    """The department rows and the overview as CSV (UTF-8 with a BOM, so that spreadsheet programs
    read the Chinese names)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in [*statistics["items"], {**statistics["overview"], "department": "合计"}]:
        writer.writerow([row["department"] or "", names.get(row["department"] or "") or "",
                         *(("" if row[name] is None else row[name]) for name in CSV_COLUMNS[2:])])
    return "\ufeff" + out.getvalue()

