"""Fixtures for the WeChat tests: a real Redis, the fake WeChat server, and ``WeChatSim`` which
plays WeChat's push side with wechatpy (signed, encrypted requests in; our replies decrypted)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from pathlib import Path
from typing import AsyncIterator, Iterator

import aiohttp
import pytest
import redis.asyncio as aioredis
import xmltodict
from wechatpy.crypto import WeChatCrypto

from backend.config import Settings
from backend.rediskit.embedded import EmbeddedRedis
from backend.wechat.client import WeChatClient
from backend.wechat.fake_server import FakeWeChat, run_fake_wechat
from backend.wechat.tokens import TokenProvider

CALLBACK_TOKEN = "yzt-callback-token"
OA_ID = "gh_0123456789ab"


def new_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("wechat-redis"))
    asyncio.run(server.start())
    yield server.url
    asyncio.run(server.stop())


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    async with run_fake_wechat() as server:
        yield server


@pytest.fixture
def settings(fake: FakeWeChat, tmp_path: Path) -> Settings:
    return fake.apply(Settings(data_dir=tmp_path, oa_token=CALLBACK_TOKEN, oa_aes_key=new_aes_key(),
                               oa_previous_aes_key=new_aes_key()))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def tokens(redis: aioredis.Redis, http: aiohttp.ClientSession, settings: Settings) -> TokenProvider:
    return TokenProvider(redis=redis, session=http, settings=settings, timeout=1.0)


@pytest.fixture
def client(http: aiohttp.ClientSession, settings: Settings, tokens: TokenProvider) -> WeChatClient:
    return WeChatClient(session=http, settings=settings, tokens=tokens, timeout=0.5, backoff=0.01)


class WeChatSim:
    """WeChat's side of the callback, built on wechatpy as WECHAT.md §6 describes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.crypto = WeChatCrypto(settings.oa_token, settings.oa_aes_key, settings.oa_appid)
        self._next_msg_id = 24000000000000000

    def signed(self, **extra: str) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), str(int.from_bytes(os.urandom(4), "big"))
        sig = hashlib.sha1("".join(sorted([self.settings.oa_token, timestamp, nonce])).encode()).hexdigest()
        return {"signature": sig, "timestamp": timestamp, "nonce": nonce, **extra}

    def request(self, plain_xml: str, mode: str = "safe", *,
                crypto: WeChatCrypto | None = None) -> tuple[dict[str, str], bytes]:
        """Query arguments and body for ``plain_xml`` in mode plain, compat or safe."""
        if mode == "plain":
            return self.signed(openid="o_user"), plain_xml.encode()
        args = self.signed(openid="o_user", encrypt_type="aes")
        envelope = xmltodict.parse((crypto or self.crypto).encrypt_message(
            plain_xml, args["nonce"], args["timestamp"]))["xml"]
        args["msg_signature"] = envelope["MsgSignature"]
        if mode == "safe":
            body = (f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
        else:  # compatible mode: the plain fields and the ciphertext side by side
            body = plain_xml.replace("</xml>", f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
        return args, body.encode()

    def read_reply(self, reply: bytes, *, crypto: WeChatCrypto | None = None) -> dict[str, str] | str:
        """The reply's fields (decrypted if it is encrypted), or the text ``success``."""
        text = reply.decode()
        if text == "success":
            return text
        fields = xmltodict.parse(text)["xml"]
        if "Encrypt" in fields:
            plain = (crypto or self.crypto).decrypt_message(text, fields["MsgSignature"], fields["TimeStamp"],
                                                           fields["Nonce"])
            fields = xmltodict.parse(plain)["xml"]
        return dict(fields)

    def text(self, openid: str, content: str, *, msg_id: str | None = None) -> str:
        """A text message XML; each call gets a new MsgId unless one is given."""
        if msg_id is None:
            self._next_msg_id += 1
            msg_id = str(self._next_msg_id)
        return (f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName>"
                f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
                f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
                f"<MsgId>{msg_id}</MsgId></xml>")

    def event(self, openid: str, event: str, inner: str = "", *, create_time: int | None = None) -> str:
        return (f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName>"
                f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
                f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
                f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{inner}</xml>")


@pytest.fixture
def sim(settings: Settings) -> WeChatSim:
    return WeChatSim(settings)
