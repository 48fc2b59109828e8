"""Citizen login in a sandbox, as the README tells an operator to run it, and without a mini-program.

Proves: ``python -m backend.wechat.fake_server`` prints exactly the settings kept in
``docs/wechat-sandbox.toml`` (for its default port); an app started with that file (the port moved
to the test's fake server) logs a demo citizen in with ``demo-citizen-1`` again and again as the same
citizen, while any other sandbox code works once; with ``YZT_MP_APPID``/``YZT_MP_SECRET`` empty,
``POST /mp/v1/auth/login`` answers 503 ``mp_not_configured`` and nothing is sent to WeChat.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import redis.asyncio as aioredis
import tornado.netutil

from backend.app import http_server, make_app
from backend.bootstrap import bootstrap
from backend.config import Settings, load_settings
from backend.rediskit.embedded import EmbeddedRedis
from backend.wechat.fake_server import DEFAULT_PORT, run_fake_wechat
from tests.conftest import ApiClient, make_settings
from tests.infra.procs import ROOT, child_env, free_port, kill_quietly, read_line

SANDBOX_FILE = ROOT / "docs" / "wechat-sandbox.toml"


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[ApiClient]:
    async with bootstrap(settings) as ctx:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = http_server(make_app(ctx), settings)
        server.add_sockets(sockets)
        try:
            async with aiohttp.ClientSession() as session:
                yield ApiClient(f"http://127.0.0.1:{sockets[0].getsockname()[1]}", session)
        finally:
            server.stop()


def test_the_sandbox_file_holds_what_the_fake_server_prints() -> None:
    kept = tomllib.loads(SANDBOX_FILE.read_text(encoding="utf-8"))
    assert kept["wechat_api_base"] == f"http://127.0.0.1:{DEFAULT_PORT}"
    port = free_port()  # the default port may be taken on a shared machine: compare all but the port
    proc = subprocess.Popen([sys.executable, "-m", "backend.wechat.fake_server", "--port", str(port)], cwd=ROOT,
                            env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, bufsize=0)
    try:
        header = read_line(proc, timeout=30)
        assert "demo-citizen-1" in header, header
        printed = {}
        while len(printed) < len(kept):
            name, _, value = read_line(proc, timeout=10).strip().partition("=")
            printed[name.removeprefix("YZT_").lower()] = value.replace(f":{port}", f":{DEFAULT_PORT}")
    finally:
        kill_quietly(proc)
    assert printed == kept


async def test_a_demo_citizen_logs_in_again_and_again_in_the_sandbox(
        tmp_path: Path, redis_server: EmbeddedRedis, redis_client: aioredis.Redis) -> None:
    async with run_fake_wechat(sandbox=True) as fake:
        # The README's sandbox: the settings file as it is (its credentials are the ones the fake
        # server registers), only the fake server's port changed.
        kept = load_settings({"YZT_CONFIG_FILE": str(SANDBOX_FILE), "YZT_DATA_DIR": str(tmp_path / "data"),
                              "YZT_REDIS_URL": redis_server.url, "YZT_LOG_LEVEL": "warning"})
        settings = fake.apply(kept)
        assert settings.replace(wechat_api_base=kept.wechat_api_base, wecom_api_base=kept.wecom_api_base) == kept
        async with serving(settings) as api:
            ids = []
            for code in ("demo-citizen-1", "demo-citizen-1", "demo-citizen-2", "demo-citizen-1"):
                login = await api.post("/mp/v1/auth/login", {"code": code})
                assert login.status == 200, login.body
                me = await api.as_(login.body["access_token"]).get("/mp/v1/me")
                assert me.status == 200 and me.body["kind"] == "citizen", me.body
                ids.append(me.body["id"])
            assert ids[0] == ids[1] == ids[3] != ids[2]

            once = await api.post("/mp/v1/auth/login", {"code": "devtools-code"})
            assert once.status == 200, once.body
            again = await api.post("/mp/v1/auth/login", {"code": "devtools-code"})
            assert again.status == 401 and again.error_code == "login_code_used", again.body


async def test_login_without_a_mini_program_says_it_is_not_configured(
        tmp_path: Path, redis_server: EmbeddedRedis, redis_client: aioredis.Redis) -> None:
    async with run_fake_wechat() as fake:
        settings = make_settings(tmp_path / "data", redis_server.url, fake.url).replace(mp_appid="", mp_secret="")
        async with serving(settings) as api:
            resp = await api.post("/mp/v1/auth/login", {"code": "any-code"})
            assert resp.status == 503, resp.body
            assert resp.body["error"]["code"] == "mp_not_configured"
            assert resp.body["error"]["message"] == "小程序尚未配置，暂不能登录"
        assert fake.calls_to("/sns/jscode2session") == []  # nothing was asked of WeChat
