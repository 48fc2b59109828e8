"""The notification centre's part of the test kit: an inbox is its owner's (tests/push)."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit


async def make(harness: Any, citizen: Any) -> dict[str, str]:
    return {}


KIT = Kit(make=make)
