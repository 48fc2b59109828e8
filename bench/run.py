"""Benchmarks of the real server, as ratios against a bare Tornado handler measured in the same run.

    python bench/run.py [--duration 10] [--connections 64] [--scenarios me,letter_create,inbox,callback,todos]
                        [--generator auto|wrk|python] [--warmup 2] [--strict] [--set YZT_NAME=VALUE ...]

Starts, on 127.0.0.1 only: the baseline (``bench/baseline.py``), the fake WeChat server
(``python -m backend.wechat.fake_server``, sandbox mode), and ``yzt serve`` (``python -m backend.cli
serve``) on a fresh temporary data directory prepared with ``init-demo``. Measures the server's
start time and memory, then loads the baseline and every scenario with the same generator, the same
connections and the same duration, and prints ``ratio = scenario req/s / baseline req/s`` against
each scenario's target. Results also go to ``bench/results/latest.json``. Every child process is
started in its own process group and killed at the end, whatever happens. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import loadgen  # noqa: E402
from loadgen import LoadResult, Request  # noqa: E402

HOST = "127.0.0.1"
TARGETS = {"me": 0.8, "letter_create": 0.4, "inbox": 0.7, "callback": 0.6, "todos": 0.5}
CALLBACK_PATH = "/wechat/callback"
INBOX_SEED = 220
INBOX_DEPARTMENT = "qd-housing"
TODO_SEED = 1000
TODO_DEPARTMENT = "qd-hrss"  # a department with no other work, so the clerk's list is these letters
NOISY_DRIFT = 0.2  # baselines around a scenario further apart than this: say the run was noisy
ERROR_RATE_LIMIT = 0.01  # more failed requests than this and the figure is not a measurement
LETTER = {"type": "complain", "title": "小区夜间施工噪音扰民",
          "content": "我家附近工地每天夜间施工到凌晨两点，噪音严重影响休息，请有关部门尽快处理。",
          "addressee": {"kind": "mayor"}, "public": True}
# Test credentials of the Official Account callback (the fake server never sees these two).
OA_TOKEN = "yztBenchToken2026"
OA_AES_KEY = base64.b64encode(hashlib.sha256(b"yzt-bench-aes-key").digest()).decode().rstrip("=")
# What the fake server registers when it does not say (backend/wechat/fake_server.py FAKE_*).
FAKE_DEFAULTS = {"YZT_OA_APPID": "wx_fake_oa_appid", "YZT_OA_SECRET": "fake-oa-secret",
                 "YZT_MP_APPID": "wx_fake_mp_appid", "YZT_MP_SECRET": "fake-mp-secret",
                 "YZT_WECOM_CORPID": "ww_fake_corpid", "YZT_WECOM_SECRET": "fake-wecom-secret",
                 "YZT_WECOM_AGENTID": "1000002"}


class BenchError(Exception):
    """The run cannot go on (a part did not start, a set-up request failed)."""


class NotAvailable(Exception):
    """The scenario's route is not there yet (404/405)."""


# --- child processes -------------------------------------------------------------------------------

class Children:
    """Every process we start: own session (process group), output to a log file, killed at the end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log_path = self.workdir / f"{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc, log_path))
        return proc

    def log_tail(self, proc: subprocess.Popen[bytes], lines: int = 40) -> str:
        for _, p, path in self.procs:
            if p is proc and path.exists():
                return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
        return ""

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(proc, signal.SIGKILL)  # stragglers in the group (e.g. an embedded redis-server)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def stop_all(self) -> None:
        for _, proc, _ in reversed(self.procs):
            self.stop(proc)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session: the group id is the child's pid
    except (ProcessLookupError, PermissionError):
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"process exited with code {proc.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise BenchError(f"nothing listens on port {port} after {timeout:.0f} s")


def yzt_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of our children: the caller's, without any YZT_* setting of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YZT_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


# --- a small blocking HTTP client for set-up (logins, seeding, probes) ----------------------------------

class Http:
    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port = port
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, *, body: Any = None, raw: bytes | None = None,
                token: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=data, headers=hdrs)
                resp = self._conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, data = self.request(method, path, **kwargs)
        try:
            return status, json.loads(data) if data else None
        except ValueError:
            return status, data.decode("utf-8", "replace")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def expect(status: int, data: Any, what: str, ok: tuple[int, ...] = (200, 201)) -> Any:
    if status in (404, 405):
        raise NotAvailable(f"{what}: HTTP {status}")
    if status not in ok:
        raise BenchError(f"{what}: HTTP {status} {str(data)[:300]}")
    return data


# --- measurement helpers --------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process and its children (the server's embedded redis-server)."""
    try:
        proc = psutil.Process(pid)
        total = sum(proc.cpu_times()[:2])
        for child in proc.children(recursive=True):
            try:
                total += sum(child.cpu_times()[:2])
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return math.nan


