"""The holiday calendar for administrators: a year's table of holidays and adjusted workdays."""

from __future__ import annotations

from typing import Any

from backend.calendar import queries, use_cases
from backend.calendar.permissions import CalendarPermission
from backend.calendar.schemas import HolidayTableIn, HolidayTableOut
from backend.http.endpoint import endpoint
from backend.http.routes import Route
from handlers.base import StaffHandler

TAGS = ("calendar",)


class CalendarYearHandler(StaffHandler):
    @endpoint(permission=CalendarPermission.STAFF_CALENDAR_MANAGE, summary="某年的节假日表（城市载入的、chinese_calendar 的，或没有）",
              response=HolidayTableOut, errors=(400,), tags=TAGS)
    async def get(self, year: str) -> dict[str, Any]:
        return await queries.get_holiday_table(self.ctx, int(year))

    @endpoint(permission=CalendarPermission.STAFF_CALENDAR_MANAGE, summary="载入或替换某年的节假日表（放假日与调休上班日）",
              body=HolidayTableIn, response=HolidayTableOut, errors=(400, 409, 422), tags=TAGS)
    async def put(self, year: str) -> dict[str, Any]:
        return await use_cases.do_put_holiday_table(self.ctx, int(year), self.body, acting_user=self.principal,
                                                    expected_version=self.if_match_version())


ROUTES = [Route(r"/api/v1/calendar/(?P<year>[0-9]{4})", CalendarYearHandler)]
