"""Masking personal data for public disclosure (公开答复) and logs.

Rules: names keep their first character; mobiles keep the first 3 and last 4 digits
(138****5678); landlines keep the area code and last 4 digits (0532-****6666); ID card numbers
keep the first 4 and last 4 characters (3702**********123X), hiding birth date and county.
Separators and the length of the original are kept, so masked text still reads naturally.

`mask_text` finds these numbers inside free text. The patterns need number boundaries (no digit
or letter right before or after) so that dates (2026年11月22日), amounts, postcodes and order
numbers pass unchanged; over-masking an 11-digit number that looks like a mobile is accepted.
"""

from __future__ import annotations

import re
from typing import Iterable

_NAME_SEPARATORS = frozenset(" ·•・.-'")

# An 18-digit resident ID: region, plausible birth date, sequence, check digit.
_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"\d{3}[\dXx](?![0-9A-Za-z])"
)
# Mainland mobile, optionally +86 / 0086 / (+86), grouped 3-4-4 with spaces or dashes.
_MOBILE = re.compile(
    r"(?<![\d+])(?:\(?(?:\+|00)?86\)?[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}(?!\d)"
)
# Landline with area code: 010 / 02x / 0xxx, local number of 7-8 digits starting 2-8,
# optional extension (kept visible).
_LANDLINE = re.compile(
    r"(?<!\d)(?P<main>\(?0\d{2,3}\)?[ \-]?[2-8]\d{2,3}[ \-]?\d{4})"
    r"(?P<ext>(?:-|转|分机)\d{1,6})?(?!\d)"
)
# A bare local number is only recognised right after a phone keyword: alone, 8 digits could
# be a date (20261122) or an amount.
_LOCAL_AFTER_KEYWORD = re.compile(
    r"(?P<kw>(?:电话|座机|固话|tel|Tel|TEL)[:：是为 ]*)(?P<num>[2-8]\d{2,3}[ \-]?\d{4})(?!\d)"
)


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***, John Smith → J*** *****; a one-character name → *."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "".join(c if c in _NAME_SEPARATORS else "*" for c in name[1:])


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678, +86 138 1234 5678 → +86 138 **** 5678,
    0532-88886666 → 0532-****6666. Anything else: all digits but the last 4 are masked.
    """
    phone = phone.strip()
    if _MOBILE.fullmatch(phone):
        return _mask_mobile(phone)
    landline = _LANDLINE.fullmatch(phone)
    if landline:
        return _mask_landline(landline)
    return _mask_digits(phone, keep_head=0, keep_tail=4)


def mask_id_card(text: str) -> str:
    """Mask every 18-digit ID card number in `text` (370202199001011234 → 3702**********1234)."""
    return _ID_CARD.sub(lambda m: m.group()[:4] + "*" * 10 + m.group()[-4:], text)


def mask_text(text: str) -> str:
    """Mask ID card numbers, mobiles and landlines inside free text; leave other numbers alone."""
    text = mask_id_card(text)
    text = _MOBILE.sub(lambda m: _mask_mobile(m.group()), text)
    text = _LANDLINE.sub(_mask_landline, text)
    return _LOCAL_AFTER_KEYWORD.sub(
        lambda m: m.group("kw") + _mask_digits(m.group("num"), keep_head=0, keep_tail=4), text
    )


def _mask_mobile(number: str) -> str:
    country_code = sum(c.isdigit() for c in number) - 11
    return _mask_digits(number, keep_head=country_code + 3, keep_tail=4)


def _mask_landline(match: re.Match[str]) -> str:
    main = match.group("main")
    digits = re.sub(r"\D", "", main)
    area = 3 if digits[1] in "12" else 4  # 010 and 02x are the only 3-digit area codes
    return _mask_digits(main, keep_head=area, keep_tail=4) + (match.group("ext") or "")


def _mask_digits(text: str, keep_head: int, keep_tail: int) -> str:
    """Replace digits by '*', except the first `keep_head` and last `keep_tail` digits."""
    total = sum(c.isdigit() for c in text)
    out, seen = [], 0
    for c in text:
        if c.isdigit():
            seen += 1
            if keep_head < seen <= total - keep_tail:
                c = "*"
        out.append(c)
    return "".join(out)


def mask_for_disclosure(text: str, *, names: "Iterable[str]" = ()) -> str:
    """Text as it may be published: ``mask_text`` plus the given names wherever they occur."""
    for name in names:
        if name and len(name.strip()) > 1:
            text = text.replace(name.strip(), mask_name(name))
    return mask_text(text)