def rss_mb(pid: int) -> dict[str, float]:
    proc = psutil.Process(pid)
    own = proc.memory_info().rss
    children = 0
    for child in proc.children(recursive=True):
        try:
            children += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return {"server_mb": round(own / 2**20, 1), "children_mb": round(children / 2**20, 1)}


@dataclass
class Measured:
    load: LoadResult
    cpu_us_per_req: float


@dataclass
class Scenario:
    name: str
    pool: list[Request] | Callable[[int, str], list[Request]]  # or: (size, phase) -> pool
    unique_key: bool = False
    notes: list[str] = field(default_factory=list)


class Runner:
    def __init__(self, args: argparse.Namespace, workdir: Path, generator: str) -> None:
        self.args = args
        self.workdir = workdir
        self.generator = generator
        self.run_id = secrets.token_hex(4)

    def measure(self, port: int, pid: int, pool: list[Request], *, phase: str, seconds: float,
                unique_key: bool = False) -> Measured:
        cpu_before = cpu_seconds(pid)
        result = loadgen.run_load(self.generator, f"http://{HOST}:{port}", pool,
                                  connections=self.args.connections, duration=seconds,
                                  unique_idempotency_key=unique_key, key_prefix=f"{self.run_id}-{phase}",
                                  workdir=self.workdir)
        cpu = cpu_seconds(pid) - cpu_before
        return Measured(result, cpu * 1e6 / result.requests if result.requests else math.nan)


# --- scenarios --------------------------------------------------------------------------------------

def staff_login(api: Http, username: str, password: str) -> str:
    status, data = api.json("POST", "/api/v1/auth/login", body={"username": username, "password": password})
    if status != 200 or not isinstance(data, dict) or "access_token" not in data:
        raise BenchError(f"staff login {username}: HTTP {status} {str(data)[:300]}")
    return data["access_token"]


def citizen_login(api: Http, code: str) -> str:
    status, data = api.json("POST", "/mp/v1/auth/login", body={"code": code})
    if status != 200 or not isinstance(data, dict) or "access_token" not in data:
        raise BenchError(f"citizen login: HTTP {status} {str(data)[:300]}")
    return data["access_token"]


def letter_request(token: str) -> Request:
    return Request("POST", "/mp/v1/letters", {"Authorization": f"Bearer {token}",
                                               "Content-Type": "application/json"},
                   json.dumps(LETTER, ensure_ascii=False).encode())


def prepare_me(api: Http, staff: dict[str, str], citizens: list[str], run_id: str) -> Scenario:
    expect(*api.json("GET", "/api/v1/me", token=staff["center"]), "GET /api/v1/me", ok=(200,))
    return Scenario("me", [Request("GET", "/api/v1/me", {"Authorization": f"Bearer {staff['center']}"})])


def prepare_letter_create(api: Http, staff: dict[str, str], citizens: list[str], run_id: str) -> Scenario:
    probe = letter_request(citizens[0])
    status, data = api.json("POST", probe.path, raw=probe.body,
                            headers={**probe.headers, "Idempotency-Key": f"{run_id}-probe"})
    expect(status, data, "POST /mp/v1/letters")
    # One request per citizen: the load is many citizens writing, not one citizen flooding.
    return Scenario("letter_create", [letter_request(token) for token in citizens], unique_key=True,
                    notes=[f"{len(citizens)} citizens, a fresh Idempotency-Key per request"])


def settle(pid: int, *, idle_percent: float = 15.0, limit: float = 60.0) -> float:
    """Wait until the server (with its children) is idle: the events of earlier scenarios (push
    fan-out, outbox relay) must not be measured as this scenario's cost. Returns seconds waited."""
    started = time.perf_counter()
    proc = psutil.Process(pid)
    while time.perf_counter() - started < limit:
        busy = proc.cpu_percent(interval=0.5) + sum(c.cpu_percent(interval=None) for c in proc.children())
        if busy < idle_percent:
            break
    return time.perf_counter() - started


