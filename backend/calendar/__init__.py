"""Holiday calendar (节假日): the city's holiday tables, one per year, for the years
``chinese_calendar`` does not know yet (or to correct it). An administrator loads a year's
official arrangement (each holiday and each adjusted workday, 调休) through the API or as a file
in the data directory (``backend/calendar/tables.py`` describes both); every process uses it for
deadlines (``backend/workdays.py``) within ``YZT_CALENDAR_RELOAD_SECONDS``. ``/healthz`` and the
log warn about years a deadline falls in that have no table."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from backend.auth.permissions import Role
from backend.calendar.permissions import CalendarPermission
from backend.context import Context
from backend.registry import Module, Worker
from backend.tasks import raise_if_cancelling

log = logging.getLogger(__name__)


async def _setup(ctx: Context) -> None:
    from backend.calendar.tables import files_of, install  # noqa: PLC0415 - keeps the module list light

    files = files_of(ctx.settings.data_dir)
    await asyncio.get_running_loop().run_in_executor(None, files.scan)
    install(files)


async def _follow(ctx: Any) -> None:
    """Owned worker: the tables again whenever their files change, and a warning in the log
    whenever the years without a table change. At shutdown this process's tables are dropped."""
    from backend import workdays  # noqa: PLC0415
    from backend.calendar.queries import calendar_health  # noqa: PLC0415
    from backend.calendar.tables import files_of, forget, install  # noqa: PLC0415

    files = files_of(ctx.settings.data_dir)
    loop = asyncio.get_running_loop()
    warned: list[int] = []
    try:
        while True:
            try:
                if await loop.run_in_executor(None, files.scan):
                    install(files)
                missing = (await calendar_health(ctx))["missing_years"]
                if missing and missing != warned:
                    log.warning("no holiday table for %s, where deadlines fall or soon will: counting Monday-Friday "
                                "as working days there; load each year's table (PUT /api/v1/calendar/<year>)",
                                ", ".join(map(str, missing)))
                warned = missing
            except asyncio.CancelledError:
                raise
            except Exception:
                raise_if_cancelling()
                log.exception("holiday calendar: reading the tables failed; retrying")
            await asyncio.sleep(ctx.settings.calendar_reload_seconds)
    finally:
        workdays.set_holiday_tables([])
        forget(ctx.settings.data_dir)


MODULE = Module(name="calendar", label="节假日", setup=_setup, workers=(Worker("calendar-follow", _follow),),
                grants={Role.ADMIN: frozenset({CalendarPermission.STAFF_CALENDAR_MANAGE})})
