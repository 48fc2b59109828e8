"""``yzt serve --processes N``: N children share one listening socket (and one Redis).

The parent binds the socket and opens the embedded Redis (when no URL is set: the data
directory's running server, or its own), forks the children, and supervises both in one wait:
a child that exits is replaced, a redis-server that exits is started again by the same
``RedisSupervisor`` that single-process ``yzt serve`` uses. On SIGTERM/SIGINT it stops the
children, then its Redis (only if it started it). Children die with the parent
(PR_SET_PDEATHSIG), so a kill -9 of the parent leaves no orphan serving stale code.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import time

import tornado.netutil

from backend.config import Settings
from backend.rediskit.embedded import EmbeddedRedis, wait_for_exits
from backend.rediskit.supervisor import RedisSupervisor

log = logging.getLogger(__name__)

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def run_processes(settings: Settings) -> None:
    count = settings.processes or os.cpu_count() or 1
    from backend.app import metrics_listener  # noqa: PLC0415 - avoids an import cycle at module load

    sockets = tornado.netutil.bind_sockets(settings.port, settings.host, reuse_port=False)
    metrics_sockets = metrics_listener(settings)
    embedded = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = EmbeddedRedis(settings.data_dir)
        asyncio.run(embedded.open())
        redis_url = embedded.url
    supervisor = RedisSupervisor(embedded) if embedded is not None else None
    children: dict[int, tuple[int, float]] = {}  # pid → (index, started at)
    respawns: dict[int, float] = {}  # index → when to start its replacement
    quick_failures: dict[int, int] = {}
    stopping = False

    def spawn(index: int) -> None:
        # A stop arriving between the fork and the bookkeeping would miss the new child: hold it off.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                _child(settings, sockets, metrics_sockets, redis_url)
            children[pid] = (index, time.monotonic())
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        respawns.clear()  # a replacement not yet started is never started
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(count):
        spawn(index)
    log.info("yzt serving with %s processes on http://%s:%s", count, settings.host, settings.port)
    while children or (respawns and not stopping):
        for index, at in list(respawns.items()):
            if at <= time.monotonic() and not stopping:
                del respawns[index]
                spawn(index)
        redis_pid = embedded.pid if embedded is not None and not stopping else None
        # Waiting for a replacement's time, wake at least twice a second: a stop meanwhile ends the wait.
        timeout = min(0.5, max(0.0, min(respawns.values()) - time.monotonic())) if respawns else None
        for pid in wait_for_exits([*children, *([redis_pid] if redis_pid else [])], timeout=timeout):
            if pid == redis_pid:
                assert embedded is not None and supervisor is not None
                status = embedded.reap()
                if not stopping:  # the children reconnect to the same socket
                    asyncio.run(supervisor.restart(status, pid))
                continue
            _, status = os.waitpid(pid, 0)
            entry = children.pop(pid, None)
            if entry is not None and not stopping:
                index, started = entry
                # A child that keeps failing at start is retried ever more slowly, up to 30 s apart.
                quick_failures[index] = quick_failures.get(index, 0) + 1 if time.monotonic() - started < 5 else 0
                delay = min(30.0, 0.5 * 2 ** quick_failures[index])
                log.warning("process %s exited (status %s); starting a new one in %.1f s", pid, status, delay)
                respawns[index] = time.monotonic() + delay
    if embedded is not None:
        asyncio.run(embedded.close())


def _child(settings: Settings, sockets: list, metrics_sockets: list, redis_url: str) -> None:  # pragma: no cover - runs in a fork
    from backend.app import serve  # noqa: PLC0415 - avoids an import cycle at module load

    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked by the parent around the fork
    code = 0
    try:
        asyncio.run(serve(settings, sockets=sockets, metrics_sockets=metrics_sockets, redis_url=redis_url))
    except BaseException:  # noqa: BLE001 - a child must exit, never return into the parent's loop
        log.exception("serving process failed")
        code = 1
    os._exit(code)
