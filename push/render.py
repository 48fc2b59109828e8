"""Fitting text into WeChat's message fields (WECHAT.md §4) so that a send never fails on length.

A subscribe or template message field is named ``<kind><n>`` (``thing1``, ``time4``…) and the kind
fixes what WeChat accepts: ``thing`` ≤ 20 characters, ``phrase`` ≤ 5 Chinese characters,
``character_string`` ≤ 32 without Chinese, ``time`` like ``2019年10月1日 15:01``, and so on. A value
WeChat refuses costs the whole message (47003), so every value is made acceptable here:
cleaned of control characters, shortened with "…" where the kind allows it, and given a
placeholder when nothing usable is left.

Length is counted in UTF-16 code units, as the mini-program's JavaScript does (an emoji counts
two), which is never more than WeChat's own count; and text is only ever cut between
user-perceived characters, so an emoji, a flag or a letter with its accent is never split.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any, Mapping

from backend.clock import CHINA, UTC, from_storage, utcnow

ELLIPSIS = "…"

# Characters limits per kind; kinds not listed here are handled by their own rule below.
LIMITS: dict[str, int] = {"thing": 20, "character_string": 32, "letter": 32, "number": 32, "symbol": 5,
                          "phrase": 5, "phone_number": 17, "car_number": 8}
PLACEHOLDER: dict[str, str] = {"thing": "无", "phrase": "有更新", "character_string": "-", "letter": "NA",
                               "number": "0", "symbol": "-", "name": "用户", "car_number": "-",
                               "phone_number": "-", "amount": "0元"}

_KIND = re.compile(r"^([a-z_]+?)\d*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def field_kind(key: str) -> str:
    """``thing12`` → ``thing``; ``character_string3`` → ``character_string``."""
    match = _KIND.match(key)
    return match.group(1) if match else key


def units(text: str) -> int:
    """Length in UTF-16 code units."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def clean(value: Any) -> str:
    """One line of text: control characters and line breaks become spaces, runs of space one
    space, lone surrogates (possible from JSON ``\\ud83d`` escapes) are dropped."""
    text = "" if value is None else str(value)
    text = "".join(ch for ch in text if not 0xD800 <= ord(ch) <= 0xDFFF)
    return _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()


def _extends(ch: str) -> bool:
    """Does ``ch`` belong to the character before it (never a place to cut)?"""
    code = ord(ch)
    return (unicodedata.combining(ch) != 0 or unicodedata.category(ch) in ("Mn", "Me", "Mc")
            or code == 0x200D or 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0020 <= code <= 0xE007F or 0xE0100 <= code <= 0xE01EF)


def clusters(text: str) -> list[str]:
    """User-perceived characters, close enough to Unicode's grapheme clusters for cutting:
    marks, variation selectors, skin tones and tags stay with their base; a ZWJ joins the
    next character; two regional indicators make one flag."""
    out: list[str] = []
    joined = False
    for ch in text:
        code = ord(ch)
        regional = 0x1F1E6 <= code <= 0x1F1FF
        if out and (joined or _extends(ch) or (regional and _lone_regional(out[-1]))):
            out[-1] += ch
        else:
            out.append(ch)
        joined = code == 0x200D
    return out


def _lone_regional(cluster: str) -> bool:
    return len(cluster) == 1 and 0x1F1E6 <= ord(cluster) <= 0x1F1FF


def shorten(text: str, limit: int, *, ellipsis: str = ELLIPSIS, measure: Any = units) -> str:
    """``text`` if it fits in ``limit``, else as many whole characters as fit followed by
    ``ellipsis`` (the result, ellipsis included, fits)."""
    if measure(text) <= limit:
        return text
    room = limit - measure(ellipsis)
    kept: list[str] = []
    used = 0
    for cluster in clusters(text):
        size = measure(cluster)
        if used + size > room:
            break
        kept.append(cluster)
        used += size
    return "".join(kept).rstrip() + ellipsis if room >= 0 else "".join(kept)


