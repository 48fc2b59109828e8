"""(filled by its part): valid bodies per request model, and sample objects for its path parameters."""

from __future__ import annotations

from typing import Any

BODIES: dict[str, dict[str, Any]] = {}
OBJECT_PARAMS: frozenset[str] = frozenset()


async def make(harness: Any) -> dict[str, str]:
    return {}
