"""Staff login throttling through HTTP: growing delays per (username, client) and per client, never a
lock-out, the same answers for unknown and real names; and the password policy.

A different client is a different peer address: every 127.x.y.z is the loopback interface, so a
client session bound to 127.0.0.2 is another machine as far as the server can tell. Waits are
passed by moving the app's clock (``harness.ctx.clock.travel``), never by sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from backend import cli
from backend.auth.throttle import LoginThrottle, LoginThrottled, Schedule
from backend.clock import Clock
from backend.rediskit.embedded import EmbeddedRedis
from backend.wechat.fake_server import FakeWeChat
from tests.conftest import ApiClient, Harness, Response, demo_settings, running_app

LOGIN = "/api/v1/auth/login"
FREE = 5  # YZT_LOGIN_FREE_ATTEMPTS's default


@asynccontextmanager
async def client_at(harness: Harness, address: str) -> AsyncIterator[ApiClient]:
    """A client whose connections come from ``address`` (a loopback address other than 127.0.0.1)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0))) as session:
        yield ApiClient(harness.client.base, session)


@pytest.fixture
def clock(harness: Harness) -> Iterator[Clock]:
    yield harness.ctx.clock
    harness.ctx.clock.travel_back()


def later(clock: Clock, seconds: int) -> None:
    clock.travel(clock.now() + timedelta(seconds=seconds))


async def attempt(client: ApiClient, username: str, password: str = "wrong-password", **kw: object) -> Response:
    return await client.post(LOGIN, {"username": username, "password": password}, **kw)


def answer(resp: Response) -> tuple[int, str | None, str, str | None]:
    return resp.status, resp.error_code, resp.body["error"]["message"], resp.headers.get("Retry-After")


async def test_strangers_cannot_lock_a_victim_out(harness: Harness) -> None:
    async with client_at(harness, "127.0.0.2") as stranger:
        answers = [(await attempt(stranger, "housing")).status for _ in range(12)]
    assert set(answers) == {401, 429} and answers[:FREE + 1] == [401] * (FREE + 1), answers
    victim = await attempt(harness.client, "housing", "housing@Demo2026")
    assert victim.status == 200, victim.body


async def test_unknown_and_real_usernames_are_answered_alike(harness: Harness, clock: Clock) -> None:
    sequences = []
    for address, username in (("127.0.0.3", "housing"), ("127.0.0.4", "nobody_here")):
        async with client_at(harness, address) as client:
            seen = [answer(await attempt(client, username)) for _ in range(FREE + 3)]
            later(clock, 2)  # past the first wait: admitted again, and the next wait doubles
            seen += [answer(await attempt(client, username)) for _ in range(2)]
        sequences.append(seen)
    assert sequences[0] == sequences[1], sequences
    assert sequences[0][FREE + 1] == (429, "login_throttled", "登录尝试过于频繁，请稍后再试", "2")
    assert sequences[0][-1][3] == "4"


async def test_delays_grow_and_the_right_password_passes_after_the_wait(harness: Harness, clock: Clock) -> None:
    async with client_at(harness, "127.0.0.5") as client:
        for _ in range(FREE + 1):
            assert (await attempt(client, "env")).status == 401
        waits = []
        for _ in range(3):
            throttled = await attempt(client, "env", "env@Demo2026")  # even the right password waits
            assert throttled.status == 429 and throttled.error_code == "login_throttled"
            waits.append(int(throttled.headers["Retry-After"]))
            later(clock, waits[-1])
            if len(waits) < 3:
                assert (await attempt(client, "env")).status == 401
        assert waits == [2, 4, 8]
        assert (await attempt(client, "env", "env@Demo2026")).status == 200
        # a success starts the pair afresh
        assert [(await attempt(client, "env")).status for _ in range(FREE + 1)] == [401] * (FREE + 1)


async def test_one_client_spraying_many_usernames_is_slowed(tmp_path: Path, demo_data_dir: Path,
                                                             redis_server: EmbeddedRedis,
                                                             redis_client: aioredis.Redis,  # flushed
                                                             fake_wechat: FakeWeChat) -> None:
    free = 8  # YZT_LOGIN_CLIENT_FREE_ATTEMPTS, lowered from 30 to keep the test short
    settings = demo_settings(tmp_path, demo_data_dir, redis_server, fake_wechat, login_client_free_attempts=free)
    async with running_app(settings, fake_wechat) as app:
        async with client_at(app, "127.0.0.6") as sprayer:
            answers = [(await attempt(sprayer, f"guess_{n}")).status for n in range(free + 1)]
            assert answers == [401] * (free + 1), "one try per name: the per-pair counters never fill"
            refused = await attempt(sprayer, "guess_new")
            assert refused.status == 429 and refused.headers["Retry-After"] == "2"
        async with client_at(app, "127.0.0.7") as other:
            assert (await attempt(other, "guess_new")).status == 401
        assert (await attempt(app.client, "center", "center@Demo2026")).status == 200


