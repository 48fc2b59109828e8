"""A real ``yzt serve`` process (embedded defaults) with a fake WeChat sandbox, for fuzzing;
and variants of the in-process harness with some settings changed."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest
import requests
import tornado.netutil

from backend.app import http_server, make_app
from backend.wechat.callback import OfficialAccountCallback
from tests.conftest import ApiClient, Harness


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(url)
        time.sleep(0.05)


class LiveServer:
    def __init__(self, base: str, env: dict[str, str]) -> None:
        self.base = base
        self.env = env

    def token(self, path: str, body: dict[str, str]) -> str:
        resp = requests.post(self.base + path, json=body, timeout=10)
        resp.raise_for_status()
        return resp.json()["access_token"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    wechat_port, port = free_port(), free_port()
    fake = subprocess.Popen([sys.executable, "-m", "backend.wechat.fake_server", "--port", str(wechat_port)],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    settings: dict[str, str] = {}
    assert fake.stdout is not None
    for line in fake.stdout:
        if line.strip().startswith("YZT_"):
            key, _, value = line.strip().partition("=")
            settings[key] = value
        if "YZT_WECOM_AGENTID" in settings:
            break
    data_dir = tmp_path_factory.mktemp("live") / "data"
    env = {**os.environ, **settings, "YZT_DATA_DIR": str(data_dir), "YZT_LOG_LEVEL": "warning",
           "YZT_OA_TOKEN": "fuzz_token", "YZT_OA_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}
    subprocess.run([sys.executable, "-m", "backend.cli", "init-demo"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], env=env,
                              start_new_session=True, stderr=open(data_dir / "server.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz")
        yield LiveServer(base, env)
    finally:
        for process in (server, fake):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


class Variants:
    """The harness's app (same store, Redis and fake WeChat) served again on its own loopback
    port with some settings changed, for behaviour that depends on configuration."""

    def __init__(self, harness: Harness, stack: AsyncExitStack) -> None:
        self.harness = harness
        self._stack = stack

    async def serve(self, **changes: Any) -> ApiClient:
        ctx = self.harness.ctx
        settings = ctx.settings.replace(**changes)
        callback = OfficialAccountCallback(settings=settings, redis=ctx.redis, client=ctx.wechat,
                                           responder=ctx.oa_behaviours)
        self._stack.push_async_callback(callback.aclose)
        variant = dataclasses.replace(ctx, settings=settings, oa_callback=callback)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = http_server(make_app(variant), settings)
        server.add_sockets(sockets)
        self._stack.callback(server.stop)
        return ApiClient(f"http://127.0.0.1:{sockets[0].getsockname()[1]}", self.harness.client.session)


@pytest.fixture
async def variants(harness: Harness) -> AsyncIterator[Variants]:
    async with AsyncExitStack() as stack:
        yield Variants(harness, stack)


@dataclass
class BareServer:
    """``yzt serve`` with embedded defaults and no demo data, its own process (so that its memory
    can be measured), with the metrics on a separate listener."""

    base: str
    metrics_base: str
    process: subprocess.Popen[bytes]
    data_dir: Path

    def rss_bytes(self) -> int:
        """The serving process's resident memory now (Linux: VmRSS in /proc)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS line")


@pytest.fixture(scope="session")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BareServer]:
    port, metrics_port = free_port(), free_port()
    data_dir = tmp_path_factory.mktemp("bare") / "data"
    env = {**os.environ, "YZT_DATA_DIR": str(data_dir), "YZT_LOG_LEVEL": "warning", "YZT_RUN_WORKERS": "false",
           "YZT_METRICS_PORT": str(metrics_port)}
    env.pop("YZT_REDIS_URL", None)
    data_dir.mkdir(parents=True)
    process = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], env=env,
                               start_new_session=True, stderr=open(data_dir / "server.log", "w"))
    server = BareServer(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}", process, data_dir)
    try:
        wait_for(server.base + "/healthz")
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
