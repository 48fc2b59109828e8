"""The supervision overview: per department and module, the clocks that run and how the
finished ones went.

Counts come from every registered workflow's cases through the kernel's ``deadline``
sub-document (its ``unit`` is the department that answers for the clock): open clocks by their
last recorded level (the warning job keeps it within a minute), paused ones, and of the clocks
stopped in the period how many were met and the median working days they took.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

from backend.auth.tokens import Principal
from backend.cases.workflow import Workflow
from backend.clock import CHINA, to_storage
from backend.context import Context
from backend.identity.queries import department_scope, subtree_codes

_OPEN = ("open", "normal", "yellow", "red", "overdue", "paused")


def _day_start(day: date) -> str:
    return to_storage(datetime.combine(day, time(0), tzinfo=CHINA))


def _empty(module: str, label: str, unit: str | None) -> dict[str, Any]:
    return {"module": module, "module_label": label, "department": unit, **dict.fromkeys(_OPEN, 0),
            "closed": 0, "closed_on_time": 0, "median_workdays": None, "_workdays": []}


async def overview(ctx: Context, workflows: Iterable[tuple[Workflow, str]], *, departments: list[str] | None,
                   start: date, end: date) -> dict[str, Any]:
    """``workflows``: (workflow, module label) pairs; ``departments`` None means every unit."""
    rows: dict[tuple[str, str | None], dict[str, Any]] = {}
    period = {"$gte": _day_start(start), "$lt": _day_start(end + timedelta(days=1))}
    scope: dict[str, Any] = {} if departments is None else {"deadline.unit": {"$in": departments}}
    for workflow, label in workflows:
        cases = ctx.store.collection(workflow.collection)

        def row(unit: str | None) -> dict[str, Any]:
            return rows.setdefault((workflow.module, unit), _empty(workflow.module, label, unit))

        running = {"deadline.running": True, **scope}
        for group in await cases.group_count(running, by=["deadline.unit", "deadline.level"]):
            entry = row(group["key"]["deadline.unit"])
            entry["open"] += group["count"]
            entry[group["key"]["deadline.level"] or "normal"] += group["count"]
        for group in await cases.group_count({**running, "deadline.paused_at": {"$ne": None}}, by=["deadline.unit"]):
            row(group["key"]["deadline.unit"])["paused"] += group["count"]
        finished = await cases.find({"deadline.running": False, "deadline.stopped_at": period, **scope},
                                    projection=["deadline"])
        for doc in finished:
            clock = doc["deadline"]
            entry = row(clock.get("unit"))
            entry["closed"] += 1
            entry["closed_on_time"] += int(bool(clock.get("met")))
            if clock.get("workdays") is not None:
                entry["_workdays"].append(clock["workdays"])
    items = sorted(rows.values(), key=lambda r: (r["module"], r["department"] or ""))
    total = _empty("*", "全部", None)
    for item in items:
        for name in (*_OPEN, "closed", "closed_on_time"):
            total[name] += item[name]
        total["_workdays"] += item["_workdays"]
    for item in (*items, total):
        days = item.pop("_workdays")
        item["median_workdays"] = round(statistics.median(days), 2) if days else None
    return {"from": start.isoformat(), "to": end.isoformat(), "items": items, "overview": total}


async def overview_for(ctx: Context, actor: Principal, workflows: Iterable[tuple[Workflow, str]], *,
                       start: date | None, end: date | None, department: str | None) -> dict[str, Any]:
    """Scoped to the caller: city-wide roles see every unit (or the subtree asked for), a
    department admin its subtree, everyone else their own department. The period defaults to the
    last 30 days (Beijing dates)."""
    today = ctx.clock.now().astimezone(CHINA).date()
    end = end or today
    start = start or end - timedelta(days=29)
    own = await department_scope(ctx.store, actor)
    wanted = await subtree_codes(ctx.store, department) if department else None
    if own is None:
        departments = wanted
    else:
        departments = [code for code in (wanted if wanted is not None else own) if code in own]
    return await overview(ctx, workflows, departments=departments, start=start, end=end)
