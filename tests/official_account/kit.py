"""The Official Account's part of the test kit: its configuration is the admin's."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit


async def make(harness: Any, citizen: Any) -> dict[str, str]:
    return {"kind": "welcome"}


KIT = Kit(make=make)
