"""The legacy mini-program phone number: encryptedData + iv, AES-128-CBC with the session_key.

wechatpy's ``WeChatWxaCrypto`` decrypts and checks that the watermark's appid is ours (a blob
from another mini-program must not bind a number here).
"""

from __future__ import annotations

import binascii
import logging

from wechatpy.crypto import WeChatWxaCrypto
from wechatpy.exceptions import InvalidAppIdException

from backend.errors import ValidationFailed

log = logging.getLogger(__name__)


def decrypt_legacy_phone(session_key: str, encrypted_data: str, iv: str, appid: str) -> str:
    try:
        data = WeChatWxaCrypto(session_key, iv, appid).decrypt_message(encrypted_data)
    except InvalidAppIdException:
        raise ValidationFailed("手机号数据不属于本小程序", code="phone_watermark_mismatch") from None
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, binascii.Error) as exc:
        log.info("legacy phone data could not be decrypted: %s", type(exc).__name__)
        raise ValidationFailed("手机号数据无法解密，请重新授权", code="phone_data_invalid") from None
    phone = data.get("purePhoneNumber") or data.get("phoneNumber")
    if not phone:
        raise ValidationFailed("手机号数据无法解密，请重新授权", code="phone_data_invalid")
    return str(phone)
