"""Time-sortable string IDs and human tracking numbers."""

from __future__ import annotations

import os
import random
import time

_last = 0
# Uniqueness, not secrecy: ids are not tokens. os.urandom per id cost ~20 µs on a request.
_random = random.Random()
os.register_at_fork(after_in_child=_random.seed)  # forked serving processes must not share a sequence


def new_id() -> str:
    """20 hex chars: 48-bit milliseconds, 32-bit random; sorts by creation time.

    Within one millisecond the counter part keeps ids increasing in this process.
    """
    global _last
    ms = int(time.time() * 1000)
    rand = _random.getrandbits(32)
    value = (ms << 32) | rand
    if value <= _last:
        value = _last + 1
    _last = value
    return f"{value:020x}"
