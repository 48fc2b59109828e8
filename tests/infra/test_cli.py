"""The ``yzt`` command as an operator runs it: ``sys.executable -m backend.cli`` in a child process,
embedded defaults, a temporary data directory, loopback only.

Proves: ``version``; a bad setting stops start-up (exit 2) with a message naming the variable;
``init-demo`` and ``create-user``; ``serve`` answers ``/healthz`` and logs in the created user, and
stops on SIGTERM with exit 0 leaving no redis-server behind; ``serve --processes 2`` serves from
both children and SIGTERM (or a kill -9 of the parent) leaves no child and no redis-server behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from backend import __version__
from tests.infra.procs import ROOT, alive, child_env, children_of, free_port, python, redis_servers_under, wait_until

pytestmark = pytest.mark.timeout(120)

USER, PASSWORD = "user1", "Passw0rd!1"
START_TIMEOUT = 60  # seconds; start-up is ~2-3 s on an idle machine (imports, jieba's dictionary, Redis)


def cli(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return python("-m", "backend.cli", *args, env={"YZT_DATA_DIR": str(data_dir), "YZT_LOG_LEVEL": "warning", **env})


def http(method: str, url: str, body: Any = None, token: str | None = None, timeout: float = 5) -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def healthy(base: str, timeout: float = 2) -> bool:
    """``/healthz`` ok: store, Redis and outbox (its calendar part depends on today's date)."""
    try:
        status, body = http("GET", f"{base}/healthz", timeout=timeout)
    except (OSError, ValueError):
        return False
    return status == 200 and body["status"] == "ok" and all(
        body["parts"][part] == "ok" for part in ("store", "redis", "outbox"))


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    base: str
    data_dir: Path
    log: Path
    started_in: float

    def login(self) -> str:
        status, body = http("POST", f"{self.base}/api/v1/auth/login", {"username": USER, "password": PASSWORD})
        assert status == 200, body
        assert body["token_type"] == "Bearer" and body["expires_in"] > 0
        return body["access_token"]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> tuple[int, float]:
        began = time.monotonic()
        os.kill(self.proc.pid, sig)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - began


@contextmanager
def serving(data_dir: Path, *args: str) -> Iterator[Served]:
    """``yzt serve *args`` on a free loopback port until the block ends (killed if still running)."""
    port = free_port()
    log = data_dir.parent / f"serve-{port}.log"
    env = child_env({"YZT_DATA_DIR": str(data_dir), "YZT_PORT": str(port), "YZT_LOG_LEVEL": "warning",
                     "YZT_WECHAT_API_BASE": "http://127.0.0.1:9", "YZT_WECOM_API_BASE": "http://127.0.0.1:9"})
    began = time.monotonic()
    with open(log, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", *args], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        up = wait_until(lambda: proc.poll() is not None or healthy(base), START_TIMEOUT, interval=0.05)
        assert up and proc.poll() is None, f"yzt serve did not come up (exit {proc.poll()}):\n{log.read_text()}"
        yield Served(proc, base, data_dir, log, time.monotonic() - began)
    finally:
        everyone = [proc.pid, *children_of(proc.pid)]
        for pid in everyone:  # a test may have stopped some
            _signal(pid, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for pid in everyone[1:]:
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A data directory after ``yzt init-demo`` and ``yzt create-user`` (run once for this module)."""
    data_dir = tmp_path_factory.mktemp("cli") / "data"
    began = time.monotonic()
    demo = cli("init-demo", data_dir=data_dir)
    demo_took = time.monotonic() - began
    began = time.monotonic()
    user = cli("create-user", "--username", USER, "--password", PASSWORD, "--role", "staff",
               "--department", "qd-env", data_dir=data_dir)
    user_took = time.monotonic() - began
    print(f"\nyzt init-demo {demo_took:.1f} s, yzt create-user {user_took:.1f} s")
    return {"data_dir": data_dir, "demo": demo, "user": user}


def copy_of(provisioned: dict[str, Any], tmp_path: Path) -> Path:
    shutil.copytree(provisioned["data_dir"], tmp_path / "data")
    return tmp_path / "data"


def test_version(tmp_path: Path) -> None:
    done = cli("version", data_dir=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"yzt {__version__}"
    assert not (tmp_path / "data").exists()  # nothing written


@pytest.mark.parametrize(("variable", "value"), [
    ("YZT_PORT", "abc"), ("YZT_PORT", "70000"), ("YZT_PROCESSES", "-1"),
    ("YZT_REDIS_URL", "localhost:6379"), ("YZT_LOG_LEVEL", "loud"),
])
def test_a_bad_setting_stops_start_up_naming_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    done = cli("serve", data_dir=tmp_path / "data", **{variable: value})
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert variable in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "data").exists()  # stopped before touching anything


@pytest.mark.parametrize(("flag", "value"), [("--port", "abc"), ("--port", "70000"), ("--processes", "-1")])
def test_a_bad_serve_flag_stops_start_up_naming_the_flag(tmp_path: Path, flag: str, value: str) -> None:
    done = cli("serve", flag, value, data_dir=tmp_path / "data")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"argument {flag}:" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "data").exists()


def test_init_demo_and_create_user(provisioned: dict[str, Any]) -> None:
    demo, user = provisioned["demo"], provisioned["user"]
    assert demo.returncode == 0, demo.stderr
    assert "center" in demo.stdout and "center@Demo2026" in demo.stdout
    assert user.returncode == 0, user.stderr
    assert f"created {USER} (staff)" in user.stdout
    assert redis_servers_under(provisioned["data_dir"]) == []  # each command stopped its Redis


@pytest.mark.slow
def test_serve_logs_in_and_stops_on_sigterm(provisioned: dict[str, Any], tmp_path: Path) -> None:
    data_dir = copy_of(provisioned, tmp_path)
    with serving(data_dir) as served:
        print(f"\nyzt serve: /healthz ok {served.started_in:.2f} s after start")
        token = served.login()
        status, me = http("GET", f"{served.base}/api/v1/me", token=token)
        assert status == 200 and me["username"] == USER and me["department"] == "qd-env", me
        assert len(redis_servers_under(data_dir)) == 1
        code, took = served.stop()
        print(f"yzt serve: exit {code} {took:.2f} s after SIGTERM")
        assert code == 0, served.log.read_text()
        assert took < 5
        assert redis_servers_under(data_dir) == []


@pytest.mark.slow
def test_serve_with_two_processes(provisioned: dict[str, Any], tmp_path: Path) -> None:
    data_dir = copy_of(provisioned, tmp_path)
    with serving(data_dir, "--processes", "2") as served:
        print(f"\nyzt serve --processes 2: /healthz ok {served.started_in:.2f} s after start")
        [redis_pid] = redis_servers_under(data_dir)  # one Redis, owned by the parent
        workers = [pid for pid in children_of(served.proc.pid) if pid != redis_pid]
        assert len(workers) == 2, workers

        # Each child serves on its own: with the other one stopped, every request still succeeds.
        for paused, serving_alone in (workers, workers[::-1]):
            os.kill(paused, signal.SIGSTOP)
            try:
                assert wait_until(lambda: healthy(served.base), START_TIMEOUT, interval=0.05), \
                    f"process {serving_alone} does not serve"
                token = served.login()
                for _ in range(5):
                    status, me = http("GET", f"{served.base}/api/v1/me", token=token)
                    assert status == 200 and me["username"] == USER, me
            finally:
                os.kill(paused, signal.SIGCONT)
        token = served.login()
        for _ in range(10):
            assert healthy(served.base)
            assert http("GET", f"{served.base}/api/v1/me", token=token)[0] == 200

        code, took = served.stop()
        print(f"yzt serve --processes 2: exit {code} {took:.2f} s after SIGTERM")
        assert code == 0, served.log.read_text()
        assert took < 5
        assert not any(alive(pid) for pid in workers)
        assert redis_servers_under(data_dir) == []


@pytest.mark.slow
def test_kill_9_of_the_serving_parent_leaves_no_orphan(provisioned: dict[str, Any], tmp_path: Path) -> None:
    data_dir = copy_of(provisioned, tmp_path)
    with serving(data_dir, "--processes", "2") as served:
        [redis_pid] = redis_servers_under(data_dir)
        workers = [pid for pid in children_of(served.proc.pid) if pid != redis_pid]
        assert len(workers) == 2, workers
        served.stop(signal.SIGKILL)
        gone = wait_until(lambda: not any(alive(pid) for pid in [redis_pid, *workers]), timeout=5)
        assert gone, [pid for pid in [redis_pid, *workers] if alive(pid)]
        assert redis_servers_under(data_dir) == []
