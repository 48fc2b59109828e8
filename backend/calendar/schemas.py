"""Request and response models of the holiday calendar."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from backend.schemas import ApiModel, ResponseModel

DayKind = Literal["holiday", "workday"]  # a day off, or an adjusted working day (调休上班)


class CalendarDayIn(ApiModel):
    date: dt.date
    kind: DayKind
    name: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None


class HolidayTableIn(ApiModel):
    """Every holiday and adjusted workday of one year; other dates follow Monday–Friday."""

    days: list[CalendarDayIn] = Field(min_length=1, max_length=366)


class CalendarDayOut(ResponseModel):
    date: str
    kind: DayKind
    name: str | None = None


class HolidayTableOut(ResponseModel):
    year: int
    source: Literal["table", "chinese_calendar", "none"]
    days: list[CalendarDayOut]
    version: int | None = None
    updated_at: str | None = None
    updated_by: str | None = None
