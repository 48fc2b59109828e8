"""The Official Account callback, driven the way WeChat drives it (wechatpy builds the requests)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis
import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.messages import BaseMessage
from wechatpy.replies import ArticlesReply, BaseReply, ImageReply, MusicReply, TextReply, VideoReply, VoiceReply

from backend.config import Settings
from backend.errors import Forbidden, PayloadTooLarge, ValidationFailed
from backend.wechat.callback import OfficialAccountCallback, Responder
from backend.wechat.client import WeChatClient
from backend.wechat.fake_server import FakeWeChat

from .conftest import CALLBACK_TOKEN, OA_ID, WeChatSim, new_aes_key

MakeCallback = Callable[..., OfficialAccountCallback]


class Echo:
    """A responder that counts its runs and can be slow or fail."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.runs = 0
        self.delay = delay
        self.fail = fail

    async def __call__(self, message: BaseMessage) -> BaseReply | None:
        self.runs += 1
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("behaviour broke")
        if message.type == "text":
            return TextReply(message=message, content=f"收到：{message.content}")
        return None


@pytest.fixture
async def make_callback(settings: Settings, redis: aioredis.Redis,
                        client: WeChatClient) -> AsyncIterator[MakeCallback]:
    made: list[OfficialAccountCallback] = []

    def make(responder: Responder, *, plain_mode: bool = False, **options: object) -> OfficialAccountCallback:
        """``plain_mode``: no AES key configured (明文模式), the only mode that takes plaintext
        without ``YZT_OA_COMPAT_MODE``."""
        options.setdefault("deadline", 1.0)
        configured = settings.replace(oa_aes_key="", oa_previous_aes_key="") if plain_mode else settings
        callback = OfficialAccountCallback(settings=configured, redis=redis, client=client,
                                           responder=responder, **options)  # type: ignore[arg-type]
        made.append(callback)
        return callback

    yield make
    for callback in made:
        await callback.aclose()


def test_url_verification_echoes(make_callback: MakeCallback, sim: WeChatSim) -> None:
    callback = make_callback(Echo())
    assert callback.verify_get(sim.signed(echostr="1234567890")) == "1234567890"
    forged = sim.signed(echostr="1234567890") | {"signature": "0" * 40}
    with pytest.raises(Forbidden):
        callback.verify_get(forged)
    with pytest.raises(Forbidden):
        callback.verify_get({"echostr": "x"})


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_text_message_round_trip(make_callback: MakeCallback, sim: WeChatSim, mode: str) -> None:
    echo = Echo()
    args, body = sim.request(sim.text("o_li_si", "办理居住证需要什么材料"), mode)
    raw = await make_callback(echo, plain_mode=mode == "plain").handle_post(args, body)
    assert (b"<Encrypt>" in raw) is (mode != "plain")  # encrypted exactly when WeChat encrypted
    reply = sim.read_reply(raw)
    assert isinstance(reply, dict)
    assert reply["MsgType"] == "text" and reply["Content"] == "收到：办理居住证需要什么材料"
    assert (reply["ToUserName"], reply["FromUserName"]) == ("o_li_si", OA_ID)
    assert echo.runs == 1


async def test_no_reply_answers_success_even_in_safe_mode(make_callback: MakeCallback, sim: WeChatSim) -> None:
    args, body = sim.request(sim.event("o_li_si", "VIEW", "<EventKey><![CDATA[https://example.cn]]></EventKey>"))
    assert await make_callback(Echo()).handle_post(args, body) == b"success"


async def test_forged_signatures_are_refused(make_callback: MakeCallback, sim: WeChatSim) -> None:
    echo = Echo()
    callback = make_callback(echo)
    args, body = sim.request(sim.text("o_li_si", "你好"), "plain")
    with pytest.raises(Forbidden):
        await callback.handle_post(args | {"signature": "f" * 40}, body)
    args, body = sim.request(sim.text("o_li_si", "你好"), "safe")
    with pytest.raises(Forbidden):
        await callback.handle_post(args | {"msg_signature": "f" * 40}, body)
    with pytest.raises(Forbidden):
        await callback.handle_post({k: v for k, v in args.items() if k != "msg_signature"}, body)
    with pytest.raises(Forbidden):
        await callback.handle_post(args | {"nonce": "1]]><x>"}, body)
    assert echo.runs == 0


