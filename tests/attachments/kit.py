"""Attachments' part of the test kit: uploads belong to their uploader (tests/files)."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit


async def make(harness: Any, citizen: Any) -> dict[str, str]:
    return {}


KIT = Kit(make=make)
