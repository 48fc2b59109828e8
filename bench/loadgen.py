"""Load generators for ``bench/run.py``: wrk (when on PATH) or a small aiohttp generator.

Both take the same input, a *pool* of pre-built requests, and cycle through it: request ``i`` is
``pool[i % len(pool)]``, so a pool of distinct requests (WeChat messages with distinct MsgIds)
sends each once as long as the pool is larger than the number of requests. With
``unique_idempotency_key`` every request also gets a fresh ``Idempotency-Key`` header.

Both report the same figures: completed requests, requests per second, p50/p90/p99 latency,
and the requests that failed (HTTP status >= 400, or socket errors and timeouts).

The Python generator runs in a separate process (``multiprocessing``, spawn) so that it never
shares an event loop or a GIL with the orchestrator. It still shares the machine's CPU with the
server under test, as wrk does.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WRK_SCRIPT = HERE / "wrk_pool.lua"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class LoadResult:
    generator: str
    requests: int  # completed within the duration (any status)
    duration: float  # seconds
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int  # status >= 400, socket errors, timeouts
    error_detail: dict[str, int]

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"generator": self.generator, "requests": self.requests, "duration_s": round(self.duration, 3),
                "rps": round(self.rps, 1), "p50_ms": round(self.p50_ms, 3), "p90_ms": round(self.p90_ms, 3),
                "p99_ms": round(self.p99_ms, 3), "errors": self.errors, "error_detail": self.error_detail}


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_load(generator: str, base_url: str, pool: list[Request], *, connections: int, duration: float,
             unique_idempotency_key: bool = False, key_prefix: str = "bench", workdir: Path) -> LoadResult:
    """Load ``base_url`` with ``pool`` for ``duration`` seconds on ``connections`` keep-alive
    connections; ``generator`` is ``"wrk"`` or ``"python"``."""
    if not pool:
        raise ValueError("empty request pool")
    if generator == "wrk":
        return _run_wrk(base_url, pool, connections=connections, duration=duration,
                        unique_idempotency_key=unique_idempotency_key, key_prefix=key_prefix, workdir=workdir)
    return _run_python(base_url, pool, connections=connections, duration=duration,
                       unique_idempotency_key=unique_idempotency_key, key_prefix=key_prefix)


# --- wrk -----------------------------------------------------------------------------------------

_SEP_FIELD, _SEP_HEADER = b"\t", b"\x1f"


def write_pool_file(pool: list[Request], path: Path) -> None:
    """One request a line: METHOD TAB PATH TAB HEADERS TAB BODY (headers ``Name: value`` joined by
    0x1F), the format ``wrk_pool.lua`` reads."""
    with path.open("wb") as out:
        for req in pool:
            headers = _SEP_HEADER.join(f"{k}: {v}".encode() for k, v in req.headers.items())
            fields = [req.method.encode(), req.path.encode(), headers, req.body]
            for value in fields:
                if b"\n" in value or b"\r" in value or _SEP_FIELD in value:
                    raise ValueError(f"request field cannot go in a wrk pool file: {value[:60]!r}")
            out.write(_SEP_FIELD.join(fields) + b"\n")


_WRK_JSON = re.compile(r"^WRKJSON (\{.*\})$", re.MULTILINE)


def _run_wrk(base_url: str, pool: list[Request], *, connections: int, duration: float,
             unique_idempotency_key: bool, key_prefix: str, workdir: Path) -> LoadResult:
    threads = max(1, min(2, connections))
    fd, name = tempfile.mkstemp(prefix="pool-", suffix=".txt", dir=workdir)
    os.close(fd)
    pool_file = Path(name)
    try:
        write_pool_file(pool, pool_file)
        seconds = max(1, round(duration))
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(WRK_SCRIPT), base_url, "--", str(pool_file), str(threads),
               "1" if unique_idempotency_key else "0", key_prefix]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise RuntimeError("wrk did not finish in time") from None
        finally:
            if proc.poll() is None:
                _kill_group(proc)
        if proc.returncode != 0:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {err.strip() or out.strip()}")
        match = _WRK_JSON.search(out)
        if match is None:
            raise RuntimeError(f"cannot read wrk's output:\n{out}\n{err}")
        data = json.loads(match.group(1))
    finally:
        pool_file.unlink(missing_ok=True)
    elapsed = data["duration_us"] / 1e6
    detail = {name: data[name] for name in ("connect", "read", "write", "status", "timeout") if data[name]}
    return LoadResult(generator="wrk", requests=data["requests"], duration=elapsed,
                      rps=data["requests"] / elapsed if elapsed else 0.0,
                      p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000, p99_ms=data["p99_us"] / 1000,
                      errors=sum(detail.values()), error_detail=detail)


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


# --- the Python generator ------------------------------------------------------------------------

def _run_python(base_url: str, pool: list[Request], *, connections: int, duration: float,
                unique_idempotency_key: bool, key_prefix: str) -> LoadResult:
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, name="bench-loadgen", daemon=True,
                       args=(sender, base_url, pool, connections, duration, unique_idempotency_key, key_prefix))
    proc.start()
    sender.close()
    try:
        if not receiver.poll(duration + 60):
            raise RuntimeError("the Python load generator did not report in time")
        outcome = receiver.recv()
    finally:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
    if "error" in outcome:
        raise RuntimeError(f"the Python load generator failed: {outcome['error']}")
    return LoadResult(**outcome)


def _child(sender: Any, base_url: str, pool: list[Request], connections: int, duration: float,
           unique_key: bool, key_prefix: str) -> None:
    try:
        try:
            import uvloop  # noqa: PLC0415
        except ImportError:
            pass
        else:
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        outcome: dict[str, Any] = asyncio.run(
            _generate(base_url, pool, connections, duration, unique_key, key_prefix))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        outcome = {"error": repr(exc)}
    sender.send(outcome)
    sender.close()


async def _generate(base_url: str, pool: list[Request], connections: int, duration: float,
                    unique_key: bool, key_prefix: str) -> dict[str, Any]:
    import aiohttp  # noqa: PLC0415 - only in the generator process

    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = 0
    size = len(pool)
    prepared = [(r.method, base_url + r.path, r.headers, r.body or None) for r in pool]
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    clock = time.perf_counter

    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                     skip_auto_headers=("User-Agent",)) as session:
        start = clock()
        deadline = start + duration

        async def worker() -> None:
            nonlocal counter
            while True:
                t0 = clock()
                if t0 >= deadline:
                    return
                i = counter
                counter += 1
                method, url, headers, body = prepared[i % size]
                if unique_key:
                    headers = {**headers, "Idempotency-Key": f"{key_prefix}-{i}"}
                try:
                    async with session.request(method, url, headers=headers, data=body) as resp:
                        await resp.read()
                        status = resp.status
                except asyncio.TimeoutError:
                    kind = "timeout"
                except aiohttp.ClientError:
                    kind = "socket"
                else:
                    kind = f"status_{status}" if status >= 400 else ""
                t1 = clock()
                if t1 > deadline:  # finished after the end: not counted, as wrk does
                    return
                latencies.append(t1 - t0)
                if kind:
                    errors[kind] = errors.get(kind, 0) + 1

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = min(clock(), deadline) - start

    latencies.sort()
    n = len(latencies)

    def pct(q: float) -> float:
        return latencies[min(n - 1, int(q * n))] * 1000 if n else 0.0

    return {"generator": "python", "requests": n, "duration": elapsed, "rps": n / elapsed if elapsed else 0.0,
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "errors": sum(errors.values()), "error_detail": errors}
