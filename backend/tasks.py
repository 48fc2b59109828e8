"""Background tasks that catch errors and retry must still stop when they are cancelled."""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Re-raise a cancellation that a library turned into another exception (redis-py, which
    disconnects on cancel, may raise ConnectionError instead). Call it first in every handler
    of a retrying loop that catches errors wider than ``CancelledError``."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()