def test_without_a_configured_token_everything_is_refused(settings: Settings, redis: aioredis.Redis,
                                                          client: WeChatClient) -> None:
    callback = OfficialAccountCallback(settings=settings.replace(oa_token=""), redis=redis, client=client,
                                       responder=Echo())
    # What anyone could compute if an empty token were accepted:
    args = {"timestamp": "1763776800", "nonce": "42", "echostr": "x",
            "signature": hashlib.sha1("".join(sorted(["", "1763776800", "42"])).encode()).hexdigest()}
    with pytest.raises(Forbidden):
        callback.verify_get(args)


async def test_redis_down_still_answers(settings: Settings, client: WeChatClient, sim: WeChatSim,
                                        tmp_path: Path) -> None:
    down = aioredis.from_url(f"unix://{tmp_path}/no-redis.sock")
    callback = OfficialAccountCallback(settings=settings, redis=down, client=client, responder=Echo())
    reply = sim.read_reply(await callback.handle_post(*sim.request(sim.text("o_li_si", "你好"))))
    assert isinstance(reply, dict) and reply["Content"] == "收到：你好"
    await down.aclose()


async def test_replayed_msgid_gets_the_same_reply_and_runs_once(make_callback: MakeCallback,
                                                                sim: WeChatSim) -> None:
    echo = Echo()
    callback = make_callback(echo)
    xml = sim.text("o_li_si", "你好")
    first = sim.read_reply(await callback.handle_post(*sim.request(xml)))
    again = sim.read_reply(await callback.handle_post(*sim.request(xml)))  # WeChat's retry, newly signed
    assert first == again and echo.runs == 1


async def test_a_retry_during_the_first_delivery_waits_for_its_reply(make_callback: MakeCallback,
                                                                     sim: WeChatSim) -> None:
    echo = Echo(delay=0.3)
    callback = make_callback(echo)
    xml = sim.text("o_li_si", "你好")
    replies = await asyncio.gather(callback.handle_post(*sim.request(xml)), callback.handle_post(*sim.request(xml)))
    first, second = (sim.read_reply(r) for r in replies)
    assert first == second and isinstance(first, dict) and first["Content"] == "收到：你好"
    assert echo.runs == 1


async def test_events_are_deduplicated_by_sender_and_time(make_callback: MakeCallback, sim: WeChatSim) -> None:
    echo = Echo()
    callback = make_callback(echo)
    click = sim.event("o_li_si", "CLICK", "<EventKey><![CDATA[GUIDE]]></EventKey>", create_time=1763776800)
    await callback.handle_post(*sim.request(click))
    await callback.handle_post(*sim.request(click))
    assert echo.runs == 1
    later = sim.event("o_li_si", "CLICK", "<EventKey><![CDATA[GUIDE]]></EventKey>", create_time=1763776801)
    other_user = sim.event("o_zhang", "CLICK", "<EventKey><![CDATA[GUIDE]]></EventKey>", create_time=1763776800)
    await callback.handle_post(*sim.request(later))
    await callback.handle_post(*sim.request(other_user))
    assert echo.runs == 3


def test_the_xml_libraries_refuse_entities() -> None:
    bomb = '<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><xml><MsgType>&b;</MsgType></xml>'
    with pytest.raises(ValueError, match="entities are disabled"):
        xmltodict.parse(bomb)
    with pytest.raises(ValueError):
        parse_message(bomb)


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_xml_entities_are_refused(make_callback: MakeCallback, sim: WeChatSim, mode: str) -> None:
    echo = Echo()
    xxe = ('<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
           '<xml><ToUserName>gh</ToUserName><FromUserName>o_li_si</FromUserName><CreateTime>1</CreateTime>'
           '<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>')
    with pytest.raises(ValidationFailed):
        await make_callback(echo, plain_mode=mode == "plain").handle_post(*sim.request(xxe, mode))
    assert echo.runs == 0


async def test_malformed_xml_is_refused(make_callback: MakeCallback, sim: WeChatSim) -> None:
    callback = make_callback(Echo(), plain_mode=True)
    for body in ("<xml><MsgType>text", "not xml", "<other><MsgType>text</MsgType></other>",
                 "<xml><ToUserName>gh</ToUserName><Content>no type</Content></xml>"):
        with pytest.raises(ValidationFailed):
            await callback.handle_post(sim.signed(), body.encode())


