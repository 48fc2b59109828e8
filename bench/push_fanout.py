"""Push benchmark (a script, not a test): fan-out throughput of one push worker, and a WebSocket
broadcast to many connected clients.

    python bench/push_fanout.py [--notifications 100000] [--per-event 1000] [--clients 1000]
                                [--scenarios subscribe,wecom,broadcast] [--concurrency 128]

Everything listens on 127.0.0.1. The fake WeChat server runs in its own process (sandbox mode:
every openid may be sent to), so its CPU is not counted against the worker; Redis is the embedded
redis-server; the store is the embedded SQLite file.

- ``subscribe``: ``--notifications`` citizen notifications (``letter.accepted``, ``--per-event``
  citizens named per event, each with one-time quota). Each one is an inbox entry, a live
  publish, a quota unit spent (one store write) and one ``subscribe/send`` call.
- ``wecom``: the same number of staff notifications (``letter.dispatched`` to a department of
  ``--per-event`` staff): inbox entry, live publish, and WeCom ``message/send`` calls of up to
  1,000 members each.
- ``broadcast``: ``--clients`` WebSocket clients (in a separate process) follow the topic
  ``public:bench``; one message is published and the time until the last client has it is
  measured, several times.

One push worker = one process running ``start_push`` with one events consumer and one worker per
channel (rate limits raised out of the way). Throughput = notifications / (time from the events
being on the stream to the last send acknowledged). Target: ≥ 5,000 notifications/s per worker.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import orjson  # noqa: E402

HOST = "127.0.0.1"
TOPIC = "public:bench"


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_fake_wechat() -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The fake server in its own process group; returns it and the YZT_* settings it prints."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "backend.wechat.fake_server", "--host", HOST, "--port", str(port)],
                            cwd=REPO, stdout=subprocess.PIPE, text=True, start_new_session=True)
    env: dict[str, str] = {}
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "WECOM_AGENTID" not in "".join(env):
        line = proc.stdout.readline()
        if not line:
            break
        name, sep, value = line.strip().partition("=")
        if sep and name.startswith("YZT_"):
            env[name] = value
    if "YZT_WECOM_AGENTID" not in env:
        proc.kill()
        raise RuntimeError("the fake WeChat server did not start")
    return proc, env


def stop(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- the worker side -----------------------------------------------------------------------------

async def seed_users(ctx: Any, kind: str, count: int) -> list[str]:
    from backend.clock import now_stored
    from backend.ids import new_id
    from backend.notifications.queries import QUOTAS, quota_id
    from push.rules import subscribe_templates

    now = now_stored()
    template = subscribe_templates()["letter_progress"].id
    users, quotas = [], []
    for index in range(count):
        uid = new_id()
        if kind == "citizen":
            users.append({"_id": uid, "kind": "citizen", "openid": f"o-bench-{uid}", "roles": ["citizen"],
                          "version": 1, "created_at": now, "updated_at": now})
            quotas.append({"_id": quota_id(uid, template), "user_id": uid, "template_id": template,
                           "long_term": False, "remaining": 1_000_000, "version": 1, "updated_at": now})
        else:
            users.append({"_id": uid, "kind": "staff", "username": f"bench{index}", "department": "bench-dept",
                          "roles": ["staff"], "version": 1, "created_at": now, "updated_at": now})
    await ctx.store.collection("users").insert_many(users)
    if quotas:
        await ctx.store.collection(QUOTAS).insert_many(quotas)
    return [user["_id"] for user in users]


def event(event_type: str, recipients: list[dict[str, str]]) -> bytes:
    from backend.clock import now_stored
    from backend.ids import new_id

    return orjson.dumps({"id": new_id(), "type": event_type, "occurred_at": now_stored(),
                         "subject": {"collection": "letters", "id": new_id()}, "actor": None,
                         "recipients": recipients,
                         "data": {"tracking_no": "XJ-20261122-000001", "title": "小区夜间施工噪音扰民",
                                  "type": "complain"}})


async def fan_out(ctx: Any, channel: str, events: list[bytes], expected: int) -> dict[str, float]:
    from push import keys

    async def counted() -> int:
        stats = await ctx.redis.hgetall(keys.stats(channel))
        return sum(int(stats.get(name, 0)) for name in (b"sent", b"failed", b"dead"))

    start_count = await counted()
    started = time.perf_counter()
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for raw in events:
            pipe.xadd(keys.EVENTS, {"event": raw})
        await pipe.execute()
    expanded_at = None
    while True:
        await asyncio.sleep(0.05)
        if expanded_at is None:
            pending = (await ctx.redis.xpending(keys.EVENTS, keys.GROUP))["pending"]
            info = await ctx.redis.xinfo_groups(keys.EVENTS)
            last = info[0]["last-delivered-id"]
            unread = await ctx.redis.xrange(keys.EVENTS, min=f"({last.decode()}", count=1)
            if not pending and not unread:
                expanded_at = time.perf_counter() - started
        done = await counted() - start_count
        if done >= expected:
            break
    total = time.perf_counter() - started
    stats = await ctx.redis.hgetall(keys.stats(channel))
    return {"seconds": total, "expanded_s": expanded_at or total, "per_second": expected / total,
            "failed": int(stats.get(b"failed", 0)), "dead": int(stats.get(b"dead", 0))}


async def run_fanout(settings: Any, scenarios: list[str], notifications: int, per_event: int,
                     concurrency: int) -> dict[str, Any]:
    from backend.bootstrap import bootstrap
    from push.app import start_push
    from push.config import PushConfig

    config = PushConfig(concurrency=concurrency, job_batch=max(200, concurrency * 2), event_batch=20, state_flush_interval=1.0,
                        rates={name: (1_000_000.0, 1_000_000) for name in ("subscribe", "template", "wecom")})
    results: dict[str, Any] = {}
    events_count = max(1, notifications // per_event)
    async with bootstrap(settings, background=False) as ctx:
        await start_push(ctx, config)
        if "subscribe" in scenarios:
            citizens = await seed_users(ctx, "citizen", per_event)
            recipients = [{"kind": "user", "id": uid} for uid in citizens]
            events = [event("letter.accepted", recipients) for _ in range(events_count)]
            results["subscribe"] = await fan_out(ctx, "subscribe", events, events_count * per_event)
        if "wecom" in scenarios:
            await seed_users(ctx, "staff", per_event)
            events = [event("letter.dispatched", [{"kind": "department", "code": "bench-dept"}])
                      for _ in range(events_count)]
            results["wecom"] = await fan_out(ctx, "wecom", events, events_count * per_event)
        results["inbox_entries"] = await ctx.store.collection("notifications").count({})
    return results


# --- the WebSocket broadcast ------------------------------------------------------------------------

def ws_clients(url: str, tokens: list[str], rounds: int, conn: Any) -> None:
    """Runs in its own process: connect every client, follow the topic, report arrival times."""
    _raise_fd_limit()

    async def main() -> None:
        import tornado.websocket

        async def client(token: str) -> Any:
            ws = await tornado.websocket.websocket_connect(url, max_message_size=1 << 20)
            await ws.write_message(orjson.dumps({"op": "auth", "token": token}).decode())
            while orjson.loads(await ws.read_message())["type"] != "ready":
                pass
            await ws.write_message(orjson.dumps({"op": "subscribe", "topics": [TOPIC]}).decode())
            while orjson.loads(await ws.read_message())["type"] != "subscribed":
                pass
            return ws

        sockets = []
        for start in range(0, len(tokens), 100):  # connect in waves so the server's backlog copes
            sockets += await asyncio.gather(*(client(token) for token in tokens[start:start + 100]))
        conn.send("ready")
        arrivals: list[list[float]] = [[] for _ in range(rounds)]

        async def listen(ws: Any) -> None:
            for _ in range(rounds):
                raw = await ws.read_message()
                message = orjson.loads(raw)["message"]
                arrivals[message["round"]].append(time.time() - message["sent_at"])

        await asyncio.wait_for(asyncio.gather(*(listen(ws) for ws in sockets)), timeout=60)
        conn.send([max(times) for times in arrivals])
        for ws in sockets:
            ws.close()

    asyncio.run(main())


async def run_broadcast(settings: Any, clients: int, rounds: int) -> dict[str, Any]:
    import tornado.netutil

    from backend.app import http_server, make_app
    from backend.bootstrap import bootstrap
    from push.fanout import publish_topic

    async with AsyncExitStack() as stack:
        ctx = await stack.enter_async_context(bootstrap(settings, background=False))
        sockets = tornado.netutil.bind_sockets(0, HOST, backlog=4096)
        port = sockets[0].getsockname()[1]
        server = http_server(make_app(ctx), settings)
        server.add_sockets(sockets)
        stack.callback(server.stop)
        tokens = [(await ctx.tokens.issue_pair({"_id": f"bench-citizen-{i:05d}", "roles": ["citizen"]}, "mp"))
                  ["access_token"] for i in range(clients)]
        parent, child = multiprocessing.get_context("spawn").Pipe()
        proc = multiprocessing.get_context("spawn").Process(
            target=ws_clients, args=(f"ws://{HOST}:{port}/ws", tokens, rounds, child), daemon=True)
        connect_started = time.perf_counter()
        proc.start()
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, parent.poll, 120)
        if not ready or parent.recv() != "ready":
            proc.kill()
            raise RuntimeError("the WebSocket clients did not connect")
        connect_s = time.perf_counter() - connect_started
        await asyncio.sleep(0.5)
        for index in range(rounds):
            await publish_topic(ctx.redis, TOPIC, {"round": index, "sent_at": time.time()})
            await asyncio.sleep(0.5)
        got = await loop.run_in_executor(None, parent.poll, 60)
        latencies = parent.recv() if got else []
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    return {"clients": clients, "connect_s": connect_s, "rounds": latencies}


# --- the ceiling: a bare HTTP client against the same fake server ---------------------------------

async def raw_http_ceiling(fake_env: dict[str, str], concurrency: int, requests: int) -> float:
    """Requests per second of a bare aiohttp client posting subscribe messages to the fake
    server with ``concurrency`` in flight: what a channel that makes one call per message could
    reach on this machine if push cost nothing."""
    import aiohttp

    base = fake_env["YZT_WECHAT_API_BASE"]
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/cgi-bin/stable_token", json={
                "grant_type": "client_credential", "appid": fake_env["YZT_MP_APPID"],
                "secret": fake_env["YZT_MP_SECRET"]}) as resp:
            token = (await resp.json())["access_token"]
        body = orjson.dumps({"touser": "o-bench", "template_id": "t", "data": {"thing1": {"value": "测试"}}})
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate, session.post(f"{base}/cgi-bin/message/subscribe/send", params={"access_token": token},
                                          data=body, headers={"Content-Type": "application/json"}) as resp:
                await resp.read()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        return requests / (time.perf_counter() - started)


# ----------------------------------------------------------------------------------------------

def make_settings(data_dir: Path, fake_env: dict[str, str]) -> Any:
    from backend.config import load_settings

    return load_settings({"YZT_DATA_DIR": str(data_dir), "YZT_LOG_LEVEL": "warning", **fake_env})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=100_000)
    parser.add_argument("--per-event", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=128, help="sends in flight per channel worker")
    parser.add_argument("--scenarios", default="subscribe,wecom,broadcast")
    args = parser.parse_args()
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    _raise_fd_limit()
    try:
        import uvloop
        uvloop.install()
        loop_name = "uvloop"
    except ImportError:
        loop_name = "asyncio"
    import logging
    logging.basicConfig(level=logging.WARNING)

    fake, fake_env = start_fake_wechat()
    workdir = Path(tempfile.mkdtemp(prefix="yzt-push-bench-"))
    try:
        print(f"push bench: {os.cpu_count()} cores, {loop_name}, Python {sys.version.split()[0]}; "
              f"fake WeChat at {fake_env['YZT_WECHAT_API_BASE']}")
        if {"subscribe", "wecom"} & set(scenarios):
            settings = make_settings(workdir / "fanout", fake_env)
            results = asyncio.run(run_fanout(settings, scenarios, args.notifications, args.per_event,
                                             args.concurrency))
            for name in ("subscribe", "wecom"):
                if name in results:
                    r = results[name]
                    verdict = "meets" if r["per_second"] >= 5000 else "MISSES"
                    print(f"  fan-out {name:<9} {args.notifications:>7,} notifications in {r['seconds']:6.2f} s "
                          f"= {r['per_second']:8,.0f}/s  (events expanded after {r['expanded_s']:.2f} s; "
                          f"failed {r['failed']}, dead {r['dead']}) -> {verdict} the 5,000/s target")
            print(f"  inbox entries written: {results['inbox_entries']:,}")
            if "subscribe" in results:
                ceiling = asyncio.run(raw_http_ceiling(fake_env, args.concurrency, 20_000))
                print(f"  ceiling for one call per message: a bare aiohttp client reaches {ceiling:,.0f} req/s "
                      f"against the same fake server; push's subscribe fan-out is "
                      f"{results['subscribe']['per_second'] / ceiling:.2f} of it")
        if "broadcast" in scenarios:
            settings = make_settings(workdir / "broadcast", fake_env)
            result = asyncio.run(run_broadcast(settings, args.clients, args.rounds))
            rounds = result["rounds"]
            if rounds:
                print(f"  broadcast to {result['clients']:,} WebSocket clients (connected in {result['connect_s']:.1f} s): "
                      f"last client after median {statistics.median(rounds) * 1000:.1f} ms, "
                      f"worst {max(rounds) * 1000:.1f} ms over {len(rounds)} rounds")
            else:
                print("  broadcast: the clients did not report")
    finally:
        stop(fake)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
