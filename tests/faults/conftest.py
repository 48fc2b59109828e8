"""Fault-injection helpers: ``yzt serve`` as a real child process on loopback (its own data
directory, embedded Redis, the fake WeChat server of the test process), process look-ups in
/proc, bounded waits, and the letter every fault test submits."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp
import orjson

from backend.config import Settings
from backend.store.factory import SQLITE_FILENAME
from backend.wechat.fake_server import FakeWeChat
from tests.conftest import ApiClient, make_settings
from tests.infra.procs import alive, children_of, free_port, redis_servers_under  # noqa: F401 - used by the tests

ROOT = Path(__file__).resolve().parents[2]

LETTER = {
    "type": "complain", "title": "小区夜间施工噪音扰民",
    "content": "我家附近工地每天夜间施工到凌晨两点，噪音严重影响休息，请尽快处理。",
    "addressee": {"kind": "mayor"},
}


def letter(n: int) -> dict[str, Any]:
    """The n-th letter of a burst (same text, numbered title)."""
    return {**LETTER, "title": f"{LETTER['title']}（{n}）"}


def new_key() -> str:
    return f"fault-{uuid.uuid4()}"


# --- processes -------------------------------------------------------------------------------

def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float, what: str,
                     interval: float = 0.05) -> None:
    """Wait until ``check()`` is true, at most ``timeout`` seconds (AssertionError naming ``what``)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(interval)


def server_env(settings: Settings) -> dict[str, str]:
    """The environment of a ``yzt serve`` child: no inherited ``YZT_*``, these settings instead
    (empty ``YZT_REDIS_URL``: the server embeds its own redis-server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YZT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update({
        "YZT_DATA_DIR": str(settings.data_dir), "YZT_REDIS_URL": "", "YZT_LOG_LEVEL": "warning",
        "YZT_JWT_SECRET": settings.jwt_secret,
        "YZT_WECHAT_API_BASE": settings.wechat_api_base, "YZT_WECOM_API_BASE": settings.wecom_api_base,
        "YZT_OA_APPID": settings.oa_appid, "YZT_OA_SECRET": settings.oa_secret, "YZT_OA_TOKEN": settings.oa_token,
        "YZT_OA_AES_KEY": settings.oa_aes_key, "YZT_MP_APPID": settings.mp_appid,
        "YZT_MP_SECRET": settings.mp_secret, "YZT_WECOM_CORPID": settings.wecom_corpid,
        "YZT_WECOM_SECRET": settings.wecom_secret, "YZT_WECOM_AGENTID": settings.wecom_agentid,
    })
    return env


def fake_settings(data_dir: Path, fake: FakeWeChat) -> Settings:
    """Settings pointed at the fake WeChat server (its apps registered there)."""
    return fake.apply(make_settings(data_dir, "", fake.url))


class Server:
    """``python -m backend.cli serve`` as a child process; its output goes to ``log``."""

    def __init__(self, settings: Settings, *, port: int | None = None, processes: int = 1,
                 env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.env = env or {}  # more YZT_* settings for the child
        self.port = port or free_port()
        self.processes = processes
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = Path(settings.data_dir).parent / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> "Server":
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--processes", str(self.processes)],
                cwd=ROOT, env={**server_env(self.settings), **self.env}, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT)
        return self

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Until ``/healthz`` answers 200 (AssertionError with the log if the process dies)."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
            while True:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise AssertionError(f"yzt serve exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    async with session.get(self.base + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as resp:
                        if resp.status == 200:
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"yzt serve not ready within {timeout} s:\n{self.log_tail()}")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """kill -9, and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; the exit status (AssertionError naming what is still running, with the log)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            running = [f"{pid} {cmdline(pid).replace(bytes(1), b' ').decode(errors='replace')}"
                       for pid in [self.proc.pid, *children_of(self.proc.pid)]]
            raise AssertionError(f"yzt serve still running {timeout} s after SIGTERM:\n" + "\n".join(running)
                                 + "\n" + self.log_tail(80)) from None

    def cleanup(self) -> None:
        """Test teardown: nothing of ours left running, whatever happened."""
        if self.proc is None:
            return
        family = [self.proc.pid, *children_of(self.proc.pid)]
        for pid in family:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.kill()
        for pid in family[1:]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in redis_servers_under(self.settings.data_dir):
            os.kill(pid, signal.SIGKILL)


def client(base: str, session: aiohttp.ClientSession, token: str | None = None) -> ApiClient:
    return ApiClient(base, session, token)


async def citizen_token(api: ApiClient, fake: FakeWeChat, name: str) -> str:
    code = fake.register_login(openid=f"openid-{name}", unionid=f"unionid-{name}")
    resp = await api.post("/mp/v1/auth/login", {"code": code})
    assert resp.status == 200, resp.body
    return resp.body["access_token"]


async def staff_token(api: ApiClient, username: str) -> str:
    resp = await api.post("/api/v1/auth/login", {"username": username, "password": f"{username}@Demo2026"})
    assert resp.status == 200, resp.body
    return resp.body["access_token"]


async def all_my_letters(citizen: ApiClient) -> list[dict[str, Any]]:
    """Every letter of the citizen, through ``GET /mp/v1/letters`` paging."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _page in range(1000):
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        resp = await citizen.get("/mp/v1/letters", params=params)
        assert resp.status == 200, resp.body
        items.extend(resp.body["items"])
        cursor = resp.body["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("letter paging does not end")


def store_rows(data_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the SQLite file directly (the server stopped, or WAL readers alongside it)."""
    conn = sqlite3.connect(f"file:{data_dir / SQLITE_FILENAME}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def stored_letters(data_dir: Path) -> list[dict[str, Any]]:
    return [orjson.loads(doc) for (doc,) in store_rows(data_dir, "SELECT doc FROM letters")]


def integrity(data_dir: Path) -> str:
    conn = sqlite3.connect(data_dir / SQLITE_FILENAME, timeout=10)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
