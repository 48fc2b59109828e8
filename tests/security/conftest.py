"""A real ``yzt serve`` process (embedded defaults) with a fake WeChat sandbox, for fuzzing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Iterator

import pytest
import requests


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
