"""The calendar's part of the test kit: a year's table is the admin's."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit


async def make(harness: Any, citizen: Any) -> dict[str, str]:
    return {"year": "2027"}


KIT = Kit(make=make)
