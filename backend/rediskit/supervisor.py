"""Keeps the embedded redis-server running. One policy for both ways of serving:

- ``yzt serve`` in one process runs ``watch()`` as an owned task: it waits for the server in use
  to exit (a pidfd, no polling) and restarts it;
- the parent of ``yzt serve --processes N`` (``backend/multiprocess.py``) waits for its children
  and the server in one place and calls ``restart()`` when the server exited.

A restart is ``EmbeddedRedis.open()`` again: this process's own server, or the one another process
started meanwhile (when we were only attached to it and its owner stopped). Backoff: the first
restart waits ``first_delay``; each exit within ``stable_after`` seconds of the previous start
doubles the wait, up to ``max_delay``. Every exit and every return is logged.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from backend.rediskit.embedded import EmbeddedRedis
from backend.tasks import raise_if_cancelling

log = logging.getLogger(__name__)


class RedisSupervisor:
    def __init__(self, server: EmbeddedRedis, *, first_delay: float = 0.1, max_delay: float = 30.0,
                 stable_after: float = 30.0) -> None:
        self.server = server
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.restarts = 0
        self._quick_exits = 0
        self._started_at = time.monotonic()

    def _next_delay(self) -> float:
        if time.monotonic() - self._started_at < self.stable_after:
            self._quick_exits += 1
        else:
            self._quick_exits = 0
        return min(self.max_delay, self.first_delay * 2 ** self._quick_exits)

    async def restart(self, status: int | None, pid: int | None = None) -> None:
        """After the server in use exited (``status``: its exit status if it was our child):
        wait the backoff, then open it again, retrying with backoff until one answers."""
        exited_at = time.monotonic()
        delay = self._next_delay()
        log.error("embedded redis-server (pid %s) %s; starting it again in %.1f s", pid or "?", _how(status), delay)
        while True:
            await asyncio.sleep(delay)
            self._started_at = time.monotonic()
            try:
                await self.server.open()
            except Exception as exc:  # noqa: BLE001 - whatever stopped it, try again later
                raise_if_cancelling()
                delay = self._next_delay()
                log.error("embedded redis-server did not start (%s); next attempt in %.1f s", exc, delay)
                continue
            self.restarts += 1
            log.warning("embedded redis-server is back on %s (pid %s, %s) %.2f s after it exited",
                        self.server.socket, self.server.pid,
                        "started here" if self.server.process is not None else "another process's",
                        time.monotonic() - exited_at)
            return

    async def watch(self) -> None:
        """Owned task (one serving process): restart the server whenever it exits, until cancelled."""
        while True:
            pid = self.server.pid
            status = await self.server.wait_exited()
            await self.restart(status, pid)


def _how(status: int | None) -> str:
    if status is None:
        return "is gone"
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"
