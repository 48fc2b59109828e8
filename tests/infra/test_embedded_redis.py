"""The embedded redis-server (backend/rediskit/embedded.py): a managed child with a pid file.

Proves: start/stop; data kept across a restart in the same data directory (AOF); a stale server from
a crashed run is stopped at start and its data taken over; a pid file naming someone else is left
alone; a kill -9 of the owning process takes its redis-server with it (PR_SET_PDEATHSIG); a second
process uses a live owner's server and never stops it; the supervisor restarts a killed server, and
an attached process takes over when the owner is gone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from backend.rediskit.embedded import EmbeddedRedis, find_redis_server
from backend.rediskit.supervisor import RedisSupervisor
from tests.faults.conftest import eventually
from tests.infra.procs import ROOT, alive, child_env, kill_quietly, read_line, redis_servers_under, wait_until

pytestmark = pytest.mark.timeout(60)

# A crashed app: starts the embedded server, writes a key, prints the server's pid, then hangs.
OWNER = """
import asyncio, sys
from pathlib import Path
import redis.asyncio as aioredis
from backend.rediskit.embedded import EmbeddedRedis

async def main():
    server = EmbeddedRedis(Path(sys.argv[1]))
    await server.start()
    client = aioredis.from_url(server.url)
    await client.set("written-before-crash", "yes")
    await client.aclose()
    print(server.process.pid, flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def connect(url: str) -> aioredis.Redis:
    """A client that fails within seconds instead of waiting forever on a server that does not answer."""
    return aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


async def get(url: str, key: str) -> Any:
    client = connect(url)
    try:
        return await client.get(key)
    finally:
        await client.aclose()


async def set_(url: str, key: str, value: str) -> None:
    client = connect(url)
    try:
        await client.set(key, value)
    finally:
        await client.aclose()


def start_owner(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A python child that owns an embedded server in ``data_dir``; returns it and the server's pid."""
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(data_dir)], cwd=ROOT, env=child_env(),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, bufsize=0)
    try:
        redis_pid = int(read_line(owner, timeout=30))
    except BaseException:
        kill_quietly(owner)
        raise
    return owner, redis_pid


