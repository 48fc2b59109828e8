"""The fake server behaves like WeChat where the project depends on it."""

from __future__ import annotations

from typing import Any, Mapping

import aiohttp
import pytest

from backend.config import Settings
from backend.wechat.fake_server import FakeWeChat, run_fake_wechat


async def post(http: aiohttp.ClientSession, url: str, body: Mapping[str, object]) -> dict[str, Any]:
    async with http.post(url, json=dict(body)) as resp:
        return dict(await resp.json())


async def test_tokens_are_checked(fake: FakeWeChat, settings: Settings, http: aiohttp.ClientSession) -> None:
    url = f"{fake.url}/cgi-bin/menu/create"
    menu = {"button": [{"type": "click", "name": "办事", "key": "K"}]}
    assert (await post(http, url, menu))["errcode"] == 41001
    assert (await post(http, f"{url}?access_token=forged", menu))["errcode"] == 40001
    mp = await post(http, f"{fake.url}/cgi-bin/stable_token", {
        "grant_type": "client_credential", "appid": settings.mp_appid, "secret": settings.mp_secret})
    assert (await post(http, f"{url}?access_token={mp['access_token']}", menu))["errcode"] == 48001
    oa = await post(http, f"{fake.url}/cgi-bin/stable_token", {
        "grant_type": "client_credential", "appid": settings.oa_appid, "secret": settings.oa_secret})
    assert (await post(http, f"{url}?access_token={oa['access_token']}", menu))["errcode"] == 0
    fake.expire_token(str(oa["access_token"]))
    assert (await post(http, f"{url}?access_token={oa['access_token']}", menu))["errcode"] == 42001
    wrong = await post(http, f"{fake.url}/cgi-bin/stable_token", {
        "grant_type": "client_credential", "appid": settings.oa_appid, "secret": "guess"})
    assert wrong["errcode"] == 40125 and "rid:" in str(wrong["errmsg"])


async def test_classic_token_replaces_the_previous_one(fake: FakeWeChat, settings: Settings,
                                                       http: aiohttp.ClientSession) -> None:
    query = {"grant_type": "client_credential", "appid": settings.oa_appid, "secret": settings.oa_secret}
    async with http.get(f"{fake.url}/cgi-bin/token", params=query) as resp:
        first = await resp.json()
    async with http.get(f"{fake.url}/cgi-bin/token", params=query) as resp:
        second = await resp.json()
    assert first["access_token"] != second["access_token"] and second["expires_in"] == 7200


async def test_stable_token_repeats_until_forced(fake: FakeWeChat, settings: Settings,
                                                 http: aiohttp.ClientSession) -> None:
    body = {"grant_type": "client_credential", "appid": settings.mp_appid, "secret": settings.mp_secret}
    first = await post(http, f"{fake.url}/cgi-bin/stable_token", body)
    assert (await post(http, f"{fake.url}/cgi-bin/stable_token", body))["access_token"] == first["access_token"]
    forced = await post(http, f"{fake.url}/cgi-bin/stable_token", body | {"force_refresh": True})
    assert forced["access_token"] != first["access_token"]


@pytest.mark.parametrize("path", ["/cgi-bin/message/custom/send", "/wxa/msg_sec_check"])
async def test_bodies_must_be_json(fake: FakeWeChat, http: aiohttp.ClientSession, path: str) -> None:
    async with http.post(f"{fake.url}{path}", data=b"not json") as resp:
        assert (await resp.json())["errcode"] == 47001
    assert fake.calls_to(path)[0].body == "not json"


async def test_sandbox_accepts_any_code(http: aiohttp.ClientSession) -> None:
    async with run_fake_wechat(sandbox=True) as sandbox:
        settings = sandbox.apply(Settings())
        params = {"appid": settings.mp_appid, "secret": settings.mp_secret, "js_code": "devtools-code",
                  "grant_type": "authorization_code"}
        async with http.get(f"{sandbox.url}/sns/jscode2session", params=params) as resp:
            answer = await resp.json()
    assert answer["openid"].startswith("o") and "errcode" not in answer
