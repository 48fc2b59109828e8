"""The outbound client against the fake WeChat server: answers, error mapping, retries, tokens."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from backend.config import Settings
from backend.errors import Forbidden, RateLimited, Unauthenticated, Unavailable, ValidationFailed
from backend.wechat.client import WeChatClient
from backend.wechat.errors import (
    AccessTokenInvalid,
    InvalidArgument,
    InvalidCode,
    NoSubscription,
    NotFollower,
    ServiceWindowClosed,
    UserBlocked,
    WeChatError,
    WeChatRateLimited,
    WeChatUnavailable,
    login_service_error,
    phone_number_service_error,
)
from backend.wechat.fake_server import FakeWeChat
from backend.wechat.tokens import App, TokenProvider

LOGIN = "/sns/jscode2session"
SEC_CHECK = "/wxa/msg_sec_check"
SUBSCRIBE = "/cgi-bin/message/subscribe/send"
TEMPLATE = "/cgi-bin/message/template/send"
CUSTOM = "/cgi-bin/message/custom/send"


async def test_jscode2session_returns_the_session(client: WeChatClient, fake: FakeWeChat, settings: Settings) -> None:
    code = fake.register_login(openid="o_li_si", unionid="u_li_si", session_key="key==")
    session = await client.jscode2session(code)
    assert (session.openid, session.unionid, session.session_key) == ("o_li_si", "u_li_si", "key==")
    call, = fake.calls_to(LOGIN)
    assert "access_token" not in call.query  # no token needed, none fetched
    assert call.query["appid"] == settings.mp_appid and call.query["grant_type"] == "authorization_code"
    assert fake.calls_to("/cgi-bin/stable_token") == []


async def test_jscode2session_without_unionid(client: WeChatClient, fake: FakeWeChat) -> None:
    assert (await client.jscode2session(fake.register_login(openid="o_zhang"))).unionid is None


@pytest.mark.parametrize(("errcode", "family", "service_error", "status", "message"), [
    (40029, InvalidCode, Unauthenticated, 401, "登录凭证无效，请重新登录"),
    (40163, InvalidCode, Unauthenticated, 401, "登录凭证已使用，请重新登录"),
    (45011, WeChatRateLimited, RateLimited, 429, "登录过于频繁，请稍后再试"),
    (40226, UserBlocked, Forbidden, 403, "您的微信账号存在风险，暂时无法登录"),
    (-1, WeChatUnavailable, Unavailable, 503, "微信服务繁忙，请稍后再试"),
])
async def test_login_errors_map_to_service_errors(client: WeChatClient, fake: FakeWeChat, errcode: int,
                                                  family: type[WeChatError], service_error: type[Exception],
                                                  status: int, message: str) -> None:
    fake.fail_next(LOGIN, errcode)
    with pytest.raises(family) as caught:
        await client.jscode2session("any")
    assert caught.value.errcode == errcode
    mapped = login_service_error(caught.value)
    assert isinstance(mapped, service_error)
    assert (mapped.http_status, mapped.message) == (status, message)
    assert len(fake.calls_to(LOGIN)) == 1  # errcodes are never retried


async def test_unknown_and_reused_codes_come_from_the_fake(client: WeChatClient, fake: FakeWeChat) -> None:
    with pytest.raises(InvalidCode) as unknown:
        await client.jscode2session("never-issued")
    assert unknown.value.errcode == 40029
    fake.register_login(openid="o_wang", code="once")
    await client.jscode2session("once")
    with pytest.raises(InvalidCode) as reused:
        await client.jscode2session("once")
    assert reused.value.errcode == 40163
    assert login_service_error(reused.value).http_status == 401


async def test_unexpected_login_error_is_ours_not_the_users(client: WeChatClient, settings: Settings,
                                                            http: aiohttp.ClientSession,
                                                            tokens: TokenProvider) -> None:
    wrong = WeChatClient(session=http, settings=settings.replace(mp_secret="wrong"), tokens=tokens)
    with pytest.raises(InvalidArgument) as caught:
        await wrong.jscode2session("x")
    assert caught.value.errcode == 40125
    mapped = login_service_error(caught.value)
    assert isinstance(mapped, Unavailable) and mapped.http_status == 503


async def test_phone_number(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.register_phone("13912345678", openid="o_li_si", code="phone-code")
    phone = await client.get_user_phone_number("phone-code", openid="o_li_si")
    assert (phone.phone_number, phone.pure_phone_number, phone.country_code) == ("13912345678", "13912345678", "86")
    with pytest.raises(InvalidCode) as reused:
        await client.get_user_phone_number("phone-code")
    mapped = phone_number_service_error(reused.value)
    assert isinstance(mapped, ValidationFailed) and mapped.message == "手机号授权已失效，请重新授权"
    call = fake.calls_to("/wxa/business/getuserphonenumber")[0]
    assert call.body == {"code": "phone-code", "openid": "o_li_si"} and call.query["access_token"]


async def test_msg_sec_check_verdicts(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.risky_words.add("赌博")
    fake.review_words.add("上访")
    assert await client.msg_sec_check("o_li_si", "小区门口的路灯坏了", scene=2) == "pass"
    assert await client.msg_sec_check("o_li_si", "我要组织上访", scene=2) == "review"
    assert await client.msg_sec_check("o_li_si", "网上赌博平台", scene=3) == "risky"
    assert fake.calls_to(SEC_CHECK)[0].body == {"version": 2, "openid": "o_li_si", "scene": 2,
                                                "content": "小区门口的路灯坏了"}


async def test_msg_sec_check_is_review_when_wechat_cannot_be_reached(
        client: WeChatClient, fake: FakeWeChat, http: aiohttp.ClientSession, settings: Settings,
        tokens: TokenProvider) -> None:
    fake.drop_next(SEC_CHECK, times=3)
    assert await client.msg_sec_check("o_li_si", "你好", scene=2) == "review"
    assert len(fake.calls_to(SEC_CHECK)) == 3  # one try and two retries
    fake.delay_next(SEC_CHECK, 1.0, times=3)  # longer than the client's timeout
    impatient = WeChatClient(session=http, settings=settings, tokens=tokens, timeout=0.1, backoff=0.01)
    assert await impatient.msg_sec_check("o_li_si", "你好", scene=2) == "review"
    fake.fail_next(SEC_CHECK, -1)  # system busy
    assert await client.msg_sec_check("o_li_si", "你好", scene=2) == "review"


async def test_network_failures_are_retried(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.drop_next(SEC_CHECK, times=2)
    assert await client.msg_sec_check("o_li_si", "你好", scene=2) == "pass"
    assert len(fake.calls_to(SEC_CHECK)) == 3


async def test_gateway_errors_are_retried_and_garbage_is_unavailable(client: WeChatClient, fake: FakeWeChat,
                                                                   settings: Settings, tokens: TokenProvider,
                                                                   http: aiohttp.ClientSession) -> None:
    fake.fail_next_http(SEC_CHECK, 502, times=2)
    assert await client.msg_sec_check("o_li_si", "你好", scene=2) == "pass"
    assert len(fake.calls_to(SEC_CHECK)) == 3
    fake.followers.add("o_li_si")
    fake.fail_next_http(CUSTOM, 503)
    with pytest.raises(WeChatUnavailable, match="not resent"):
        await client.send_custom_message("o_li_si", "text", {"content": "你好"})
    assert len(fake.calls_to(CUSTOM)) == 1
    lost = WeChatClient(session=http, settings=settings.replace(wechat_api_base=f"{fake.url}/lost"), tokens=tokens)
    with pytest.raises(WeChatUnavailable, match="HTTP 404, not a JSON object"):
        await lost.create_menu({"button": [{"type": "click", "name": "办事", "key": "K"}]})


async def test_a_send_that_may_have_arrived_is_not_sent_again(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.grant_subscription("o_li_si", "tpl-reply")
    fake.drop_next(SUBSCRIBE)
    with pytest.raises(WeChatUnavailable):
        await client.send_subscribe_message("o_li_si", "tpl-reply", {"thing1": "您的信件已回复"})
    assert len(fake.calls_to(SUBSCRIBE)) == 1
    assert fake.subscriptions_left("o_li_si", "tpl-reply") == 1  # this drop happened before WeChat sent


async def test_a_send_is_retried_when_the_connection_was_refused(
        settings: Settings, tokens: TokenProvider, http: aiohttp.ClientSession,
        caplog: pytest.LogCaptureFixture) -> None:
    await tokens.get(App.OA)  # the token comes from the fake; the send goes nowhere
    nowhere = WeChatClient(session=http, settings=settings.replace(wechat_api_base="http://127.0.0.1:9"),
                           tokens=tokens, timeout=0.5, backoff=0.01)
    with pytest.raises(WeChatUnavailable, match="ClientConnectorError"):
        await nowhere.send_custom_message("o_li_si", "text", {"content": "你好"})
    retries = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len(retries) == 2 and all(CUSTOM in m and "access_token" not in m for m in retries)


async def test_subscribe_message_spends_the_users_quota(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.grant_subscription("o_li_si", "tpl-reply")
    await client.send_subscribe_message("o_li_si", "tpl-reply", {"thing1": "您的信件已回复", "time2": "2026年11月22日 10:00"},
                                        page="pages/letter/detail?id=1")
    with pytest.raises(NoSubscription) as caught:
        await client.send_subscribe_message("o_li_si", "tpl-reply", {"thing1": "再次通知"})
    assert caught.value.errcode == 43101
    body = fake.calls_to(SUBSCRIBE)[0].body
    assert body["data"] == {"thing1": {"value": "您的信件已回复"}, "time2": {"value": "2026年11月22日 10:00"}}
    assert (body["page"], body["miniprogram_state"], body["lang"]) == ("pages/letter/detail?id=1", "formal", "zh_CN")


async def test_template_message_needs_a_follower(client: WeChatClient, fake: FakeWeChat, settings: Settings) -> None:
    with pytest.raises(NotFollower):
        await client.send_template_message("o_stranger", "tpl-1", {"thing1": "办件进度"})
    fake.followers.add("o_li_si")
    msgid = await client.send_template_message("o_li_si", "tpl-1", {"thing1": "办件进度"},
                                               url="https://yzt.example.cn/case/9",
                                               miniprogram_page="pages/case/detail?id=9", client_msg_id="n-1")
    assert isinstance(msgid, int)
    body = fake.calls_to(TEMPLATE)[-1].body
    assert body["miniprogram"] == {"appid": settings.mp_appid, "pagepath": "pages/case/detail?id=9"}
    assert body["client_msg_id"] == "n-1" and body["url"] == "https://yzt.example.cn/case/9"


async def test_custom_message_and_menu(client: WeChatClient, fake: FakeWeChat) -> None:
    with pytest.raises(ServiceWindowClosed):
        await client.send_custom_message("o_stranger", "text", {"content": "你好"})
    fake.followers.add("o_li_si")
    await client.send_custom_message("o_li_si", "text", {"content": "您的信件已受理"})
    assert fake.calls_to(CUSTOM)[-1].body == {"touser": "o_li_si", "msgtype": "text",
                                              "text": {"content": "您的信件已受理"}}
    menu = {"button": [{"type": "click", "name": "办事指南", "key": "GUIDE"}]}
    await client.create_menu(menu)
    assert fake.menu == menu
    with pytest.raises(InvalidArgument):
        await client.create_menu({"button": []})


async def test_wecom_message(client: WeChatClient, fake: FakeWeChat, settings: Settings) -> None:
    assert await client.send_wecom_message(["zhangsan", "lisi"], "text", {"content": "您有一件新的公文待办"}) == []
    call, = fake.calls_to("/cgi-bin/message/send")
    assert call.body["touser"] == "zhangsan|lisi" and call.body["agentid"] == int(settings.wecom_agentid)
    assert call.query["access_token"].startswith("wecom-")


@pytest.mark.parametrize(("app", "spoil"), [(App.OA, "revoke_token"), (App.OA, "expire_token"),
                                            (App.WECOM, "revoke_token")])
async def test_a_rejected_token_is_refreshed_once_and_the_call_retried(
        client: WeChatClient, tokens: TokenProvider, fake: FakeWeChat, app: App, spoil: str) -> None:
    fake.followers.add("o_li_si")
    stale = await tokens.get(app)
    getattr(fake, spoil)(stale)
    if app is App.OA:
        await client.send_custom_message("o_li_si", "text", {"content": "你好"})
        path, token_path = CUSTOM, "/cgi-bin/stable_token"
    else:
        await client.send_wecom_message(["zhangsan"], "text", {"content": "你好"})
        path, token_path = "/cgi-bin/message/send", "/cgi-bin/gettoken"
    first, second = fake.calls_to(path)
    assert first.query["access_token"] == stale and second.query["access_token"] != stale
    assert len(fake.calls_to(token_path)) == 2


async def test_fifty_callers_with_a_stale_token_cause_one_refresh(client: WeChatClient, tokens: TokenProvider,
                                                                  fake: FakeWeChat) -> None:
    fake.followers.add("o_li_si")
    fake.revoke_token(await tokens.get(App.OA))
    await asyncio.gather(*(client.send_custom_message("o_li_si", "text", {"content": f"第{i}条"})
                           for i in range(50)))
    assert len(fake.calls_to("/cgi-bin/stable_token")) == 2
    assert len(fake.calls_to(CUSTOM)) == 100


async def test_token_refresh_happens_only_once_per_call(client: WeChatClient, fake: FakeWeChat) -> None:
    fake.followers.add("o_li_si")
    fake.fail_next(TEMPLATE, 40001, times=3)
    with pytest.raises(AccessTokenInvalid):
        await client.send_template_message("o_li_si", "tpl-1", {"thing1": "x"})
    assert len(fake.calls_to(TEMPLATE)) == 2
