"""Counted slots, per process: at most ``limit`` holders of a key at once (concurrent uploads,
a client's WebSocket connections still waiting to authenticate)."""

from __future__ import annotations

from collections import Counter


class Slots:
    """Keys are held only in memory and never logged (one of them is a client address)."""

    def __init__(self) -> None:
        self._held: Counter[str] = Counter()

    def take(self, key: str, limit: int) -> bool:
        if self._held[key] >= limit:
            return False
        self._held[key] += 1
        return True

    def give_back(self, key: str) -> None:
        self._held[key] -= 1
        if self._held[key] <= 0:
            del self._held[key]  # an idle key leaves no trace

    def held(self, key: str) -> int:
        return self._held.get(key, 0)