async def test_parallel_guesses_cannot_slip_past_the_count(harness: Harness) -> None:
    async with client_at(harness, "127.0.0.8") as client:
        answers = await asyncio.gather(*(attempt(client, "housing") for _ in range(20)))
    statuses = [resp.status for resp in answers]
    assert statuses.count(401) <= FREE + 1 and statuses.count(401) + statuses.count(429) == 20, statuses


async def test_forwarded_for_counts_only_from_a_trusted_proxy(harness: Harness, tmp_path: Path,
                                                              demo_data_dir: Path, redis_server: EmbeddedRedis,
                                                              fake_wechat: FakeWeChat) -> None:
    # Not trusted (the default): a header the client writes itself changes nothing.
    async with client_at(harness, "127.0.0.9") as client:
        answers = [(await attempt(client, "housing", headers={"X-Forwarded-For": f"198.51.100.{n}"})).status
                   for n in range(FREE + 2)]
    assert answers[-1] == 429, answers
    # Behind a proxy on 127.0.0.1: the address it forwards is the client.
    settings = demo_settings(tmp_path / "proxied", demo_data_dir, redis_server, fake_wechat,
                             trusted_proxies=("127.0.0.1",))
    async with running_app(settings, fake_wechat) as proxied:
        behind = [(await attempt(proxied.client, "env", headers={"X-Forwarded-For": "203.0.113.7"})).status
                  for _ in range(FREE + 2)]
        assert behind[-1] == 429, behind
        spoofed = await attempt(proxied.client, "env", headers={"X-Forwarded-For": "192.0.2.1, 203.0.113.7"})
        assert spoofed.status == 429, "only the hop the proxy added counts"
        other = await attempt(proxied.client, "env", "env@Demo2026", headers={"X-Forwarded-For": "203.0.113.8"})
        assert other.status == 200, other.body


async def test_no_username_or_address_is_kept_or_logged(harness: Harness, redis_client: aioredis.Redis,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_at(harness, "127.0.0.10") as client:
        for _ in range(FREE + 2):
            await attempt(client, "housing")
    keys = [key async for key in redis_client.scan_iter("yzt:login:*")]
    assert keys
    for key in keys:
        stored = key + b"".join(k + v for k, v in (await redis_client.hgetall(key)).items())
        assert b"housing" not in stored and b"127.0.0" not in stored, stored
    assert "127.0.0.10" not in caplog.text


async def test_throttle_goes_on_in_the_process_while_redis_is_down(tmp_path: Path) -> None:
    dead = aioredis.from_url(f"unix://{tmp_path / 'no-redis.sock'}", socket_connect_timeout=0.2)
    schedule = Schedule(free=2, delay=2, max_delay=60, forget=600)
    throttle = LoginThrottle(redis=dead, pair=schedule, client=schedule, digest=lambda text: text, clock=Clock())
    for _ in range(3):
        await throttle.admit("housing", "192.0.2.1")
    with pytest.raises(LoginThrottled) as refused:
        await throttle.admit("housing", "192.0.2.1")
    assert refused.value.retry_after == 2
    await throttle.admit("housing", "192.0.2.2")  # another client is not slowed
    await dead.aclose()


# --- password policy ----------------------------------------------------------------------------

async def test_common_passwords_and_the_username_are_refused(harness: Harness) -> None:
    admin = await harness.staff("admin")
    base = {"name": "新同事", "roles": ["staff"], "department": "qd-housing"}
    for username, password in (("li_ming", "password123"), ("li_ming", "Qwer1234"), ("li_ming", "12345678"),
                               ("li_ming", "li_ming2026!"), ("li_ming", "X-LI_MING-x"),
                               ("li_ming", "li_ming@Demo2026")):
        resp = await admin.post("/api/v1/staff-users", {**base, "username": username, "password": password})
        assert resp.status == 400 and resp.error_code == "weak_password", (password, resp.body)
        assert resp.body["error"]["details"]["fields"][0]["field"] == "password"
    created = await admin.post("/api/v1/staff-users", {**base, "username": "li_ming", "password": "Hai-Bin#2026"})
    assert created.status == 201, created.body
    for weak in ("iloveyou", "Li_Ming#2026"):
        resp = await admin.patch(f"/api/v1/staff-users/{created.body['id']}", {"password": weak})
        assert resp.status == 400 and resp.error_code == "weak_password", (weak, resp.body)
    assert (await attempt(harness.client, "li_ming", "Hai-Bin#2026")).status == 200, "the password is unchanged"


def test_create_user_command_refuses_a_common_password(tmp_path: Path, redis_server: EmbeddedRedis,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("YZT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("YZT_REDIS_URL", redis_server.url)
    monkeypatch.setenv("YZT_LOG_LEVEL", "warning")
    refused = cli.main(["create-user", "--username", "ops_user", "--password", "password1", "--role", "admin"])
    assert refused == 1 and "密码过于常见" in capsys.readouterr().err
    assert cli.main(["create-user", "--username", "ops_user", "--password", "Ops#Strong-2026", "--role", "admin"]) == 0