def start_unmanaged(directory: Path) -> subprocess.Popen[bytes]:
    """redis-server launched directly (no PR_SET_PDEATHSIG, own session), as a crashed run's
    survivor would be: same socket, pid file and AOF as EmbeddedRedis uses in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [find_redis_server(), "--port", "0", "--unixsocket", str(directory / "redis.sock"),
         "--unixsocketperm", "700", "--dir", str(directory), "--pidfile", str(directory / "redis.pid"),
         "--appendonly", "yes", "--save", "", "--daemonize", "no", "--loglevel", "warning",
         "--logfile", str(directory / "unmanaged.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def ready() -> bool:
        try:
            return (directory / "redis.pid").read_text().strip() == str(proc.pid) and bool(
                redis.Redis(unix_socket_path=str(directory / "redis.sock"), socket_timeout=1).ping())
        except (OSError, ValueError, redis.RedisError):
            return False

    if not wait_until(ready, 10):
        kill_quietly(proc)
        raise AssertionError("the unmanaged redis-server did not come up")
    return proc


async def test_start_answers_and_stop_leaves_nothing(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    began = time.monotonic()
    await server.start()
    started = time.monotonic() - began
    assert server.process is not None
    pid = server.process.pid
    try:
        assert server.url == f"unix://{server.socket}"
        assert server.pidfile.read_text().strip() == str(pid)
        assert server.socket.stat().st_mode & 0o777 == 0o600  # only the app's user may connect
        assert await get(server.url, "nothing") is None
        assert redis_servers_under(tmp_path) == [pid]
    finally:
        began = time.monotonic()
        await server.stop()
        stopped = time.monotonic() - began
    print(f"\nembedded redis: start {started * 1000:.0f} ms, stop {stopped * 1000:.0f} ms")
    assert not alive(pid)
    assert redis_servers_under(tmp_path) == []
    assert not server.socket.exists() and not server.pidfile.exists()
    await server.stop()  # a second stop is harmless


async def test_data_persists_across_restart_in_the_same_directory(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path)
    await first.start()
    try:
        await set_(first.url, "kept", "across restarts 跨重启")
        client = connect(first.url)
        entry_id = await client.xadd("yzt:events", {"event": "x"})
        await client.aclose()
    finally:
        await first.stop()

    second = EmbeddedRedis(tmp_path)
    await second.start()
    try:
        assert (await get(second.url, "kept")).decode() == "across restarts 跨重启"
        client = connect(second.url)
        entries: Any = await client.xrange("yzt:events")
        assert [eid for eid, _ in entries] == [entry_id]
        await client.aclose()
    finally:
        await second.stop()


@pytest.mark.slow
async def test_stale_server_from_a_crashed_run_is_stopped_and_taken_over(tmp_path: Path) -> None:
    stale = start_unmanaged(tmp_path / "redis")
    server = EmbeddedRedis(tmp_path)
    try:
        await set_(server.url, "written-by-stale", "yes")
        await server.start()
        assert stale.wait(timeout=5) == 0  # stopped (SIGTERM: a clean shutdown that flushed the AOF)
        assert server.process is not None and server.process.pid != stale.pid
        assert server.pidfile.read_text().strip() == str(server.process.pid)
        assert redis_servers_under(tmp_path) == [server.process.pid]
        assert await get(server.url, "written-by-stale") == b"yes"
    finally:
        await server.stop()
        kill_quietly(stale)
    assert redis_servers_under(tmp_path) == []


async def test_pid_file_naming_another_process_is_left_alone(tmp_path: Path) -> None:
    """A pid from a crashed run may have been reused: only our own server may be stopped."""
    bystander = subprocess.Popen(["sleep", "30"])
    other_redis = start_unmanaged(tmp_path / "elsewhere" / "redis")  # another app's server
    server = EmbeddedRedis(tmp_path)
    try:
        for pid_text in (str(bystander.pid), str(other_redis.pid), "not a pid", ""):
            server.dir.mkdir(parents=True, exist_ok=True)
            server.pidfile.write_text(pid_text)
            await server.start()
            assert await get(server.url, "x") is None
            await server.stop()
            assert bystander.poll() is None, "an unrelated process was killed"
            assert other_redis.poll() is None, f"another app's redis-server was stopped (pid file {pid_text!r})"
    finally:
        await server.stop()
        kill_quietly(bystander)
        kill_quietly(other_redis)


@pytest.mark.slow
async def test_kill_9_of_the_owner_leaves_no_orphan_and_loses_no_data(tmp_path: Path) -> None:
    owner, redis_pid = start_owner(tmp_path)
    try:
        assert alive(redis_pid)
        killed = time.monotonic()
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=5)
        gone = wait_until(lambda: not alive(redis_pid), timeout=2)
        print(f"\nredis-server gone {(time.monotonic() - killed) * 1000:.0f} ms after kill -9 of its owner")
        assert gone, f"redis-server {redis_pid} outlived its owner"
        assert redis_servers_under(tmp_path) == []
    finally:
        kill_quietly(owner)
        if alive(redis_pid):
            os.kill(redis_pid, signal.SIGKILL)

    server = EmbeddedRedis(tmp_path)  # the next run starts cleanly and finds the data
    await server.start()
    try:
        assert await get(server.url, "written-before-crash") == b"yes"
    finally:
        await server.stop()


@pytest.mark.slow
async def test_restart_right_after_kill_9_of_the_owner(tmp_path: Path) -> None:
    """A supervisor restarts at once: the old server may still be shutting down."""
    owner, redis_pid = start_owner(tmp_path)
    server = EmbeddedRedis(tmp_path)
    try:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=5)
        await server.start()
        assert not alive(redis_pid)
        assert server.process is not None
        assert redis_servers_under(tmp_path) == [server.process.pid]
        assert await get(server.url, "written-before-crash") == b"yes"
    finally:
        await server.stop()
        kill_quietly(owner)
        if alive(redis_pid):
            os.kill(redis_pid, signal.SIGKILL)


# --- sharing one data directory's server, and supervision ----------------------------------------

async def test_open_uses_a_live_owners_server_and_never_stops_it(tmp_path: Path) -> None:
    """What ``yzt init-demo`` does beside ``yzt serve``: the owner's server is used, not replaced."""
    owner, redis_pid = start_owner(tmp_path)
    other = EmbeddedRedis(tmp_path)
    try:
        await other.open()
        assert not other.owned and other.process is None and other.pid == redis_pid
        assert await get(other.url, "written-before-crash") == b"yes"
        with pytest.raises(RuntimeError, match="another process owns"):
            await other.start()
        await other.close()
        assert alive(redis_pid) and redis_servers_under(tmp_path) == [redis_pid]
    finally:
        await other.close()
        kill_quietly(owner)


async def test_supervisor_restarts_a_killed_server_with_its_data(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = EmbeddedRedis(tmp_path)
    await server.open()
    watcher = asyncio.get_running_loop().create_task(RedisSupervisor(server).watch())
    try:
        assert server.owned and server.process is not None
        first = server.process.pid
        await set_(server.url, "kept", "yes")
        killed = time.monotonic()
        os.kill(first, signal.SIGKILL)

        async def back() -> bool:
            return server.pid not in (None, first) and await server._answers()
        await eventually(back, 10, "the supervisor starts the server again")
        print(f"\nembedded redis: answering again {(time.monotonic() - killed) * 1000:.0f} ms after kill -9")
        assert redis_servers_under(tmp_path) == [server.pid]
        assert await get(server.url, "kept") == b"yes"  # the AOF was written before the reply
        assert any("was killed by SIGKILL" in r.getMessage() for r in caplog.records)
        assert any("is back" in r.getMessage() for r in caplog.records)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await server.close()
    assert redis_servers_under(tmp_path) == []


async def test_an_attached_process_takes_over_when_the_owner_dies(tmp_path: Path) -> None:
    owner, redis_pid = start_owner(tmp_path)
    attached = EmbeddedRedis(tmp_path)
    watcher = None
    try:
        await attached.open()
        watcher = asyncio.get_running_loop().create_task(RedisSupervisor(attached).watch())
        os.kill(owner.pid, signal.SIGKILL)  # its server goes with it (PR_SET_PDEATHSIG)
        owner.wait(timeout=5)

        async def taken_over() -> bool:
            return attached.owned and attached.process is not None and await attached._answers()
        await eventually(taken_over, 10, "the attached process starts its own server")
        assert not alive(redis_pid) and redis_servers_under(tmp_path) == [attached.pid]
        assert await get(attached.url, "written-before-crash") == b"yes"
    finally:
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        await attached.close()
        kill_quietly(owner)
    assert redis_servers_under(tmp_path) == []
