"""Delegation (委托): a person away lets a named deputy act for them for a period.

Records live in ``delegations``: ``{"_id", "delegator", "deputy", "starts_at", "ends_at",
"revoked_at", "reason", ...}`` (written by the office's use cases). The kernel only reads them:
a guard that lets a signer act also lets the signer's deputy act, and the decision records both
(shown as "X 代 Y").
"""

from __future__ import annotations

from datetime import datetime

from backend.clock import to_storage
from backend.store.interface import DocumentStore

DELEGATIONS = "delegations"


async def delegators_of(store: DocumentStore, deputy: str, now: datetime) -> list[str]:
    """Everyone ``deputy`` may act for at ``now``."""
    moment = to_storage(now)
    docs = await store.collection(DELEGATIONS).find(
        {"deputy": deputy, "ends_at": {"$gt": moment}, "starts_at": {"$lte": moment}, "revoked_at": None},
        projection=["delegator"], limit=50)
    return sorted({doc["delegator"] for doc in docs})


async def acting_for(store: DocumentStore, actor: str, candidates: list[str], now: datetime) -> str | None:
    """Whom ``actor`` acts for among ``candidates``: themselves if they are one, else someone
    who delegated to them now; None if neither."""
    if actor in candidates:
        return actor
    if not candidates:
        return None
    mine = await delegators_of(store, actor, now)
    return next((candidate for candidate in candidates if candidate in mine), None)