def seed_letters(api: Http, staff: dict[str, str], citizens: list[str], run_id: str, *, count: int,
                 department: str, tag: str) -> float:
    """``count`` letters written by the citizens and dispatched to ``department`` over HTTP; returns
    the seconds it took."""
    port = api.port
    local = threading.local()

    def seed(i: int) -> None:
        client = getattr(local, "api", None) or Http(port)
        local.api = client
        letter = {**LETTER, "title": f"{LETTER['title']}（{i}）",
                  "content": f"{LETTER['content']}第 {i} 号楼附近，已持续 {i % 30 + 1} 天。"}
        status, created = client.json("POST", "/mp/v1/letters", body=letter, token=citizens[i % len(citizens)],
                                      headers={"Idempotency-Key": f"{run_id}-{tag}-{i}"})
        created = expect(status, created, "seed: POST /mp/v1/letters")
        status, data = client.json("POST", f"/api/v1/letters/{created['id']}/dispatch", token=staff["center"],
                                   body={"lead_department": department})
        expect(status, data, "seed: POST /api/v1/letters/{id}/dispatch")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(seed, range(count)))
    return time.perf_counter() - started


def prepare_inbox(api: Http, staff: dict[str, str], citizens: list[str], run_id: str) -> Scenario:
    housing = staff["housing"]
    expect(*api.json("GET", "/api/v1/letters?limit=20", token=housing), "GET /api/v1/letters", ok=(200,))
    seeded_in = seed_letters(api, staff, citizens, run_id, count=INBOX_SEED, department=INBOX_DEPARTMENT, tag="seed")
    page = expect(*api.json("GET", "/api/v1/letters?limit=20", token=housing), "GET /api/v1/letters", ok=(200,))
    items = page.get("items") if isinstance(page, dict) else None
    if not items or len(items) < 20:
        raise BenchError(f"the {INBOX_DEPARTMENT} inbox lists {len(items or [])} letters after seeding")
    return Scenario("inbox", [Request("GET", "/api/v1/letters?limit=20", {"Authorization": f"Bearer {housing}"})],
                    notes=[f"{INBOX_SEED} letters seeded and dispatched to {INBOX_DEPARTMENT} in {seeded_in:.1f} s"])


_ENVELOPE = re.compile(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>\s*<MsgSignature><!\[CDATA\[(.*?)\]\]></MsgSignature>")


class CallbackMessages:
    """Encrypted Official Account text messages, each with its own MsgId (the server deduplicates)."""

    def __init__(self, appid: str) -> None:
        from wechatpy.crypto import WeChatCrypto  # noqa: PLC0415

        self.crypto = WeChatCrypto(OA_TOKEN, OA_AES_KEY, appid)
        self.next_msgid = int(time.time()) * 100_000

    def make(self, count: int) -> list[Request]:
        timestamp = str(int(time.time()))
        pool = []
        for _ in range(count):
            self.next_msgid += 1
            msgid = self.next_msgid
            openid = f"oBench{msgid % 997:05d}{'x' * 17}"
            nonce = secrets.token_hex(5)
            xml = (f"<xml><ToUserName><![CDATA[gh_bench0001]]></ToUserName>"
                   f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{timestamp}</CreateTime>"
                   f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{KEYWORD}]]></Content>"
                   f"<MsgId>{msgid}</MsgId></xml>")
            envelope = self.crypto.encrypt_message(xml, nonce, timestamp)
            encrypted, msg_signature = _ENVELOPE.search(envelope).groups()  # type: ignore[union-attr]
            signature = hashlib.sha1("".join(sorted([OA_TOKEN, timestamp, nonce])).encode()).hexdigest()
            query = urllib.parse.urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce,
                                            "openid": openid, "encrypt_type": "aes",
                                            "msg_signature": msg_signature})
            body = (f"<xml><ToUserName><![CDATA[gh_bench0001]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
            pool.append(Request("POST", f"{CALLBACK_PATH}?{query}", {"Content-Type": "text/xml"}, body))
        return pool

    def decrypt_reply(self, reply: bytes, request: Request) -> str:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.path).query))
        text = reply.decode("utf-8")
        signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]></MsgSignature>", text)
        timestamp = re.search(r"<TimeStamp>(?:<!\[CDATA\[)?(\d+)", text)
        nonce = re.search(r"<Nonce><!\[CDATA\[(.*?)\]\]></Nonce>", text)
        return self.crypto.decrypt_message(text, signature.group(1) if signature else "",
                                           timestamp.group(1) if timestamp else query["timestamp"],
                                           nonce.group(1) if nonce else query["nonce"])


