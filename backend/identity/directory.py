"""Department names by code, cached in the process for a short while.

``/me`` shows the department's name on every call and departments are renamed rarely, so a
rename may take up to ``ttl`` seconds to show; in exchange the hot path makes one store read.
"""

from __future__ import annotations

import time

from backend.store.interface import DocumentStore

DEPARTMENTS = "departments"


class DepartmentNames:
    def __init__(self, store: DocumentStore, ttl: float = 30.0) -> None:
        self._store = store
        self._ttl = ttl
        self._names: dict[str, tuple[float, str | None]] = {}

    async def get(self, code: str) -> str | None:
        cached = self._names.get(code)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        doc = await self._store.collection(DEPARTMENTS).find_one({"_id": code}, projection=["name"])
        name = doc["name"] if doc else None
        self._names[code] = (now + self._ttl, name)
        return name

    def forget(self, code: str) -> None:
        """This process changed the department: show the change at once here."""
        self._names.pop(code, None)
