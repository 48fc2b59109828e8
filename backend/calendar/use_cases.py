"""Writes for the holiday calendar: a year's table, loaded or replaced by an administrator."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from backend.auth.tokens import Principal
from backend.calendar.queries import table_out
from backend.calendar.schemas import HolidayTableIn
from backend.calendar.tables import StoredTable, check_year, checked_days, files_of, install
from backend.context import Context

log = logging.getLogger(__name__)


async def do_put_holiday_table(ctx: Context, year: int, data: HolidayTableIn, *, acting_user: Principal,
                               expected_version: int | None = None) -> dict[str, Any]:
    """Store ``year``'s table (``<data dir>/holidays/<year>.json``) and use it in this process at
    once; the other processes read it within ``calendar_reload_seconds``. Nothing is written when
    the input is not valid (YearOutOfRange 400, HolidayTableInvalid 422), when ``expected_version``
    (If-Match) is not the stored version (409), or when the days are the stored ones already.

    Deadlines computed before keep their due times: a table applies to the deadlines computed
    after it is loaded."""
    check_year(year)
    days = checked_days(year, data.days)
    files = files_of(ctx.settings.data_dir)
    proposed = StoredTable(year, days, updated_at=ctx.clock.stored(), updated_by=acting_user.user_id)
    saved = await asyncio.get_running_loop().run_in_executor(None, files.save, proposed, expected_version)
    install(files)
    if saved.updated_at == proposed.updated_at:
        log.info("holiday table for %d saved by %s: version %d, %d holidays, %d adjusted workdays", year,
                 acting_user.user_id, saved.version, sum(d["kind"] == "holiday" for d in days),
                 sum(d["kind"] == "workday" for d in days))
    return table_out(saved)
