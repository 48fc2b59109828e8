"""Request and response models of the supervision overview."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from backend.schemas import QueryModel, ResponseModel


class OverviewQuery(QueryModel):
    start: date | None = Field(None, alias="from", ge=date(2000, 1, 1), le=date(2099, 12, 31))
    end: date | None = Field(None, alias="to", ge=date(2000, 1, 1), le=date(2099, 12, 31))
    department: str | None = Field(None, min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")

    @model_validator(mode="after")
    def ordered(self) -> "OverviewQuery":
        if self.start and self.end and self.end < self.start:
            raise ValueError("结束日期不能早于开始日期")
        if self.start and self.end and (self.end - self.start).days > 366 * 3:
            raise ValueError("统计区间不能超过三年")
        return self


class OverviewRow(ResponseModel):
    module: str
    module_label: str
    department: str | None
    open: int
    normal: int
    yellow: int
    red: int
    overdue: int
    paused: int
    closed: int
    closed_on_time: int
    median_workdays: float | None


class OverviewOut(ResponseModel):
    items: list[OverviewRow]
    overview: OverviewRow
