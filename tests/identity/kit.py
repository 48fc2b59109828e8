"""Identity's part of the test kit: departments and accounts are checked by permission and audience
(the grant ceiling has its own matrix in tests/security/test_role_grants.py)."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit


async def make(harness: Any, citizen: Any) -> dict[str, str]:
    return {"code": "qd-housing"}


KIT = Kit(make=make)
