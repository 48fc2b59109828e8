"""Outbound WeChat and WeCom API calls (async, on the app's one aiohttp session).

wechatpy 1.8.18 is synchronous and lacks stable_token, msg_sec_check v2 and getuserphonenumber
(WECHAT.md §0), so the calls are made here directly. Tokens come from the ``TokenProvider``;
this client never fetches one itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Protocol, Sequence, cast

import aiohttp

from backend.config import Settings
from backend.wechat.errors import AccessTokenInvalid, NotConfigured, WeChatUnavailable
from backend.wechat.tokens import App
from backend.wechat.transport import Transport

log = logging.getLogger(__name__)

Suggest = Literal["pass", "review", "risky"]


class TokenSource(Protocol):
    async def get(self, app: App) -> str: ...

    async def refresh(self, app: App, stale: str) -> str: ...


@dataclass(frozen=True)
class LoginSession:
    """The result of ``jscode2session``. ``session_key`` stays on the server, never sent to the client."""

    openid: str
    session_key: str
    unionid: str | None


@dataclass(frozen=True)
class PhoneNumber:
    phone_number: str  # with the country code for numbers outside mainland China
    pure_phone_number: str
    country_code: str


class WeChatClient:
    def __init__(self, *, session: aiohttp.ClientSession, settings: Settings, tokens: TokenSource,
                 timeout: float = 5.0, attempts: int = 3, backoff: float = 0.2) -> None:
        self._transport = Transport(session, timeout=timeout, attempts=attempts, backoff=backoff)
        self._settings = settings
        self._tokens = tokens

    # --- mini-program -------------------------------------------------------------------------

    async def jscode2session(self, code: str) -> LoginSession:
        """Exchange a ``wx.login`` code. Needs no access token (wechatpy's version would fetch one).

        Raises ``InvalidCode`` (40029/40163), ``WeChatRateLimited`` (45011), ``UserBlocked`` (40226),
        ``WeChatUnavailable``, ``NotConfigured`` (no mini-program appid/secret: nothing is sent);
        map them with ``errors.login_service_error``."""
        s = self._settings
        if not (s.mp_appid and s.mp_secret):
            raise NotConfigured(0, "YZT_MP_APPID / YZT_MP_SECRET are not set")
        data = await self._transport.call("GET", f"{s.wechat_api_base}/sns/jscode2session", params={
            "appid": s.mp_appid, "secret": s.mp_secret, "js_code": code,
            "grant_type": "authorization_code"})
        return LoginSession(openid=data["openid"], session_key=data["session_key"],
                            unionid=data.get("unionid") or None)

    async def get_user_phone_number(self, code: str, openid: str | None = None) -> PhoneNumber:
        """The number behind a ``getPhoneNumber`` button code; ``openid`` makes WeChat check the code
        belongs to that user. Map errors with ``errors.phone_number_service_error``."""
        body: dict[str, Any] = {"code": code}
        if openid:
            body["openid"] = openid
        data = await self._with_token(App.MP, "POST", "/wxa/business/getuserphonenumber", body)
        info = data["phone_info"]
        return PhoneNumber(phone_number=info["phoneNumber"], pure_phone_number=info["purePhoneNumber"],
                           country_code=str(info["countryCode"]))

    async def msg_sec_check(self, openid: str, content: str, scene: int) -> Suggest:
        """Content security v2 for user text (scene 1 profile, 2 comment, 3 forum, 4 social log).

        ``openid`` must be a mini-program user active in the last 2 hours. v2 answers errcode 0 even
        for risky text, so the verdict is ``result.suggest``. When WeChat cannot be reached the
        answer is "review": the text is held for a person instead of being published unchecked."""
        try:
            data = await self._with_token(App.MP, "POST", "/wxa/msg_sec_check", {
                "version": 2, "openid": openid, "scene": scene, "content": content})
        except WeChatUnavailable as exc:
            log.warning("msg_sec_check unavailable, holding the text for review: %s", exc)
            return "review"
        suggest = data.get("result", {}).get("suggest")
        if suggest not in ("pass", "review", "risky"):
            log.warning("msg_sec_check gave an unknown suggest %r, holding the text for review", suggest)
            return "review"
        return cast(Suggest, suggest)

    async def send_subscribe_message(self, openid: str, template_id: str, data: Mapping[str, str], *,
                                     page: str | None = None, miniprogram_state: str = "formal",
                                     lang: str = "zh_CN") -> None:
        """A mini-program subscription message; ``data`` maps keys (``thing1``…) to values.

        Raises ``NoSubscription`` (43101) when the user has no subscription left for the template."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": _values(data),
                                "miniprogram_state": miniprogram_state, "lang": lang}
        if page:
            body["page"] = page
        await self._with_token(App.MP, "POST", "/cgi-bin/message/subscribe/send", body, resend_safe=False)

    # --- Official Account ---------------------------------------------------------------------

    async def send_template_message(self, openid: str, template_id: str, data: Mapping[str, str], *,
                                    url: str | None = None, miniprogram_page: str | None = None,
                                    client_msg_id: str | None = None) -> int:
        """An Official Account template message; returns WeChat's ``msgid`` (matched later by the
        TEMPLATESENDJOBFINISH receipt). ``miniprogram_page`` opens our mini-program instead of ``url``.

        Raises ``NotFollower`` (43004) when the user does not follow the account."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": _values(data)}
        if url:
            body["url"] = url
        if miniprogram_page:
            body["miniprogram"] = {"appid": self._settings.mp_appid, "pagepath": miniprogram_page}
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        result = await self._with_token(App.OA, "POST", "/cgi-bin/message/template/send", body,
                                         resend_safe=False)
        return int(result["msgid"])

    async def send_custom_message(self, openid: str, msgtype: str, content: Mapping[str, Any]) -> None:
        """A customer-service message, e.g. ``("text", {"content": "…"})``; only within 48 h of the
        user's last action (``ServiceWindowClosed``, 45015, otherwise)."""
        await self._with_token(App.OA, "POST", "/cgi-bin/message/custom/send",
                               {"touser": openid, "msgtype": msgtype, msgtype: dict(content)},
                               resend_safe=False)

    async def create_menu(self, menu: Mapping[str, Any]) -> None:
        """Replace the Official Account menu: ``{"button": [...]}`` as WeChat defines it."""
        await self._with_token(App.OA, "POST", "/cgi-bin/menu/create", menu)

    # --- WeCom --------------------------------------------------------------------------------

    async def send_wecom_message(self, userids: Sequence[str], msgtype: str,
                                 content: Mapping[str, Any]) -> list[str]:
        """An app message to WeCom members, e.g. ``(["zhangsan"], "text", {"content": "…"})``.

        Returns the user ids WeCom could not deliver to (``invaliduser``)."""
        s = self._settings
        body = {"touser": "|".join(userids), "msgtype": msgtype, "agentid": int(s.wecom_agentid or 0),
                msgtype: dict(content)}
        data = await self._with_token(App.WECOM, "POST", "/cgi-bin/message/send", body,
                                      base=s.wecom_api_base, resend_safe=False)
        return [user for user in str(data.get("invaliduser") or "").split("|") if user]

    # ------------------------------------------------------------------------------------------

    async def _with_token(self, app: App, method: str, path: str, body: Mapping[str, Any], *,
                          base: str | None = None, resend_safe: bool = True) -> dict[str, Any]:
        url = f"{base or self._settings.wechat_api_base}{path}"
        token = await self._tokens.get(app)
        try:
            return await self._transport.call(method, url, params={"access_token": token}, body=body,
                                              resend_safe=resend_safe)
        except AccessTokenInvalid:
            token = await self._tokens.refresh(app, stale=token)
        return await self._transport.call(method, url, params={"access_token": token}, body=body,
                                          resend_safe=resend_safe)


def _values(data: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {key: {"value": value} for key, value in data.items()}
