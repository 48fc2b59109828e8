"""A fake WeChat + WeCom API server on loopback, for tests and as a local sandbox.

It answers like the real endpoints the project calls (shapes and error codes from WECHAT.md):
tokens are checked (41001 missing, 40001/40014 invalid, 42001 expired, 48001 wrong app), login
and phone codes are single use, subscription messages spend a per-user quota, template messages
need a follower. Tests set the state directly (``register_login``, ``followers``, ``risky_words``…),
inject faults (``fail_next``, ``fail_next_http``, ``drop_next``, ``delay_next``) and assert on ``calls``.

In tests::

    async with run_fake_wechat() as fake:
        settings = fake.apply(settings)   # API bases point here; app credentials are registered

As a sandbox (lenient: any code logs in once, everyone follows and may be notified)::

    python -m backend.wechat.fake_server            # port 8900 (DEFAULT_PORT); prints the YZT_* settings

The settings it prints for the default port are kept in ``docs/wechat-sandbox.toml``
(``YZT_CONFIG_FILE=docs/wechat-sandbox.toml yzt serve``). In the sandbox the codes
``demo-citizen-1`` … ``demo-citizen-999`` never wear out: each logs the same demo citizen in (the
same openid) every time, so a sandbox session can log in again as the same person.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import secrets
import signal
import time
from collections import Counter, deque
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, NamedTuple

from aiohttp import web

from backend.config import Settings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_BODY: web.RequestKey[dict[str, Any]] = web.RequestKey("body", dict)

DEFAULT_PORT = 8900
# Sandbox login codes that log the same demo citizen in every time (never used up).
DEMO_CITIZEN_CODE = re.compile(r"demo-citizen-[1-9][0-9]{0,2}")


def sandbox_openid(code: str) -> str:
    """The openid the sandbox gives a login code: the same for the same code (``yzt init-demo``
    writes the demo citizens' letters under ``demo-citizen-N``'s)."""
    return "o" + hashlib.sha1(code.encode()).hexdigest()[:27]

# Default credentials registered by ``apply`` when the settings leave them blank.
FAKE_OA = ("wx_fake_oa_appid", "fake-oa-secret")
FAKE_MP = ("wx_fake_mp_appid", "fake-mp-secret")
FAKE_CORP = ("ww_fake_corpid", "fake-wecom-secret", "1000002")

_MESSAGES = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40014: "invalid access_token",
    40016: "invalid button size",
    40029: "invalid code",
    40037: "invalid template_id",
    40056: "invalid agentid",
    40125: "invalid appsecret",
    40129: "invalid scene",
    40163: "code been used",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    40226: "high risk user",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit, must slower, retry next minute",
    45015: "response out of time limit or subscription is canceled",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
}


class Call(NamedTuple):
    path: str
    query: dict[str, str]
    body: Any  # the parsed JSON body, the raw text if it is not JSON, or None


@dataclass
class _Fault:
    errcode: int | None = None
    errmsg: str = ""
    drop: bool = False
    delay: float = 0.0
    http_status: int | None = None


@dataclass
class _Token:
    kind: str  # "oa" | "mp" | "wecom"
    owner: str  # appid or corpid
    expires_at: float
    revoked: bool = False


@dataclass
class _LoginCode:
    openid: str
    session_key: str
    unionid: str | None
    used: bool = False


@dataclass
class _PhoneCode:
    phone: str
    country_code: str
    openid: str | None
    used: bool = False


@dataclass
class FakeWeChat:
    token_ttl: int = 7200
    clock: Callable[[], float] = time.time
    sandbox: bool = False
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    apps: dict[str, tuple[str, str]] = field(default_factory=dict)  # appid -> (kind, secret)
    corps: dict[str, tuple[str, str]] = field(default_factory=dict)  # corpid -> (secret, agentid)
    followers: set[str] = field(default_factory=set)
    risky_words: set[str] = field(default_factory=set)
    review_words: set[str] = field(default_factory=set)
    menu: dict[str, Any] | None = None
    _tokens: dict[str, _Token] = field(default_factory=dict)
    _current: dict[tuple[str, str], str] = field(default_factory=dict)  # (endpoint, owner) -> token
    _login_codes: dict[str, _LoginCode] = field(default_factory=dict)
    _phone_codes: dict[str, _PhoneCode] = field(default_factory=dict)
    _subscriptions: Counter[tuple[str, str]] = field(default_factory=Counter)
    _faults: dict[str, deque[_Fault]] = field(default_factory=dict)
    _next_msgid: int = 1000

    # --- set-up -------------------------------------------------------------------------------

    def apply(self, settings: Settings) -> Settings:
        """``settings`` pointed at this server, with its app credentials registered here (fake
        defaults filled in where blank)."""
        s = settings.replace(
            wechat_api_base=self.url, wecom_api_base=self.url,
            oa_appid=settings.oa_appid or FAKE_OA[0], oa_secret=settings.oa_secret or FAKE_OA[1],
            mp_appid=settings.mp_appid or FAKE_MP[0], mp_secret=settings.mp_secret or FAKE_MP[1],
            wecom_corpid=settings.wecom_corpid or FAKE_CORP[0],
            wecom_secret=settings.wecom_secret or FAKE_CORP[1],
            wecom_agentid=settings.wecom_agentid or FAKE_CORP[2])
        self.register_app(s.oa_appid, s.oa_secret, kind="oa")
        self.register_app(s.mp_appid, s.mp_secret, kind="mp")
        self.register_corp(s.wecom_corpid, s.wecom_secret, s.wecom_agentid)
        return s

    def register_app(self, appid: str, secret: str, *, kind: str) -> None:
        self.apps[appid] = (kind, secret)

    def register_corp(self, corpid: str, secret: str, agentid: str) -> None:
        self.corps[corpid] = (secret, agentid)

    def register_login(self, *, openid: str, unionid: str | None = None, session_key: str | None = None,
                       code: str | None = None) -> str:
        """A ``wx.login`` code (new unless given) that logs in as ``openid``, once."""
        code = code or f"login-{secrets.token_urlsafe(12)}"
        self._login_codes[code] = _LoginCode(openid, session_key or secrets.token_urlsafe(16), unionid)
        return code

    def register_phone(self, phone: str, *, openid: str | None = None, country_code: str = "86",
                       code: str | None = None) -> str:
        """A ``getPhoneNumber`` code (new unless given) for ``phone``, bound to ``openid`` if given."""
        code = code or f"phone-{secrets.token_urlsafe(12)}"
        self._phone_codes[code] = _PhoneCode(phone, country_code, openid)
        return code

    def grant_subscription(self, openid: str, template_id: str, times: int = 1) -> None:
        """The user accepted ``times`` one-time subscriptions to the template."""
        self._subscriptions[(openid, template_id)] += times

    def subscriptions_left(self, openid: str, template_id: str) -> int:
        return self._subscriptions[(openid, template_id)]

    # --- faults and assertions ----------------------------------------------------------------

    def fail_next(self, path: str, errcode: int = -1, *, errmsg: str | None = None, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` answer ``errcode``."""
        self._add_fault(path, _Fault(errcode=errcode, errmsg=errmsg or _MESSAGES.get(errcode, "error")), times)

    def fail_next_http(self, path: str, status: int = 502, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` get a bare HTTP error, as from a failing gateway."""
        self._add_fault(path, _Fault(http_status=status), times)

    def drop_next(self, path: str, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` lose their connection without an answer."""
        self._add_fault(path, _Fault(drop=True), times)

    def delay_next(self, path: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls to ``path`` answer normally after ``seconds``."""
        self._add_fault(path, _Fault(delay=seconds), times)

    def _add_fault(self, path: str, fault: _Fault, times: int) -> None:
        self._faults.setdefault(path, deque()).extend([fault] * times)

    def calls_to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == path]

    def expire_token(self, token: str) -> None:
        """WeChat now answers 42001 for ``token``."""
        self._tokens[token].expires_at = self.clock() - 1

    def revoke_token(self, token: str) -> None:
        """WeChat now answers 40001 (40014 on WeCom) for ``token``, as after a refresh elsewhere."""
        self._tokens[token].revoked = True

    # --- the server ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record_and_inject])
        routes: dict[str, tuple[str, Handler]] = {
            "/cgi-bin/stable_token": ("POST", self._stable_token),
            "/cgi-bin/token": ("GET", self._token),
            "/sns/jscode2session": ("GET", self._jscode2session),
            "/wxa/business/getuserphonenumber": ("POST", self._phone_number),
            "/wxa/msg_sec_check": ("POST", self._msg_sec_check),
            "/cgi-bin/message/subscribe/send": ("POST", self._subscribe_send),
            "/cgi-bin/message/template/send": ("POST", self._template_send),
            "/cgi-bin/message/custom/send": ("POST", self._custom_send),
            "/cgi-bin/menu/create": ("POST", self._menu_create),
            "/cgi-bin/gettoken": ("GET", self._wecom_token),
            "/cgi-bin/message/send": ("POST", self._wecom_send),
        }
        for path, (method, handler) in routes.items():
            app.router.add_route(method, path, handler)
        return app

    @web.middleware
    async def _record_and_inject(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        request[_BODY] = body if isinstance(body, dict) else {}
        self.calls.append(Call(request.path, dict(request.query), body))
        queue = self._faults.get(request.path)
        fault = queue.popleft() if queue else None
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                assert request.transport is not None
                request.transport.close()
                return web.Response()  # never sent: the client sees the connection drop
            if fault.http_status is not None:
                return web.Response(status=fault.http_status, text="<html>Bad Gateway</html>",
                                    content_type="text/html")
            if fault.errcode is not None:
                return _error(fault.errcode, fault.errmsg)
        if request.method == "POST" and not isinstance(body, dict):
            return _error(44002 if body is None else 47001)
        return await handler(request)

    # tokens

    def _mint(self, kind: str, owner: str) -> tuple[str, _Token]:
        value = f"{kind}-{secrets.token_urlsafe(24)}"
        token = _Token(kind, owner, self.clock() + self.token_ttl)
        self._tokens[value] = token
        return value, token

    def _token_answer(self, value: str, token: _Token, **extra: Any) -> web.Response:
        # Like WeChat: no errcode in a token answer; WeCom adds errcode 0 (passed in ``extra``).
        return web.json_response({**extra, "access_token": value,
                                  "expires_in": round(token.expires_at - self.clock())})

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = request[_BODY]
        if body.get("grant_type") != "client_credential":
            return _error(40002)
        checked = self._check_app(str(body.get("appid", "")), str(body.get("secret", "")))
        if isinstance(checked, web.Response):
            return checked
        appid = body["appid"]
        current = self._current.get(("stable", appid))
        token = self._tokens.get(current) if current else None
        # Same token while more than 5 min remain; a new one in the last 5 min, the old one still valid.
        if current and token and not token.revoked and token.expires_at - self.clock() > 300 \
                and not body.get("force_refresh"):
            return self._token_answer(current, token)
        if current and token and body.get("force_refresh"):
            token.revoked = True
        value, new = self._mint(checked, appid)
        self._current[("stable", appid)] = value
        return self._token_answer(value, new)

    async def _token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("grant_type") != "client_credential":
            return _error(40002)
        checked = self._check_app(q.get("appid", ""), q.get("secret", ""))
        if isinstance(checked, web.Response):
            return checked
        previous = self._tokens.get(self._current.get(("token", q["appid"]), ""))
        if previous is not None:  # each fetch replaces the last; the old one works 5 more minutes
            previous.expires_at = min(previous.expires_at, self.clock() + 300)
        value, new = self._mint(checked, q["appid"])
        self._current[("token", q["appid"])] = value
        return self._token_answer(value, new)

    async def _wecom_token(self, request: web.Request) -> web.Response:
        corpid, secret = request.query.get("corpid", ""), request.query.get("corpsecret", "")
        if corpid not in self.corps:
            return _error(40013, "invalid corpid")
        if not secrets.compare_digest(self.corps[corpid][0], secret):
            return _error(40001, "invalid credential")
        current = self._current.get(("wecom", corpid))
        token = self._tokens.get(current) if current else None
        if current and token and not token.revoked and token.expires_at > self.clock():
            return self._token_answer(current, token, errcode=0, errmsg="ok")
        value, new = self._mint("wecom", corpid)
        self._current[("wecom", corpid)] = value
        return self._token_answer(value, new, errcode=0, errmsg="ok")

    def _check_app(self, appid: str, secret: str) -> str | web.Response:
        """The app's kind, or the error WeChat gives for these credentials."""
        if appid not in self.apps:
            return _error(40013)
        kind, expected = self.apps[appid]
        if not secrets.compare_digest(expected, secret):
            return _error(40125)
        return kind

    def _caller(self, request: web.Request, *kinds: str) -> _Token | web.Response:
        """The token's record, or the error for a missing, invalid, expired or misused token."""
        value = request.query.get("access_token")
        if not value:
            return _error(41001)
        token = self._tokens.get(value)
        invalid = 40014 if "wecom" in kinds else 40001
        if token is None or token.revoked:
            return _error(invalid)
        if token.expires_at <= self.clock():
            return _error(42001)
        if token.kind not in kinds:
            return _error(48001)
        return token

    # mini-program

    async def _jscode2session(self, request: web.Request) -> web.Response:
        q = request.query
        checked = self._check_app(q.get("appid", ""), q.get("secret", ""))
        if isinstance(checked, web.Response):
            return checked
        code = q.get("js_code", "")
        entry = self._login_codes.get(code)
        if entry is None and self.sandbox and code:
            entry = self._login_codes[code] = _LoginCode(sandbox_openid(code), secrets.token_urlsafe(16), None)
        if entry is None:
            return _error(40029)
        if entry.used:
            return _error(40163)
        if not (self.sandbox and DEMO_CITIZEN_CODE.fullmatch(code)):  # a demo citizen's code never wears out
            entry.used = True
        answer = {"openid": entry.openid, "session_key": entry.session_key}
        if entry.unionid:
            answer["unionid"] = entry.unionid
        return web.json_response(answer)  # the real success answer has no errcode

    async def _phone_number(self, request: web.Request) -> web.Response:
        caller = self._caller(request, "mp")
        if isinstance(caller, web.Response):
            return caller
        body = request[_BODY]
        entry = self._phone_codes.get(str(body.get("code", "")))
        if entry is None and self.sandbox and body.get("code"):
            entry = _PhoneCode("13800138000", "86", None)
        if entry is None or entry.used or (body.get("openid") and entry.openid
                                           and body["openid"] != entry.openid):
            return _error(40029)
        entry.used = True
        full = entry.phone if entry.country_code == "86" else f"+{entry.country_code}{entry.phone}"
        return _ok(phone_info={"phoneNumber": full, "purePhoneNumber": entry.phone,
                               "countryCode": entry.country_code,
                               "watermark": {"timestamp": int(self.clock()), "appid": caller.owner}})

    async def _msg_sec_check(self, request: web.Request) -> web.Response:
        caller = self._caller(request, "mp")
        if isinstance(caller, web.Response):
            return caller
        body = request[_BODY]
        content = body.get("content")
        if body.get("version") != 2 or not body.get("openid"):
            return _error(40003 if body.get("version") == 2 else 47001)
        if body.get("scene") not in (1, 2, 3, 4):
            return _error(40129)
        if not isinstance(content, str) or not content:
            return _error(44002)
        if len(content) > 2500:
            return _error(47001)
        suggest, label, keyword = "pass", 100, None
        for words, verdict in ((self.risky_words, "risky"), (self.review_words, "review")):
            found = next((word for word in words if word in content), None)
            if found:
                suggest, label, keyword = verdict, 21000, found
                break
        detail: dict[str, Any] = {"strategy": "keyword", "errcode": 0, "suggest": suggest, "label": label}
        if keyword:
            detail["keyword"] = keyword
        return _ok(result={"suggest": suggest, "label": label}, detail=[detail],
                   trace_id=secrets.token_hex(12))

    async def _subscribe_send(self, request: web.Request) -> web.Response:
        caller = self._caller(request, "mp")
        if isinstance(caller, web.Response):
            return caller
        body = request[_BODY]
        invalid = _message_fields_invalid(body)
        if invalid:
            return invalid
        key = (body["touser"], body["template_id"])
        if not self.sandbox:
            if self._subscriptions[key] <= 0:
                return _error(43101)
            self._subscriptions[key] -= 1
        return _ok(msgid=self._msgid())

    # Official Account

    async def _template_send(self, request: web.Request) -> web.Response:
        caller = self._caller(request, "oa")
        if isinstance(caller, web.Response):
            return caller
        body = request[_BODY]
        invalid = _message_fields_invalid(body)
        if invalid:
            return invalid
        if not self.sandbox and body["touser"] not in self.followers:
            return _error(43004)
        return _ok(msgid=self._msgid())

    async def _custom_send(self, request: web.Request) -> web.Response:
        caller = self._caller(request, "oa", "mp")
        if isinstance(caller, web.Response):
            return caller
        body = request[_BODY]
        if not body.get("touser"):
            return _error(40003)
        msgtype = body.get("msgtype")
        if not isinstance(msgtype, str) or not isinstance(body.get(msgtype), dict):
            return _error(47001)
        if not self.sandbox and body["touser"] not in self.followers:
            return _error(45015)
        return _ok()

    async def _menu_create(self, request: web.Request) -> web.Response:
        caller = self._caller(request, "oa")
        if isinstance(caller, web.Response):
            return caller
        buttons = request[_BODY].get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return _error(40016)
        self.menu = request[_BODY]
        return _ok()

    # WeCom

    async def _wecom_send(self, request: web.Request) -> web.Response:
        caller = self._caller(request, "wecom")
        if isinstance(caller, web.Response):
            return caller
        body = request[_BODY]
        if str(body.get("agentid")) != self.corps[caller.owner][1]:
            return _error(40056)
        msgtype = body.get("msgtype")
        if not isinstance(msgtype, str) or not isinstance(body.get(msgtype), dict):
            return _error(47001)
        return _ok(invaliduser="", msgid=f"wecom-{self._msgid()}")

    def _msgid(self) -> int:
        self._next_msgid += 1
        return self._next_msgid


def _message_fields_invalid(body: dict[str, Any]) -> web.Response | None:
    if not body.get("touser"):
        return _error(40003)
    if not body.get("template_id"):
        return _error(40037)
    data = body.get("data")
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "value" in v for v in data.values()):
        return _error(47003)
    return None


