"""Tuning of the push service. Defaults suit production; tests shrink the waits.

These are not yet ``YZT_*`` settings (``backend/config.py`` is the lead's): ``PushConfig.from_settings``
is the one place that will read them once they are.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from backend.config import Settings

# (tokens per second, burst) per channel. WeChat publishes daily caps, not per-second ones
# (WECHAT.md §4: subscribe 10M/day, template 100k/day); these keep a backlog from hammering it.
DEFAULT_RATES: dict[str, tuple[float, int]] = {
    "subscribe": (500.0, 1000),
    "template": (100.0, 200),
    "wecom": (200.0, 400),
}


@dataclass(frozen=True)
class PushConfig:
    channels: tuple[str, ...] = ("subscribe", "template", "wecom")
    workers_per_channel: int = 1
    event_batch: int = 100          # events read per XREADGROUP
    event_linger: float = 0.02      # after a small batch of events, wait this long to gather the next
    job_batch: int = 200            # jobs read per XREADGROUP on a channel stream
    concurrency: int = 64           # sends in flight per channel worker
    block_ms: int = 1000            # XREADGROUP BLOCK
    reclaim_interval: float = 15.0  # how often a worker looks for entries of dead workers
    min_idle_ms: int = 60_000       # XAUTOCLAIM: pending this long means the owner is gone
    send_lease_ms: int = 60_000     # how long a send may take before another worker may retry it
    retry_base: float = 2.0         # first backoff (s); doubles per attempt, with jitter
    retry_max: float = 600.0
    max_attempts: int = 6
    max_deliveries: int = 10        # an entry reclaimed more often than this is dead-lettered
    retry_poll: float = 1.0         # how often due retries are moved back onto the stream
    state_flush_interval: float = 0.2  # how often sent/failed states are written onto notifications
    rates: dict[str, tuple[float, int]] = field(default_factory=lambda: dict(DEFAULT_RATES))
    done_ttl: int = 7 * 86400       # how long send records keep redelivered entries from resending
    max_event_age: float = 86400.0  # older events (e.g. a backlog at first start) are not notified
    receipts_interval: float = 5.0
    receipts_lag: float = 2.0       # receipts younger than this wait for the next round (id order)
    miniprogram_state: str = "formal"

    @classmethod
    def from_settings(cls, settings: Settings) -> "PushConfig":
        return cls()

    def replace(self, **changes: Any) -> "PushConfig":
        return dataclasses.replace(self, **changes)

    def rate(self, channel: str) -> tuple[float, int]:
        return self.rates.get(channel, (100.0, 200))