KEYWORD = "办事指南"
KEYWORD_REPLY = "办事指南：请点击菜单“便民服务”查看事项清单与所需材料，或回复事项名称查询。"
# A realistic rule table for the lookup to go through: exact and "contains" rules.
OTHER_KEYWORDS = ["社保", "公积金", "户口", "身份证", "护照", "驾驶证", "违章", "医保", "居住证", "不动产",
                  "营业执照", "发票", "出生证明", "低保", "养老", "就业", "落户", "学区", "停车", "垃圾分类"]


def prepare_todos(api: Http, staff: dict[str, str], citizens: list[str], run_id: str) -> Scenario:
    """A clerk of a department with TODO_SEED letters to accept: the first page of their to-dos
    (sorted by due date, with the counts per module and kind), from the projection."""
    admin = staff_login(api, "admin", "admin@Demo2026")
    username, password = f"bench_{run_id[-6:]}", f"Bench!{run_id[-6:]}#2026"
    expect(*api.json("POST", "/api/v1/staff-users", token=admin, body={
        "username": username, "password": password, "name": "压测经办人", "roles": ["staff"],
        "department": TODO_DEPARTMENT}), "POST /api/v1/staff-users")
    clerk = staff_login(api, username, password)
    seeded_in = seed_letters(api, staff, citizens, run_id, count=TODO_SEED, department=TODO_DEPARTMENT, tag="todo")
    started = time.perf_counter()
    while True:  # the projection keeps the lists from the events: wait until it caught up
        page = expect(*api.json("GET", "/api/v1/todos?limit=20", token=clerk), "GET /api/v1/todos", ok=(200,))
        if page.get("total", 0) >= TODO_SEED:
            break
        if time.perf_counter() - started > 120:
            raise BenchError(f"only {page.get('total')} to-dos projected for {TODO_SEED} letters")
        time.sleep(0.2)
    return Scenario("todos", [Request("GET", "/api/v1/todos?limit=20", {"Authorization": f"Bearer {clerk}"})],
                    notes=[f"{TODO_SEED} letters to accept in {TODO_DEPARTMENT}: seeded in {seeded_in:.1f} s, "
                           f"projected {time.perf_counter() - started:.1f} s later"])


def configure_keywords(api: Http, admin: str, run_id: str) -> str:
    """Keyword replies through the admin API; a note saying what was configured."""
    rules = [{"keyword": KEYWORD, "match": "exact", "text": KEYWORD_REPLY}]
    rules += [{"keyword": word, "match": "contains" if i % 2 else "exact", "text": f"关于{word}的办理指南请见菜单。"}
              for i, word in enumerate(OTHER_KEYWORDS)]
    for i, rule in enumerate(rules):
        status, data = api.json("POST", "/api/v1/wechat/keyword-replies", body=rule, token=admin,
                                headers={"Idempotency-Key": f"{run_id}-kw-{i}"})
        if status in (404, 405):
            return "no keyword admin API: the lookup falls back to the default reply"
        expect(status, data, "POST /api/v1/wechat/keyword-replies", ok=(200, 201, 409))
    return f"{len(rules)} keyword rules configured (half exact, half contains); the message matches one exactly"