async def test_oversized_body_is_refused(make_callback: MakeCallback, sim: WeChatSim) -> None:
    args, body = sim.request(sim.text("o_li_si", "长" * 22_000), "plain")
    assert len(body) > 64 * 1024
    with pytest.raises(PayloadTooLarge):
        await make_callback(Echo()).handle_post(args, body)


async def test_wrong_aes_key_is_refused(make_callback: MakeCallback, sim: WeChatSim, settings: Settings) -> None:
    stranger = WeChatCrypto(CALLBACK_TOKEN, new_aes_key(), settings.oa_appid)
    echo = Echo()
    with pytest.raises(Forbidden):
        await make_callback(echo).handle_post(*sim.request(sim.text("o_li_si", "你好"), crypto=stranger))
    other_app = WeChatCrypto(CALLBACK_TOKEN, settings.oa_aes_key, "wx_someone_else")
    with pytest.raises(Forbidden):
        await make_callback(echo).handle_post(*sim.request(sim.text("o_li_si", "你好"), crypto=other_app))
    assert echo.runs == 0


async def test_previous_aes_key_still_works_and_gets_its_reply_in_that_key(
        make_callback: MakeCallback, sim: WeChatSim, settings: Settings) -> None:
    previous = WeChatCrypto(CALLBACK_TOKEN, settings.oa_previous_aes_key, settings.oa_appid)
    raw = await make_callback(Echo()).handle_post(*sim.request(sim.text("o_li_si", "你好"), crypto=previous))
    reply = sim.read_reply(raw, crypto=previous)
    assert isinstance(reply, dict) and reply["Content"] == "收到：你好"


async def test_slow_behaviour_answers_success_then_sends_a_customer_service_message(
        make_callback: MakeCallback, sim: WeChatSim, fake: FakeWeChat) -> None:
    fake.followers.add("o_li_si")
    echo = Echo(delay=0.3)
    callback = make_callback(echo, deadline=0.05)
    xml = sim.text("o_li_si", "查询办件进度")
    assert await callback.handle_post(*sim.request(xml)) == b"success"
    assert await callback.handle_post(*sim.request(xml)) == b"success"  # WeChat's retry
    assert fake.calls_to("/cgi-bin/message/custom/send") == []
    await callback.aclose()
    call, = fake.calls_to("/cgi-bin/message/custom/send")
    assert call.body == {"touser": "o_li_si", "msgtype": "text", "text": {"content": "收到：查询办件进度"}}
    assert echo.runs == 1


async def test_a_failed_behaviour_lets_the_retry_run_again(make_callback: MakeCallback, sim: WeChatSim) -> None:
    echo = Echo(fail=True)
    callback = make_callback(echo)
    xml = sim.text("o_li_si", "你好")
    with pytest.raises(RuntimeError):
        await callback.handle_post(*sim.request(xml))
    echo.fail = False
    reply = sim.read_reply(await callback.handle_post(*sim.request(xml)))
    assert isinstance(reply, dict) and reply["Content"] == "收到：你好" and echo.runs == 2


async def test_a_late_reply_that_wechat_refuses_is_logged(make_callback: MakeCallback, sim: WeChatSim,
                                                          fake: FakeWeChat, caplog: pytest.LogCaptureFixture) -> None:
    callback = make_callback(Echo(delay=0.1), deadline=0.01)  # o_gone unfollowed: 45015
    assert await callback.handle_post(*sim.request(sim.text("o_gone", "你好"))) == b"success"
    await callback.aclose()
    assert len(fake.calls_to("/cgi-bin/message/custom/send")) == 1
    assert "could not send the late reply" in caplog.text


class Late:
    """A responder slower than the deadline, answering with ``reply`` (or raising it)."""

    def __init__(self, reply: BaseReply | Exception | None, delay: float = 0.05) -> None:
        self.reply, self.delay = reply, delay

    async def __call__(self, message: BaseMessage) -> BaseReply | None:
        await asyncio.sleep(self.delay)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


def news() -> ArticlesReply:
    reply = ArticlesReply()
    reply.add_article({"title": "居住证办理指南", "description": "材料清单", "image": "https://img.example/1.png",
                       "url": "https://yzt.example.cn/guide/1"})
    return reply


