"""Reads for the holiday calendar: a year's table, and which years some deadline needs one for."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from chinese_calendar import constants as chinese_calendar_data

from backend.calendar.tables import StoredTable, check_year, files_of, install
from backend.clock import CHINA, from_storage
from backend.context import Context
from backend.workdays import calendar_covers, calendar_source

log = logging.getLogger(__name__)

_ZH_NAMES = {holiday.value: holiday.chinese for holiday in chinese_calendar_data.Holiday}
MAX_YEARS_CHECKED = 10


def table_out(table: StoredTable) -> dict[str, Any]:
    return {"year": table.year, "source": "table", "days": list(table.days), "version": table.version,
            "updated_at": table.updated_at, "updated_by": table.updated_by}


async def get_holiday_table(ctx: Context, year: int) -> dict[str, Any]:
    """The table in force for ``year``: the city's (read from the data directory now, so another
    process's save shows at once), else ``chinese_calendar``'s, else none (Monday–Friday)."""
    check_year(year)
    files = files_of(ctx.settings.data_dir)
    if await asyncio.get_running_loop().run_in_executor(None, files.scan):
        install(files)
    table = files.tables.get(year)
    if table is not None:
        return table_out(table)
    if calendar_source(year) == "chinese_calendar":
        days = [{"date": d.isoformat(), "kind": kind, "name": _ZH_NAMES.get(name, name)}
                for kind, source in (("holiday", chinese_calendar_data.holidays),
                                     ("workday", chinese_calendar_data.workdays))
                for d, name in source.items() if d.year == year]
        return {"year": year, "source": "chinese_calendar", "days": sorted(days, key=lambda d: d["date"]),
                "version": None, "updated_at": None, "updated_by": None}
    return {"year": year, "source": "none", "days": [], "version": None, "updated_at": None, "updated_by": None}


async def calendar_health(ctx: Context) -> dict[str, Any]:
    """The years that need a holiday table and have none (neither loaded nor in
    ``chinese_calendar``): the current year, the next one from 1 December (the State Council
    publishes the next year's arrangement in the autumn), and every year from the earliest to the
    latest due date of a running deadline. ``state`` is ``warning`` if any is missing."""
    today = ctx.clock.now().astimezone(CHINA).date()
    years = {today.year} | ({today.year + 1} if today.month == 12 else set())
    years |= await _running_deadline_years(ctx)
    missing = sorted(year for year in years if not calendar_covers(year))
    return {"state": "warning" if missing else "ok", "missing_years": missing, "checked_years": sorted(years)}


async def _running_deadline_years(ctx: Context) -> set[int]:
    from backend.modules import all_workflows  # noqa: PLC0415 - the module list imports this package

    first: date | None = None
    last: date | None = None
    for name in sorted({workflow.collection for workflow in all_workflows() if workflow.policies}):
        collection = ctx.store.collection(name)
        for order in (1, -1):  # the (deadline.running, deadline.due_at) index answers both
            found = await collection.find({"deadline.running": True}, sort=[("deadline.due_at", order)], limit=1,
                                          projection=["deadline"])
            if found:
                due = from_storage(found[0]["deadline"]["due_at"]).astimezone(CHINA).date()
                first = due if first is None or due < first else first
                last = due if last is None or due > last else last
    if first is None or last is None:
        return set()
    return set(range(first.year, min(last.year, first.year + MAX_YEARS_CHECKED - 1) + 1))
