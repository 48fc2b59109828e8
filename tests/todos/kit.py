"""The to-dos' part of the test kit: a list is its reader's own."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit


async def make(harness: Any, citizen: Any) -> dict[str, str]:
    return {}


KIT = Kit(make=make)
