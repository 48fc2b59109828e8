"""Mailbox statistics per department and period, and the city overview.

Each letter carries its own counters under ``stats`` (set by the transitions: replied, on_time,
handling_workdays, closed, rated, satisfied, reopened), so a period's figures are one grouped
count over the letters dispatched in it — no scan of histories.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from backend.auth.permissions import Role
from backend.auth.tokens import Principal
from backend.clock import CHINA, to_storage
from backend.identity.queries import subtree_codes
from backend.store.interface import DocumentStore

LETTERS = "letters"
_COUNTERS = ["stats.replied", "stats.on_time", "stats.handling_workdays", "stats.closed", "stats.rated",
             "stats.satisfied", "stats.reopened"]


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
    """Letters received (dispatched, or answered by the centre) from ``start`` to ``end``
    inclusive, Beijing dates; ``departments`` None means the whole city."""
    filter_: dict[str, Any] = {"dispatched_at": {"$gte": _day_start(start), "$lt": _day_start(end + timedelta(days=1))}}
    if departments is not None:
        filter_["assignment.lead"] = {"$in": departments}
    groups = await store.collection(LETTERS).group_count(filter_, by=["assignment.lead"], sums=_COUNTERS)
    rows = sorted((_row(g["key"]["assignment.lead"], g["count"], g["sums"]) for g in groups),
                  key=lambda row: (-row["received"], row["department"] or ""))
    totals: dict[str, float] = {}
    for group in groups:
        for name, value in group["sums"].items():
            totals[name] = totals.get(name, 0) + value
    overview = _row(None, sum(g["count"] for g in groups), totals)
    return {"from": start.isoformat(), "to": end.isoformat(), "items": rows, "overview": overview}


async def statistics_for(store: DocumentStore, actor: Principal, *, start: date, end: date,
                         department: str | None) -> dict[str, Any]:
    """A department admin sees its own subtree; the centre and admins the whole city or any part."""
    departments = await subtree_codes(store, department) if department else None
    if Role.ADMIN not in actor.roles and Role.MAILBOX_CENTER not in actor.roles:
        own = await subtree_codes(store, actor.department) if actor.department else []
        departments = [code for code in departments if code in own] if departments is not None else own
    return await letter_statistics(store, start=start, end=end, departments=departments)
