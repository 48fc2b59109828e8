"""Callback signatures and the AES message encryption of safe mode (安全模式), WECHAT.md §1.

Written on ``cryptography`` rather than wechatpy's ``WeChatCrypto`` because decrypting with a
wrong key must fail cleanly (wechatpy lets struct/unicode errors escape) and signatures must be
compared in constant time (wechatpy uses ``!=``). The tests check both directions against wechatpy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class DecryptError(Exception):
    """No configured key opens the message, or it was not meant for our appid."""


def signature(*parts: str) -> str:
    """sha1 of the sorted, concatenated parts: the scheme of ``signature`` and ``msg_signature``."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_matches(expected_parts: tuple[str, ...], given: str) -> bool:
    return hmac.compare_digest(signature(*expected_parts).encode(), given.encode())


class MessageCrypto:
    """Current and previous EncodingAESKey: messages are tried with both while keys rotate."""

    def __init__(self, *, token: str, appid: str, aes_keys: list[str]) -> None:
        self._token = token
        self._appid = appid.encode()
        self._keys = [base64.b64decode(key + "=") for key in aes_keys if key]

    def decrypt(self, encrypted: str) -> tuple[str, bytes]:
        """The plaintext XML and the key that opened it (the reply is encrypted with the same key,
        so a sender still on the previous key can read it)."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("not base64") from None
        if not data or len(data) % 16:
            raise DecryptError("not whole AES blocks")
        for key in self._keys:
            text = self._open(key, data)
            if text is not None:
                return text, key
        raise DecryptError("no configured EncodingAESKey opens the message")

    def _open(self, key: bytes, data: bytes) -> str | None:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            return None
        content = plain[16:-pad]  # 16 random bytes, then length, message, appid
        if len(content) < 4:
            return None
        length = int.from_bytes(content[:4], "big")
        if 4 + length > len(content) or not hmac.compare_digest(content[4 + length:], self._appid):
            return None
        try:
            return content[4:4 + length].decode("utf-8")
        except UnicodeDecodeError:
            return None

    def encrypt_reply(self, xml: str, key: bytes, nonce: str) -> str:
        """The safe-mode reply envelope: Encrypt, MsgSignature, TimeStamp, Nonce."""
        message = xml.encode("utf-8")
        plain = (secrets.token_hex(8).encode() + len(message).to_bytes(4, "big") + message + self._appid)
        pad = _BLOCK - len(plain) % _BLOCK
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        encrypted = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
        timestamp = str(int(time.time()))
        sig = signature(self._token, timestamp, nonce, encrypted)
        return (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
                f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")