def prepare_callback(api: Http, messages: CallbackMessages, admin: str, run_id: str) -> Scenario:
    keywords = configure_keywords(api, admin, run_id)
    probe = messages.make(1)[0]
    status, reply = api.request(probe.method, probe.path, raw=probe.body, headers=probe.headers)
    if status in (404, 405):
        raise NotAvailable(f"POST {CALLBACK_PATH}: HTTP {status}")
    if status != 200:
        raise BenchError(f"POST {CALLBACK_PATH}: HTTP {status} {reply[:300]!r}")
    if b"<Encrypt>" not in reply:
        raise BenchError(f"POST {CALLBACK_PATH}: expected an encrypted reply, got {reply[:300]!r}")
    plain = messages.decrypt_reply(reply, probe)
    if "<MsgType><![CDATA[text]]></MsgType>" not in plain:
        raise BenchError(f"POST {CALLBACK_PATH}: the reply is not a text message: {plain[:300]}")
    if "no keyword" not in keywords and KEYWORD_REPLY not in plain:
        raise BenchError(f"POST {CALLBACK_PATH}: the reply is not the configured keyword reply: {plain[:300]}")
    return Scenario("callback", lambda size, phase: messages.make(size),
                    notes=[f"text message {KEYWORD!r}, a distinct MsgId per request, AES safe mode both ways; "
                           f"{keywords}"])


# --- the run ------------------------------------------------------------------------------------------

def start_fake_wechat(children: Children) -> tuple[dict[str, str], subprocess.Popen[bytes]]:
    port = free_port()
    proc = children.start("fake-wechat", [sys.executable, "-m", "backend.wechat.fake_server", "--host", HOST,
                                          "--port", str(port)], yzt_env({}))
    log = children.workdir / "fake-wechat.log"
    deadline = time.monotonic() + 30
    settings: dict[str, str] = {}
    while time.monotonic() < deadline:
        settings = dict(re.findall(r"^\s*(YZT_[A-Z_]+)=(\S*)\s*$", log.read_text("utf-8", "replace"), re.MULTILINE))
        if "YZT_WECOM_AGENTID" in settings:
            break
        if proc.poll() is not None:
            raise BenchError(f"the fake WeChat server exited:\n{children.log_tail(proc)}")
        time.sleep(0.05)
    wait_for_port(port, proc, timeout=10)
    base = f"http://{HOST}:{port}"
    env = {**FAKE_DEFAULTS, **settings, "YZT_WECHAT_API_BASE": base, "YZT_WECOM_API_BASE": base}
    return env, proc


