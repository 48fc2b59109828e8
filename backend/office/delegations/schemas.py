"""Request and response models of delegations."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import AwareDatetime, StringConstraints, model_validator

from backend.schemas import ApiModel, ResponseModel

MAX_DAYS = 90


class DelegationIn(ApiModel):
    deputy: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{20}$")]
    starts_at: AwareDatetime  # ISO 8601 with its offset, e.g. 2026-12-07T08:00:00+08:00
    ends_at: AwareDatetime
    reason: Annotated[str, StringConstraints(min_length=2, max_length=200)] | None = None

    @model_validator(mode="after")
    def a_period(self) -> "DelegationIn":
        if self.ends_at <= self.starts_at:
            raise ValueError("委托结束时间须晚于开始时间")
        if self.ends_at - self.starts_at > timedelta(days=MAX_DAYS):
            raise ValueError(f"一次委托不能超过 {MAX_DAYS} 天")
        return self


class DelegationOut(ResponseModel):
    id: str
    delegator: str
    deputy: str
    starts_at: str
    ends_at: str
    active: bool


class DelegationListOut(ResponseModel):
    items: list[DelegationOut]
    next_cursor: str | None

