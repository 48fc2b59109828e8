"""``Idempotency-Key`` on creates: a retried request returns the first result, creates nothing twice.

The first request claims the key (a pending record with a lease and a reserved object id);
the create uses the reserved id, so even a retry after a crash between the write and the
record's completion cannot create a second object: the store refuses the same ``_id`` and the
use case returns the object already there. The same key with a different body is refused (422).
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta
from typing import Any

from backend.clock import from_storage, now_stored, to_storage, utcnow
from backend.errors import Conflict, DuplicateKey, Unprocessable, ValidationFailed
from backend.ids import new_id
from backend.store.interface import Collection

# How long a claim stays "in progress". It only has to outlast a live request between claim and
# completion (the body is already in; creates take milliseconds, at worst a SQLite busy wait):
# a retry that takes over an expired lease while the first attempt still runs is harmless, since
# both use the reserved id. A longer lease only delays the retries after a crash (409 until it ends).
LEASE = timedelta(seconds=10)
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    message = "同一个 Idempotency-Key 已用于不同的请求内容"


class RequestInProgress(Conflict):
    code = "request_in_progress"
    message = "相同的请求正在处理中，请稍后重试"

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__()
        self.retry_after = retry_after  # rendered as Retry-After: when the lease ends


class Claim:
    """The outcome of ``claim``: either a stored response to replay, or a fresh reserved id."""

    def __init__(self, record: dict[str, Any], replay: bool) -> None:
        self.record = record
        self.replay = replay

    @property
    def reserved_id(self) -> str:
        return self.record["reserved_id"]


class IdempotencyStore:
    def __init__(self, collection: Collection) -> None:
        self._records = collection

    async def claim(self, *, scope: str, key: str, body_hash: str) -> Claim:
        """``body_hash``: sha256 hex of the request body (taken while it streamed in)."""
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
            raise ValidationFailed("Idempotency-Key 无效", details={"fields": [
                {"field": "Idempotency-Key", "message": f"长度应为 1 到 {MAX_KEY_LENGTH} 个可打印字符"}]})
        record_id = hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()
        fresh = {"_id": record_id, "body_hash": body_hash, "state": "pending", "reserved_id": new_id(),
                 "lease_until": to_storage(utcnow() + LEASE), "created_at": now_stored()}
        for _attempt in range(3):
            try:  # the common case, a new key, costs one write
                return Claim(await self._records.insert_one(fresh), replay=False)
            except DuplicateKey:
                pass
            record = await self._records.find_one({"_id": record_id})
            if record is None:
                continue  # released and removed meanwhile: claim it afresh
            if record["body_hash"] != body_hash:
                raise IdempotencyKeyReused()
            if record["state"] == "done":
                return Claim(record, replay=True)
            if record["lease_until"] > now_stored():
                left = (from_storage(record["lease_until"]) - utcnow()).total_seconds()
                raise RequestInProgress(retry_after=max(1, math.ceil(left)))
            taken = await self._records.find_one_and_update(
                {"_id": record_id, "state": "pending", "lease_until": record["lease_until"]},
                {"$set": {"lease_until": to_storage(utcnow() + LEASE)}})
            if taken is not None:
                return Claim(taken, replay=False)
        raise RequestInProgress()

    async def complete(self, claim: Claim, status: int, response: bytes) -> None:
        await self._records.update_one({"_id": claim.record["_id"]}, {"$set": {
            "state": "done", "status": status, "response": response.decode(), "completed_at": now_stored()}})

    async def release(self, claim: Claim) -> None:
        """The request failed: let a retry run it again (with the same reserved id)."""
        await self._records.update_one({"_id": claim.record["_id"], "state": "pending"},
                                       {"$set": {"lease_until": now_stored()}})
