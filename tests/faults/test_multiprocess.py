"""``yzt serve --processes 2``: two serving children share the socket, the store and one Redis.

To know which child answers, the test freezes the other one (SIGSTOP; never while it holds the
SQLite write lock) and sends each request on a new connection: the running child accepts it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest

from backend.store.factory import SQLITE_FILENAME
from backend.wechat.fake_server import FakeWeChat
from tests.conftest import ApiClient
from tests.faults.conftest import (
    Server,
    alive,
    children_of,
    citizen_token,
    cmdline,
    eventually,
    fake_settings,
    letter,
    new_key,
    redis_servers_under,
    staff_token,
)

pytestmark = pytest.mark.slow


def serving_children(parent: int) -> list[int]:
    """The forked serving processes (the embedded redis-server is the parent's child too)."""
    return sorted(pid for pid in children_of(parent) if b"backend.cli" in cmdline(pid))


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]


def holds_write_lock(db: Path) -> bool:
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


@asynccontextmanager
async def frozen(pid: int, db: Path) -> AsyncIterator[None]:
    """``pid`` stopped (SIGSTOP) for the block, caught outside any write transaction."""
    for _attempt in range(200):
        os.kill(pid, signal.SIGSTOP)
        await eventually(lambda: state(pid) == "T", 2, f"process {pid} stopped", interval=0.002)
        if not holds_write_lock(db):
            break
        os.kill(pid, signal.SIGCONT)
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"process {pid} never let go of the SQLite write lock")
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def test_two_processes_share_the_work_and_stop_cleanly(
        tmp_path: Path, fake_wechat: FakeWeChat, demo_data_dir: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_data_dir, data_dir)
    db = data_dir / SQLITE_FILENAME
    server = Server(fake_settings(data_dir, fake_wechat), processes=2).start()
    try:
        await server.wait_ready()
        await eventually(lambda: len(serving_children(server.pid)) == 2, 10, "two serving processes")
        first, second = serving_children(server.pid)
        redis_pids = redis_servers_under(data_dir)
        assert len(redis_pids) == 1, redis_pids  # one Redis, started by the parent

        # A new connection per request, so that the running process is the one that answers.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True),
                                         timeout=aiohttp.ClientTimeout(total=20)) as session:
            api = ApiClient(server.base, session)

            async def answers() -> bool:
                try:
                    return (await api.get("/healthz")).status == 200
                except aiohttp.ClientError:
                    return False

            for running, paused in ((first, second), (second, first)):
                async with frozen(paused, db):
                    await eventually(answers, 30, f"process {running} serves on its own")

            center = api.as_(await staff_token(api, "center"))
            citizen = api.as_(await citizen_token(api, fake_wechat, "multi"))

            # Many requests with both processes running: all succeed.
            reads = await asyncio.gather(*(center.get("/api/v1/me") for _ in range(60)))
            assert all(resp.status == 200 for resp in reads), {resp.status for resp in reads}

            async def submit(n: int) -> str:
                resp = await citizen.post("/mp/v1/letters", letter(n), headers={"Idempotency-Key": new_key()})
                assert resp.status == 201, resp.body
                return resp.body["tracking_no"]

            tracking = list(await asyncio.gather(*(submit(n) for n in range(30))))
            # Then from each process alone.
            for running, paused in ((first, second), (second, first)):
                async with frozen(paused, db):
                    tracking += await asyncio.gather(*(submit(100 + n) for n in range(10)))
            assert len(set(tracking)) == len(tracking) == 50, sorted(tracking)
            listed = await center.get("/api/v1/letters", params={"limit": 100})
            assert listed.status == 200 and len(listed.body["items"]) == 50

            # A logout in one process holds in the other within ~2 s.
            housing = api.as_(await staff_token(api, "housing"))
            async with frozen(first, db):
                assert (await housing.get("/api/v1/me")).status == 200  # the second process accepts it
            async with frozen(second, db):
                assert (await housing.post("/api/v1/auth/logout")).status == 204  # logged out in the first
                assert (await housing.get("/api/v1/me")).status == 401
            async with frozen(first, db):
                resumed = time.monotonic()

                async def rejected() -> bool:
                    return (await housing.get("/api/v1/me")).status == 401
                await eventually(rejected, 2, "the revocation reaches the second process")
                revocation_s = time.monotonic() - resumed

            # kill -9 of one child: the other keeps serving, the parent starts a replacement.
            os.kill(first, signal.SIGKILL)
            killed_at = time.monotonic()
            during = await asyncio.gather(*(api.get("/healthz") for _ in range(20)))
            assert all(resp.status == 200 for resp in during)
            def replaced() -> bool:
                pids = serving_children(server.pid)
                return len(pids) == 2 and first not in pids
            await eventually(replaced, 10, "the parent replaces the killed process")
            replacement = next(pid for pid in serving_children(server.pid) if pid != second)
            async with frozen(second, db):
                await eventually(answers, 30, "the replacement serves")
                assert (await submit(200)) not in tracking
            replaced_s = time.monotonic() - killed_at
        # SIGTERM to the parent stops everything: children, Redis, itself.
        stopping = time.monotonic()
        assert server.terminate(timeout=20) == 0, server.log_tail()
        stop_s = time.monotonic() - stopping
        for pid in (second, replacement, *redis_pids):
            await eventually(lambda pid=pid: not alive(pid), 5, f"process {pid} has ended")
        assert redis_servers_under(data_dir) == []
        assert alive(first) is False
        print(f"\nrevocation seen by the other process after {revocation_s * 1000:.0f} ms; "
              f"killed child replaced and serving after {replaced_s:.2f} s; SIGTERM stop {stop_s:.2f} s")
    finally:
        server.cleanup()


async def test_a_stop_while_a_child_awaits_its_replacement_starts_no_new_one(
        tmp_path: Path, fake_wechat: FakeWeChat) -> None:
    data_dir = tmp_path / "data"
    server = Server(fake_settings(data_dir, fake_wechat), processes=2).start()
    try:
        await server.wait_ready()
        await eventually(lambda: len(serving_children(server.pid)) == 2, 10, "two serving processes")
        first, second = serving_children(server.pid)
        os.kill(first, signal.SIGKILL)
        await eventually(lambda: "starting a new one in" in server.log.read_text(), 10,
                         "the parent schedules a replacement", interval=0.005)
        # SIGTERM inside the replacement's delay (0.5 s): the replacement must never start.
        assert server.terminate(timeout=10) == 0
        assert serving_children(server.pid) == [] and not alive(second)
        assert redis_servers_under(data_dir) == []
    finally:
        server.cleanup()
