"""Time-sortable string IDs and human tracking numbers."""

from __future__ import annotations

import os
import time

_last = 0


def new_id() -> str:
    """20 hex chars: 48-bit milliseconds, 32-bit random; sorts by creation time.

    Within one millisecond the counter part keeps ids increasing in this process.
    """
    global _last
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(4), "big")
    value = (ms << 32) | rand
    if value <= _last:
        value = _last + 1
    _last = value
    return f"{value:020x}"
