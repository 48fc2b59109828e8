"""Supervision's part of the test kit: the overview is scoped, not per object (tests/supervision)."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit


async def make(harness: Any, citizen: Any) -> dict[str, str]:
    return {}


KIT = Kit(make=make)
