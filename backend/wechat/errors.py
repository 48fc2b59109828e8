"""WeChat API errors: one exception per family of ``errcode``, and their mapping to our ServiceErrors.

Callers catch the family (``InvalidCode``, ``NoSubscription``…) and read ``errcode`` when the
difference matters. Use cases never let a ``WeChatError`` reach a handler: they translate it with
``login_service_error`` / ``phone_number_service_error`` or handle it themselves.
"""

from __future__ import annotations

import logging
from typing import Callable

from backend.errors import Forbidden, RateLimited, ServiceError, Unauthenticated, Unavailable, ValidationFailed

log = logging.getLogger(__name__)

# Our own code for "the request could not be completed over the network": WeChat's own -1 means
# "system busy", and callers treat both the same way (try again later).
UNREACHABLE = -1


class WeChatError(Exception):
    """An ``errcode`` other than 0 (or a network failure, see ``WeChatUnavailable``)."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"{errcode} {errmsg}".strip())


class WeChatUnavailable(WeChatError):
    """-1 (system busy), or WeChat could not be reached or answered something that is not JSON."""


class AccessTokenInvalid(WeChatError):
    """40001 / 40014 / 42001: the token was refreshed elsewhere, is wrong, or expired."""


class InvalidCode(WeChatError):
    """40029 (invalid or expired login/phone code), 40163 (code already used)."""


class WeChatRateLimited(WeChatError):
    """45009 daily quota, 45011 per-user frequency, 45047 too many customer-service messages."""


class UserBlocked(WeChatError):
    """40226: WeChat blocks this high-risk user."""


class NotFollower(WeChatError):
    """43004: template messages need the user to follow the Official Account."""


class NoSubscription(WeChatError):
    """43101: the user refused, or has no one-time subscription left for this template."""


class ServiceWindowClosed(WeChatError):
    """45015: customer-service messages only within 48 h of the user's last action."""


class InvalidArgument(WeChatError):
    """A request WeChat rejects as malformed: our bug or configuration, not the user's."""


class NotConfigured(WeChatError):
    """Ours, raised before any request: the app's appid or secret is not set (``errcode`` 0)."""


_FAMILIES: dict[int, type[WeChatError]] = {
    -1: WeChatUnavailable,
    40001: AccessTokenInvalid, 40014: AccessTokenInvalid, 42001: AccessTokenInvalid,
    40029: InvalidCode, 40163: InvalidCode,
    45009: WeChatRateLimited, 45011: WeChatRateLimited, 45047: WeChatRateLimited,
    40226: UserBlocked,
    43004: NotFollower,
    43101: NoSubscription,
    45015: ServiceWindowClosed,
    40003: InvalidArgument,  # bad openid
    40013: InvalidArgument,  # bad appid / corpid
    40016: InvalidArgument,  # bad menu button count
    40037: InvalidArgument,  # bad template_id
    40125: InvalidArgument,  # bad appsecret
    40129: InvalidArgument,  # bad msg_sec_check scene
    41002: InvalidArgument,  # appid missing
    41030: InvalidArgument,  # bad page
    43104: InvalidArgument,  # appid and openid do not match
    44002: InvalidArgument,  # empty body
    47001: InvalidArgument,  # bad JSON/format
    47003: InvalidArgument,  # bad template data field
}


def error_for(errcode: int, errmsg: str = "") -> WeChatError:
    return _FAMILIES.get(errcode, WeChatError)(errcode, errmsg)


def _mapped(exc: WeChatError, table: dict[int, Callable[[], ServiceError]], what: str) -> ServiceError:
    make = table.get(exc.errcode)
    if make is not None:
        return make()
    # Anything else (bad appid or secret, IP not whitelisted…) is our configuration, not the user's.
    log.error("WeChat %s failed with an unexpected error: %s", what, exc)
    return Unavailable("微信服务暂时不可用，请稍后再试", code="wechat_unavailable")


_LOGIN_ERRORS: dict[int, Callable[[], ServiceError]] = {
    40029: lambda: Unauthenticated("登录凭证无效，请重新登录", code="login_code_invalid"),
    40163: lambda: Unauthenticated("登录凭证已使用，请重新登录", code="login_code_used"),
    45011: lambda: RateLimited("登录过于频繁，请稍后再试", code="login_rate_limited", retry_after=60),
    40226: lambda: Forbidden("您的微信账号存在风险，暂时无法登录", code="login_blocked"),
    UNREACHABLE: lambda: Unavailable("微信服务繁忙，请稍后再试", code="wechat_unavailable"),
}

_PHONE_ERRORS: dict[int, Callable[[], ServiceError]] = {
    40029: lambda: ValidationFailed("手机号授权已失效，请重新授权", code="phone_code_invalid"),
    45011: lambda: RateLimited("获取手机号过于频繁，请稍后再试", code="phone_rate_limited", retry_after=60),
    UNREACHABLE: lambda: Unavailable("微信服务繁忙，请稍后再试", code="wechat_unavailable"),
}


def login_service_error(exc: WeChatError) -> ServiceError:
    """What the mini-program sees when ``jscode2session`` fails."""
    if isinstance(exc, NotConfigured):
        return Unavailable("小程序尚未配置，暂不能登录", code="mp_not_configured")
    return _mapped(exc, _LOGIN_ERRORS, "login (jscode2session)")


def phone_number_service_error(exc: WeChatError) -> ServiceError:
    """What the mini-program sees when ``getuserphonenumber`` fails."""
    return _mapped(exc, _PHONE_ERRORS, "phone number (getuserphonenumber)")
