"""Process helpers for the infrastructure tests: liveness (a zombie counts as gone), redis-server
processes found by their data directory, bounded waits, and child-process plumbing."""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Mapping

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped) has stopped running."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def redis_servers_under(path: Path) -> list[int]:
    """Running redis-server processes whose command line names a path under ``path``
    (the unix socket of an embedded server is in its data directory)."""
    needle = str(Path(path).resolve()).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"redis-server" in cmdline and needle in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def children_of(pid: int) -> list[int]:
    """Running processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without any ``YZT_*`` setting, able to import the project, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YZT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def python(*args: str, env: Mapping[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``sys.executable *args`` run to completion from the repository root."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=child_env(env), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def read_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The next line of ``proc``'s stdout, or AssertionError after ``timeout`` seconds."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f"no output from pid {proc.pid} within {timeout} s")
    return proc.stdout.readline().decode()


def kill_quietly(proc: subprocess.Popen[bytes] | None) -> None:
    """Test clean-up: SIGKILL ``proc`` (one we started) if it still runs, and reap it."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)
