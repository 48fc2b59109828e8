"""The data directory stops taking writes: the store's files become read-only, or the disk is full.

The tests run as root, for whom ``chmod`` stops nothing, so the faults are real ones root cannot
write through: the immutable attribute (``chattr +i``) on the SQLite file and its WAL, and a
small tmpfs filled to the last byte. Writes get a clear 503 (``unavailable``), reads go on, and
once the fault is gone writes work again and the store passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator

import aiohttp
import pytest
import tornado.netutil

from backend.app import http_server, make_app
from backend.bootstrap import bootstrap
from backend.rediskit.embedded import EmbeddedRedis
from backend.store.factory import SQLITE_FILENAME
from backend.wechat.fake_server import FakeWeChat
from tests.conftest import ApiClient, Harness, Response, make_settings
from tests.faults.conftest import integrity, letter, new_key, store_rows

pytestmark = pytest.mark.slow

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@asynccontextmanager
async def running_app(data_dir: Path, redis: EmbeddedRedis, fake: FakeWeChat) -> AsyncIterator[Harness]:
    settings = fake.apply(make_settings(data_dir, redis.url, fake.url))
    async with AsyncExitStack() as stack:
        ctx = await stack.enter_async_context(bootstrap(settings))
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = http_server(make_app(ctx), settings)
        server.add_sockets(sockets)
        stack.callback(server.stop)
        session = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)))
        yield Harness(ctx=ctx, client=ApiClient(f"http://127.0.0.1:{sockets[0].getsockname()[1]}", session),
                      wechat=fake)


def assert_unavailable(resp: Response) -> None:
    assert resp.status == 503, (resp.status, resp.body)
    assert resp.error_code == "unavailable", resp.body
    assert CHINESE.search(resp.body["error"]["message"]), resp.body


def chattr(flag: str, *paths: Path) -> None:
    """``chattr +i`` makes files immutable: not even root may write to them, through a descriptor
    opened before either, until ``chattr -i``."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True)
    if done.returncode != 0:
        if flag == "+i":
            pytest.skip(f"chattr +i is not possible here (needs CAP_LINUX_IMMUTABLE): {done.stderr.strip()}")
        raise AssertionError(done.stderr)


@contextmanager
def small_tmpfs(path: Path, size: str = "4m") -> Iterator[Path]:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path) -> Path:
    """Write a file until the file system has no byte left; removing it frees the space."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        chunk = b"\0" * 65536
        while True:
            try:
                os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                if len(chunk) == 1:
                    break
                chunk = chunk[: len(chunk) // 16 or 1]
    finally:
        os.close(fd)
    return filler


async def writes_fail_reads_work(app: Harness, break_disk: Callable[[], object], repair: Callable[[], None]) -> None:
    """The common scenario; ``break_disk`` makes the fault, ``repair`` removes it."""
    center = await app.staff("center")
    citizen = await app.citizen("disk")
    first = await citizen.post("/mp/v1/letters", letter(0))
    assert first.status == 201, first.body
    letter_id = first.body["id"]
    data_dir = app.ctx.settings.data_dir
    key = new_key()

    break_disk()
    try:
        # Writes: a clear 503, for a citizen's create (with or without a key) and a staff transition.
        assert_unavailable(await citizen.post("/mp/v1/letters", letter(1), headers={"Idempotency-Key": key}))
        assert_unavailable(await citizen.post("/mp/v1/letters", letter(2)))
        assert_unavailable(await center.post(f"/api/v1/letters/{letter_id}/dispatch", {"lead_department": "qd-env"}))
        # Reads keep working and show nothing half-done.
        for path in ("/api/v1/me", "/api/v1/letters", f"/api/v1/letters/{letter_id}"):
            resp = await center.get(path)
            assert resp.status == 200, (path, resp.status, resp.body)
        mine = await citizen.get("/mp/v1/letters")
        assert mine.status == 200 and [item["id"] for item in mine.body["items"]] == [letter_id], mine.body
        assert (await citizen.get(f"/mp/v1/letters/{letter_id}")).body["state"] == "submitted"
        health = await app.client.get("/healthz")
        assert health.status == 200 and health.body["parts"]["store"] == "ok", health.body
    finally:
        repair()

    # Writable again: the same request (same key) now succeeds once, the transition goes through.
    retried = await citizen.post("/mp/v1/letters", letter(1), headers={"Idempotency-Key": key})
    assert retried.status == 201, retried.body
    replay = await citizen.post("/mp/v1/letters", letter(1), headers={"Idempotency-Key": key})
    assert replay.status == 201 and replay.body["id"] == retried.body["id"]
    dispatched = await center.post(f"/api/v1/letters/{letter_id}/dispatch", {"lead_department": "qd-env"})
    assert dispatched.status == 200, dispatched.body
    assert integrity(data_dir) == "ok"
    titles = sorted(title for (title,) in store_rows(data_dir, "SELECT json_extract(doc, '$.title') FROM letters"))
    assert titles == sorted([letter(0)["title"], letter(1)["title"]])


async def test_read_only_store_files_give_503_and_recover(
        tmp_path: Path, redis_server: EmbeddedRedis, fake_wechat: FakeWeChat, demo_data_dir: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_data_dir, data_dir)
    db = data_dir / SQLITE_FILENAME
    files = (db, db.with_name(db.name + "-wal"))  # not -shm: it is memory-mapped (SIGBUS, not an error)
    try:
        async with running_app(data_dir, redis_server, fake_wechat) as app:
            await writes_fail_reads_work(app, lambda: chattr("+i", *files), lambda: chattr("-i", *files))
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], capture_output=True)  # whatever happened
    assert integrity(data_dir) == "ok"


async def test_full_disk_gives_503_and_recovers(
        tmp_path: Path, redis_server: EmbeddedRedis, fake_wechat: FakeWeChat, demo_data_dir: Path) -> None:
    with small_tmpfs(tmp_path / "small") as mount:
        data_dir = mount / "data"
        shutil.copytree(demo_data_dir, data_dir)
        fillers: list[Path] = []

        def free_space() -> None:
            for filler in fillers:
                filler.unlink()

        async with running_app(data_dir, redis_server, fake_wechat) as app:
            await writes_fail_reads_work(app, lambda: fillers.append(fill(mount)), free_space)
        assert integrity(data_dir) == "ok"