def init_demo(env: dict[str, str]) -> dict[str, str]:
    """Runs ``init-demo``; the staff passwords it prints (username → password)."""
    try:
        done = subprocess.run([sys.executable, "-m", "backend.cli", "init-demo"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=180, start_new_session=True)
    except subprocess.TimeoutExpired:
        raise BenchError("init-demo did not finish in 180 s") from None
    if done.returncode != 0:
        raise BenchError(f"init-demo failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    accounts = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith(parts[0] + "@"):
            accounts[parts[0]] = parts[1]
    return accounts


def start_server(children: Children, env: dict[str, str], port: int) -> tuple[subprocess.Popen[bytes], float]:
    started = time.perf_counter()
    proc = children.start("server", [sys.executable, "-m", "backend.cli", "serve", "--host", HOST,
                                     "--port", str(port)], env)
    api = Http(port, timeout=5)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"yzt serve exited with code {proc.returncode}:\n{children.log_tail(proc)}")
            try:
                status, _ = api.request("GET", "/healthz")
            except OSError:
                time.sleep(0.02)
                continue
            if status == 200:
                return proc, time.perf_counter() - started
            time.sleep(0.05)
    finally:
        api.close()
    raise BenchError(f"yzt serve did not answer /healthz in 120 s:\n{children.log_tail(proc)}")


def last_error(log: str) -> str:
    """The last error the server logged, in one line (its message and the exception's last line)."""
    for line in reversed(log.splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("level") in ("error", "critical"):
            exception = str(record.get("exception") or "").strip().splitlines()
            message = str(record.get("message", "")).splitlines()[0][:200]
            return f"{message} -> {exception[-1][:300]}" if exception else message
    return log.strip().splitlines()[-1][:500] if log.strip() else "(empty)"


def verdict(ratio: float, target: float, load: dict[str, Any]) -> str:
    if not load["requests"] or load["errors"] / load["requests"] > ERROR_RATE_LIMIT:
        return "INVALID"
    return "PASS" if ratio >= target else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement (1-120)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections (1-1024)")
    parser.add_argument("--scenarios", default=",".join(TARGETS), help=f"comma-separated: {','.join(TARGETS)}")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto",
                        help="auto: wrk when on PATH, else the Python generator")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds before each measurement (0-30)")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a scenario misses its target")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (data, logs)")
    parser.add_argument("--set", action="append", default=[], metavar="YZT_NAME=VALUE",
                        help="a setting of the server under test (repeatable), e.g. YZT_WECHAT_CONTENT_CHECK=false")
    args = parser.parse_args(argv)
    settings = [item.partition("=") for item in args.set]
    if any(not name.startswith("YZT_") or not sep for name, sep, _value in settings):
        parser.error("--set takes YZT_NAME=VALUE")
    args.server_settings = {name: value for name, _sep, value in settings}
    args.duration = min(max(args.duration, 1.0), 120.0)
    args.warmup = min(max(args.warmup, 0.0), 30.0)
    args.connections = min(max(args.connections, 1), 1024)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in TARGETS]
    if unknown or not scenarios:
        parser.error(f"unknown scenario(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(TARGETS)}")
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if loadgen.wrk_available() else "python"
    elif generator == "wrk" and not loadgen.wrk_available():
        parser.error("wrk is not on PATH")

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    workdir = Path(tempfile.mkdtemp(prefix="yzt-bench-"))
    children = Children(workdir)
    try:
        return _run(args, scenarios, generator, workdir, children)
    except BenchError as exc:
        print(f"\nbench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping every process started", file=sys.stderr)
        return 130
    finally:
        children.stop_all()
        if args.keep:
            print(f"kept {workdir} (data directory, logs of every process)", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(args: argparse.Namespace, names: list[str], generator: str, workdir: Path, children: Children) -> int:
    runner = Runner(args, workdir, generator)
    say = lambda text: print(text, flush=True)  # noqa: E731
    load_at_start = os.getloadavg()[0]
    say(f"generator: {generator}, {args.connections} connections, {args.duration:g} s per measurement "
        f"(+{args.warmup:g} s warm-up), {os.cpu_count()} CPUs; loopback {HOST} only; "
        f"load average {load_at_start:.2f}")
    if load_at_start > 0.5 * (os.cpu_count() or 1):
        say("warning: the machine is already busy; absolute figures and ratios will be noisy")

    # (a) the baseline
    baseline_port = free_port()
    baseline = children.start("baseline", [sys.executable, str(HERE / "baseline.py"), "--host", HOST,
                                           "--port", str(baseline_port)], yzt_env({}))
    wait_for_port(baseline_port, baseline, timeout=30)

    # (b) the real server, on a fresh data directory, pointed at the fake WeChat server
    fake_env, _ = start_fake_wechat(children)
    data_dir = workdir / "data"
    data_dir.mkdir()
    server_port = free_port()
    env = yzt_env({**fake_env, "YZT_DATA_DIR": str(data_dir), "YZT_LOG_LEVEL": "warning", "YZT_HOST": HOST,
                   "YZT_PORT": str(server_port), "YZT_PROCESSES": "1", "YZT_ACCESS_TOKEN_TTL": "3600",
                   "YZT_OA_TOKEN": OA_TOKEN, "YZT_OA_AES_KEY": OA_AES_KEY, **args.server_settings})
    if args.server_settings:
        say("server settings: " + ", ".join(f"{name}={value}" for name, value in args.server_settings.items()))
    t0 = time.perf_counter()
    accounts = init_demo(env)
    init_seconds = time.perf_counter() - t0
    server, start_seconds = start_server(children, env, server_port)
    say(f"init-demo {init_seconds:.2f} s; yzt serve: spawn → /healthz 200 in {start_seconds:.2f} s "
        f"(pid {server.pid})")

    api = Http(server_port)
    staff = {name: staff_login(api, name, accounts.get(name, f"{name}@Demo2026"))
             for name in ("center", "housing")}
    citizens = [citizen_login(api, f"bench-{runner.run_id}-{i}") for i in range(min(args.connections, 64))]

    # warm-up of the server process itself (imports, caches, first connections), then its memory
    warm_pool = [Request("GET", "/api/v1/me", {"Authorization": f"Bearer {staff['center']}"})]
    runner.measure(server_port, server.pid, warm_pool, phase="warm", seconds=max(args.warmup, 1))
    rss_warm = rss_mb(server.pid)
    say(f"RSS after warm-up: server {rss_warm['server_mb']} MB, its children (embedded redis) "
        f"{rss_warm['children_mb']} MB")

    ok_pool = [Request("GET", "/", {})]

    def measure_baseline(phase: str) -> Measured:
        if args.warmup:
            runner.measure(baseline_port, baseline.pid, ok_pool, phase=f"{phase}-warm", seconds=args.warmup)
        m = runner.measure(baseline_port, baseline.pid, ok_pool, phase=phase, seconds=args.duration)
        say(f"baseline ({phase}): {m.load.rps:,.0f} req/s, p50 {m.load.p50_ms:.2f} ms, "
            f"p99 {m.load.p99_ms:.2f} ms, {m.cpu_us_per_req:.0f} µs CPU/req")
        return m

    # B0 S1 B1 S2 B2 ...: each scenario is compared with the mean of the baselines measured just before
    # and just after it, so a machine that gets busier or quieter during the run moves both alike.
    baselines = [measure_baseline("baseline-0")]
    if baselines[0].load.requests == 0:
        raise BenchError("the baseline answered no request")

    rows: list[dict[str, Any]] = []
    preparers: dict[str, Callable[[], Scenario]] = {
        "me": lambda: prepare_me(api, staff, citizens, runner.run_id),
        "letter_create": lambda: prepare_letter_create(api, staff, citizens, runner.run_id),
        "inbox": lambda: prepare_inbox(api, staff, citizens, runner.run_id),
        "todos": lambda: prepare_todos(api, staff, citizens, runner.run_id),
        "callback": lambda: prepare_callback(api, CallbackMessages(fake_env["YZT_OA_APPID"]),
                                             staff_login(api, "admin", accounts.get("admin", "admin@Demo2026")),
                                             runner.run_id),
    }
    for name in names:
        row: dict[str, Any] = {"scenario": name, "target": TARGETS[name]}
        rows.append(row)
        try:
            scenario = preparers[name]()
        except NotAvailable as exc:
            row.update(status="not available", reason=str(exc))
            say(f"{name}: not available ({exc})")
            continue
        except (BenchError, OSError, http.client.HTTPException) as exc:
            row.update(status="error", reason=str(exc))
            say(f"{name}: error: {exc}")
            if re.search(r"HTTP 5\d\d", str(exc)):  # the server's own account of it
                row["server_log_tail"] = children.log_tail(server, 30)
                say(f"  server log: {last_error(row['server_log_tail'])}")
            continue
        if server.poll() is not None:
            raise BenchError(f"yzt serve exited:\n{children.log_tail(server)}")
        settled = settle(server.pid)
        scenario.notes.append(f"server idle after {settled:.1f} s (background work of earlier scenarios "
                              "finished before measuring)")
        pool_size = None
        if callable(scenario.pool):
            # Distinct requests: at least one per request sent. The scenario cannot outrun the
            # baseline (1.25 × its best rate); once warmed up, twice its warm-up rate is plenty.
            expect_rps = max(b.load.rps for b in baselines) * 1.25 + 100
            if args.warmup:
                warm_pool = scenario.pool(int(expect_rps * args.warmup) + 50, "warm")
                warm = runner.measure(server_port, server.pid, warm_pool, phase=f"{name}-warm",
                                      seconds=args.warmup, unique_key=scenario.unique_key)
                expect_rps = min(expect_rps, warm.load.rps * 2 + 100)
            t = time.perf_counter()
            pool = scenario.pool(int(expect_rps * args.duration) + 200, "run")
            pool_size = len(pool)
            scenario.notes.append(f"{pool_size} distinct messages generated in {time.perf_counter() - t:.1f} s")
        else:
            pool = scenario.pool
            if args.warmup:
                runner.measure(server_port, server.pid, pool, phase=f"{name}-warm", seconds=args.warmup,
                               unique_key=scenario.unique_key)
        m = runner.measure(server_port, server.pid, pool, phase=name, seconds=args.duration,
                           unique_key=scenario.unique_key)
        if pool_size is not None and m.load.requests > pool_size:
            scenario.notes.append(f"at least {m.load.requests - pool_size} requests repeated a message "
                                  "(answered from the dedupe cache): the figure is optimistic")
        say(f"{name}: {m.load.rps:,.0f} req/s, p50 {m.load.p50_ms:.2f} ms, p99 {m.load.p99_ms:.2f} ms, "
            f"errors {m.load.errors} {m.load.error_detail or ''}")
        before = baselines[-1]
        after = measure_baseline(f"baseline-{len(baselines)}")
        baselines.append(after)
        base_rps = (before.load.rps + after.load.rps) / 2
        base_cpu = (before.cpu_us_per_req + after.cpu_us_per_req) / 2
        drift = (after.load.rps - before.load.rps) / before.load.rps if before.load.rps else math.nan
        if abs(drift) > NOISY_DRIFT:
            scenario.notes.append(f"the baseline moved {drift:+.0%} around this scenario: the machine was busy "
                                  "with something else; repeat the run (the CPU ratio is less affected)")
        ratio = m.load.rps / base_rps
        row.update(status="measured", load=m.load.as_dict(), cpu_us_per_req=round(m.cpu_us_per_req, 1),
                   baseline_rps=round(base_rps, 1), baseline_cpu_us_per_req=round(base_cpu, 1),
                   baseline_drift=round(drift, 4), ratio=round(ratio, 3),
                   cpu_ratio=round(base_cpu / m.cpu_us_per_req, 3) if m.cpu_us_per_req else None,
                   verdict=verdict(ratio, TARGETS[name], m.load.as_dict()), notes=scenario.notes)

    api.close()
    rss_load = rss_mb(server.pid) if server.poll() is None else {}
    missed = any(row.get("verdict") != "PASS" for row in rows if row["status"] == "measured")
    print_table(rows)
    say("\nratio = scenario req/s ÷ mean of the baseline req/s measured just before and just after it; "
        "cpu ratio = baseline CPU µs/req ÷ server CPU µs/req (the server with its embedded redis-server).")
    say(f"baseline runs: {', '.join(f'{b.load.rps:,.0f}' for b in baselines)} req/s")
    say(f"server: start {start_seconds:.2f} s; RSS {rss_warm['server_mb']} MB after warm-up, "
        f"{rss_load.get('server_mb', '?')} MB after load (+ embedded redis {rss_load.get('children_mb', '?')} MB)")

    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1m_at_start": round(load_at_start, 2),
                    "load_average_1m_at_end": round(os.getloadavg()[0], 2)},
        "settings": {"generator": generator, "connections": args.connections, "duration_s": args.duration,
                     "warmup_s": args.warmup, "wrk_threads": min(2, args.connections) if generator == "wrk" else None},
        "server": {"init_demo_s": round(init_seconds, 3), "start_s": round(start_seconds, 3),
                   "rss_after_warmup": rss_warm, "rss_after_load": rss_load},
        "baseline": [{**b.load.as_dict(), "cpu_us_per_req": round(b.cpu_us_per_req, 1)} for b in baselines],
        "scenarios": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    say(f"results written to {args.output}")
    return 1 if args.strict and missed else 0


