"""Human tracking numbers: ``XJ-20261122-000123``, unique per prefix and Beijing day."""

from __future__ import annotations

from datetime import datetime

from backend.clock import CHINA
from backend.store.interface import DocumentStore

COUNTERS = "counters"


async def next_tracking_number(store: DocumentStore, prefix: str, now: datetime) -> str:
    day = now.astimezone(CHINA).strftime("%Y%m%d")
    counter = await store.collection(COUNTERS).find_one_and_update(
        {"_id": f"{prefix}:{day}"}, {"$inc": {"seq": 1}}, upsert=True)
    assert counter is not None
    return f"{prefix}-{day}-{counter['seq']:06d}"