def shorten_bytes(text: str, limit: int) -> str:
    """For limits in UTF-8 bytes (WeCom's text message: 2048)."""
    return shorten(text, limit, measure=lambda s: len(s.encode("utf-8")))


def format_time(value: Any, *, with_time: bool = True) -> str:
    """Beijing time as WeChat's ``time``/``date`` fields want it: ``2026年11月22日 09:05``."""
    moment = _as_datetime(value).astimezone(CHINA)
    day = f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{day} {moment.hour:02d}:{moment.minute:02d}" if with_time else day


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        for parse in (from_storage, datetime.fromisoformat):
            try:
                moment = parse(value)
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utcnow()


def fit(key: str, value: Any) -> str:
    """``value`` made acceptable for the field ``key``; never raises."""
    kind = field_kind(key)
    try:
        text = _FITTERS.get(kind, _fit_thing)(value, kind)
    except Exception:  # noqa: BLE001 - a placeholder beats a failed send
        text = ""
    return text or PLACEHOLDER.get(kind, "-")


def fit_fields(spec: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    """Fill a template: ``spec`` maps field keys to context names."""
    return {key: fit(key, context.get(name)) for key, name in spec.items()}


def _fit_thing(value: Any, kind: str) -> str:
    return shorten(clean(value), LIMITS.get(kind, 20))


def _fit_phrase(value: Any, kind: str) -> str:
    # Chinese characters only, and an ellipsis is not one: cut without it.
    return "".join(_CJK.findall(clean(value)))[:LIMITS["phrase"]]


def _ascii(value: Any, allowed: str, limit: int) -> str:
    text = "".join(ch for ch in clean(value) if re.match(allowed, ch))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _fit_character_string(value: Any, kind: str) -> str:
    return _ascii(value, r"[\x21-\x7e]", LIMITS["character_string"])


def _fit_letter(value: Any, kind: str) -> str:
    return "".join(ch for ch in clean(value) if ch.isascii() and ch.isalpha())[:LIMITS["letter"]]


def _fit_number(value: Any, kind: str) -> str:
    match = re.search(r"-?\d+(\.\d+)?", clean(value).replace(",", ""))
    if not match:
        return ""
    number = match.group(0)
    if len(number.replace("-", "").replace(".", "")) > 32:
        number = number.split(".")[0][:32]
    return number


def _fit_symbol(value: Any, kind: str) -> str:
    return "".join(ch for ch in clean(value) if ch.isascii() and not ch.isalnum() and not ch.isspace())[:5]


def _fit_time(value: Any, kind: str) -> str:
    return format_time(value, with_time=True)


def _fit_date(value: Any, kind: str) -> str:
    return format_time(value, with_time=False)


def _fit_amount(value: Any, kind: str) -> str:
    match = re.search(r"\d+(\.\d{1,2})?", clean(value).replace(",", ""))
    if not match:
        return ""
    whole, _, cents = match.group(0).partition(".")
    if len(whole) > 10:
        whole = "9" * 10
    digits = whole[:max(0, 10 - len(cents))] if cents else whole
    return f"{digits}.{cents}元" if cents else f"{digits}元"


def _fit_phone(value: Any, kind: str) -> str:
    return "".join(ch for ch in clean(value) if ch.isdigit() or ch in "+-")[:LIMITS["phone_number"]]


def _fit_car(value: Any, kind: str) -> str:
    return clean(value).replace(" ", "")[:LIMITS["car_number"]]


def _fit_name(value: Any, kind: str) -> str:
    text = clean(value)
    # 10 Chinese characters, or 20 letters when there is no Chinese; a name is cut, never "…"-ed.
    return text[:10] if _CJK.search(text) else text[:20]


_FITTERS = {
    "thing": _fit_thing, "phrase": _fit_phrase, "character_string": _fit_character_string,
    "letter": _fit_letter, "number": _fit_number, "symbol": _fit_symbol, "time": _fit_time,
    "date": _fit_date, "amount": _fit_amount, "phone_number": _fit_phone, "car_number": _fit_car,
    "name": _fit_name,
}
