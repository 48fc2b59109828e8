"""Sealing personal data (个人信息加密存储): AES-256-GCM for the value, HMAC-SHA256 for look-ups.

Keys. One master key (``YZT_DATA_KEY``, or generated once and kept in the data directory as
``data_key.secret``); two keys are derived from it with HKDF-SHA256, one to encrypt and one to
hash, so a look-up hash never helps to decrypt. ``YZT_PREVIOUS_DATA_KEY`` is read too, for
values sealed before a rotation; the start-up re-seal (``reseal.py``) moves them to the current key.

Sealed form: ``pd1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``, one string, so it sorts and
filters like any other. The key id names the master key (8 characters derived from it), so values
of a retired key can be found and re-sealed. The field's name ("users.phone") is authenticated
data: a value copied into another field does not open.

Look-up hashes are of the normalised value with its kind ("phone", "id_card"): the same number
gives the same hash in every collection, so a phone typed in a letter finds the citizen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.errors import Unavailable

PREFIX = "pd1."
_NONCE_BYTES = 12
_NOT_DIGIT_OR_X = re.compile(r"[^0-9Xx]")


class UnreadablePersonalData(Unavailable):
    """A sealed value that no configured key opens: the key is missing (rotation without
    ``YZT_PREVIOUS_DATA_KEY``) or the value was tampered with."""

    code = "personal_data_unreadable"
    message = "个人信息暂时无法读取，请联系管理员"


class _Key:
    def __init__(self, master: str) -> None:
        material = master.encode()
        self.id = base64.urlsafe_b64encode(_derive(material, b"yzt personal-data key-id", 6)).decode()
        self.aead = AESGCM(_derive(material, b"yzt personal-data aes-256-gcm", 32))
        self.lookup = _derive(material, b"yzt personal-data lookup-hmac", 32)


def _derive(material: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(material)


def normalise(text: str, kind: str) -> str:
    """The form that is hashed: a phone without spaces, dashes and +86; an ID number in upper case."""
    value = text.strip()
    if kind == "phone":
        value = re.sub(r"[\s\-()]", "", value)
        value = re.sub(r"^(\+|00)86", "", value)
    elif kind == "id_card":
        value = _NOT_DIGIT_OR_X.sub("", value).upper()
    return value


class PersonalData:
    """Seal, unseal and hash personal data. One per process, built from the settings in bootstrap."""

    def __init__(self, key: str, previous_key: str = "") -> None:
        self._current = _Key(key)
        self._keys = {self._current.id: self._current}
        if previous_key and previous_key != key:
            previous = _Key(previous_key)
            self._keys[previous.id] = previous
        self._previous = [k for k in self._keys.values() if k is not self._current]

    @property
    def current_prefix(self) -> str:
        """Every value sealed with the current key starts with this."""
        return f"{PREFIX}{self._current.id}."

    def seal(self, text: str, *, field: str) -> str:
        """``text`` encrypted for storage in ``field`` ("collection.field")."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, text.encode(), field.encode())
        return self.current_prefix + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def unseal(self, value: str, *, field: str) -> str:
        """The text sealed in ``value``. A value that is not sealed (written before sealing existed,
        and not re-sealed yet) is returned as it is."""
        if not is_sealed(value):
            return value
        _, key_id, body = value.split(".", 2)
        key = self._keys.get(key_id)
        if key is None:
            raise UnreadablePersonalData(details={"field": field, "reason": "unknown_key"})
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return key.aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], field.encode()).decode()
        except (InvalidTag, ValueError):
            raise UnreadablePersonalData(details={"field": field, "reason": "invalid"}) from None

    def is_current(self, value: str) -> bool:
        return value.startswith(self.current_prefix)

    def lookup_hash(self, text: str, *, kind: str) -> str:
        """The keyed hash to store beside a sealed value and to search by."""
        return _hash(self._current.lookup, text, kind)

    def lookup_hashes(self, text: str, *, kind: str) -> list[str]:
        """Every hash ``text`` may be stored under: the current key's, then the previous key's
        (for a query that must match values not yet re-sealed after a rotation)."""
        return [_hash(key.lookup, text, kind) for key in (self._current, *self._previous)]


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX) and value.count(".") >= 2


def _hash(key: bytes, text: str, kind: str) -> str:
    message = f"{kind}\x00{normalise(text, kind)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