def _ok(**fields: Any) -> web.Response:
    return web.json_response({"errcode": 0, "errmsg": "ok", **fields}, dumps=_dumps)


def _error(errcode: int, errmsg: str | None = None) -> web.Response:
    text = errmsg or _MESSAGES.get(errcode, "error")
    return web.json_response({"errcode": errcode, "errmsg": f"{text} rid: {secrets.token_hex(4)}"},
                             dumps=_dumps)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


@asynccontextmanager
async def run_fake_wechat(*, host: str = "127.0.0.1", port: int = 0, **options: Any) -> AsyncIterator[FakeWeChat]:
    """Serve a ``FakeWeChat(**options)`` on ``host:port`` (0: any free port) until the block ends."""
    fake = FakeWeChat(**options)
    runner = web.AppRunner(fake.app(), access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    fake.url = f"http://{host}:{runner.addresses[0][1]}"
    try:
        yield fake
    finally:
        await runner.cleanup()


async def _serve(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with run_fake_wechat(host=host, port=port, sandbox=True) as fake:
        settings = fake.apply(Settings())
        lines = [f"fake WeChat sandbox on {fake.url}; use these settings (login codes demo-citizen-1 … "
                 "demo-citizen-999 log the same demo citizen in every time):"] + [
            f"  YZT_{name}={value}" for name, value in (
                ("WECHAT_API_BASE", fake.url), ("WECOM_API_BASE", fake.url),
                ("OA_APPID", settings.oa_appid), ("OA_SECRET", settings.oa_secret),
                ("MP_APPID", settings.mp_appid), ("MP_SECRET", settings.mp_secret),
                ("WECOM_CORPID", settings.wecom_corpid), ("WECOM_SECRET", settings.wecom_secret),
                ("WECOM_AGENTID", settings.wecom_agentid))]
        print("\n".join(lines), flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake WeChat/WeCom API server (local sandbox)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
