"""Periodic jobs run inside the serving process (electronic supervision, clean-ups)."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from backend.tasks import raise_if_cancelling

log = logging.getLogger(__name__)


async def run_every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    """Owned background task: run ``job`` now and then every ``seconds`` until cancelled; a
    failing run is logged and the next one still happens."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            raise_if_cancelling()
            log.exception("periodic job %s failed", name)
        await asyncio.sleep(seconds)