def print_table(rows: list[dict[str, Any]]) -> None:
    header = ("scenario", "req/s", "p50 ms", "p99 ms", "baseline req/s", "ratio", "target", "result",
              "errors", "CPU µs/req", "cpu ratio")
    lines = [header]
    for row in rows:
        if row["status"] != "measured":
            lines.append((row["scenario"], row["status"], "", "", "", "", f"{row['target']:.2f}",
                          "not available" if row["status"] == "not available" else "ERROR", "", "", ""))
            continue
        load = row["load"]
        lines.append((row["scenario"], f"{load['rps']:,.0f}", f"{load['p50_ms']:.2f}", f"{load['p99_ms']:.2f}",
                      f"{row['baseline_rps']:,.0f}", f"{row['ratio']:.2f}", f"{row['target']:.2f}", row["verdict"],
                      f"{load['errors']}", f"{row['cpu_us_per_req']:.0f} / {row['baseline_cpu_us_per_req']:.0f}",
                      f"{row['cpu_ratio']:.2f}" if row["cpu_ratio"] else "-"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for row in rows:
        if row["status"] != "measured" and row.get("reason"):
            print(f"  {row['scenario']}: {row['reason'][:500]}")
        for note in row.get("notes", []):
            print(f"  {row['scenario']}: {note}")


if __name__ == "__main__":
    sys.exit(main())