@pytest.mark.parametrize(("reply", "msgtype", "payload"), [
    (ImageReply(media_id="m-image"), "image", {"media_id": "m-image"}),
    (VoiceReply(media_id="m-voice"), "voice", {"media_id": "m-voice"}),
    (VideoReply(media_id="m-video", title="办事视频", description="三分钟看懂"), "video",
     {"media_id": "m-video", "title": "办事视频", "description": "三分钟看懂"}),
    (news(), "news", {"articles": [{"title": "居住证办理指南", "description": "材料清单",
                                    "url": "https://yzt.example.cn/guide/1", "picurl": "https://img.example/1.png"}]}),
])
async def test_late_replies_become_customer_service_messages(make_callback: MakeCallback, sim: WeChatSim,
                                                             fake: FakeWeChat, reply: BaseReply, msgtype: str,
                                                             payload: dict[str, object]) -> None:
    fake.followers.add("o_li_si")
    callback = make_callback(Late(reply), deadline=0.01)
    assert await callback.handle_post(*sim.request(sim.text("o_li_si", "你好"))) == b"success"
    await callback.aclose()
    call, = fake.calls_to("/cgi-bin/message/custom/send")
    assert call.body == {"touser": "o_li_si", "msgtype": msgtype, msgtype: payload}


@pytest.mark.parametrize("reply", [None, MusicReply(title="x"), RuntimeError("late failure")])
async def test_late_results_that_cannot_be_sent_send_nothing(make_callback: MakeCallback, sim: WeChatSim,
                                                             fake: FakeWeChat, reply: BaseReply | Exception | None,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    callback = make_callback(Late(reply), deadline=0.01)
    assert await callback.handle_post(*sim.request(sim.text("o_li_si", "你好"))) == b"success"
    await callback.aclose()
    assert fake.calls_to("/cgi-bin/message/custom/send") == []
    if reply is not None:
        assert "cannot be sent" in caplog.text or "failed after the reply deadline" in caplog.text


async def test_shutdown_cancels_late_work_that_does_not_finish(make_callback: MakeCallback, sim: WeChatSim,
                                                               fake: FakeWeChat) -> None:
    responder = Late(TextReply(content="太迟了"), delay=10)
    callback = make_callback(responder, deadline=0.01)
    await callback.handle_post(*sim.request(sim.text("o_li_si", "你好")))
    await callback.aclose(timeout=0.05)
    assert fake.calls_to("/cgi-bin/message/custom/send") == []


async def test_a_reply_without_addresses_is_addressed_to_the_sender(make_callback: MakeCallback,
                                                                    sim: WeChatSim) -> None:
    callback = make_callback(Late(TextReply(content="您好"), delay=0))
    reply = sim.read_reply(await callback.handle_post(*sim.request(sim.text("o_li_si", "你好"))))
    assert isinstance(reply, dict) and (reply["ToUserName"], reply["FromUserName"]) == ("o_li_si", OA_ID)


@pytest.mark.parametrize("encrypted", ["!!!not base64!!!", "QUJDREU=", "A" * 64])
async def test_garbage_ciphertext_is_refused(make_callback: MakeCallback, sim: WeChatSim, encrypted: str) -> None:
    args = sim.signed(encrypt_type="aes")
    args["msg_signature"] = hashlib.sha1("".join(sorted([CALLBACK_TOKEN, args["timestamp"], args["nonce"],
                                                         encrypted])).encode()).hexdigest()
    body = f"<xml><ToUserName>{OA_ID}</ToUserName><Encrypt>{encrypted}</Encrypt></xml>".encode()
    with pytest.raises(Forbidden):
        await make_callback(Echo()).handle_post(args, body)


async def test_plain_mode_body_must_be_utf8(make_callback: MakeCallback, sim: WeChatSim) -> None:
    for encoding in ("GBK", "ISO-8859-1"):  # expat refuses the first, we refuse the second
        body = f'<?xml version="1.0" encoding="{encoding}"?><xml><MsgType>text</MsgType><Content>é</Content></xml>'
        with pytest.raises(ValidationFailed):
            await make_callback(Echo(), plain_mode=True).handle_post(sim.signed(), body.encode(encoding))
