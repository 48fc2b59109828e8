"""Screening what citizens write (letters, supplements, comments) before staff or the public see it.

Two checks, both: WeChat's content security (``msg_sec_check`` v2, which needs the writer's
mini-program openid) and a local list of sensitive words the city keeps
(``sensitive_words.txt`` in this package, plus ``<data dir>/sensitive_words.txt`` if present,
one word per line). A hit never refuses the text silently: it is stored, marked held, and waits
for the mailbox centre to release it (``backend/mailbox``). When WeChat cannot be reached the text
is held too; when no mini-program is configured (a sandbox), or the city keeps citizens' text
from WeChat (``YZT_WECHAT_CONTENT_CHECK=false``: the text is personal data, and sending it to a
third party is the city's decision), only the local list applies.

Control characters are refused in short fields (titles, names: the API answers 400) and stripped
from long text (bodies): NUL and the other C0/C1 controls, and the bidirectional overrides and
isolates that can make text read differently from what it is (U+202A–U+202E, U+2066–U+2069).
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Awaitable, Callable

from backend.context import Context
from backend.wechat.errors import NotConfigured

log = logging.getLogger(__name__)

# C0 and C1 controls but tab, newline and carriage return (bodies keep their lines), and the
# bidi overrides/isolates. Short fields refuse even those three.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_CONTROLS = re.compile(r"[\t\n\r]")
COMMENT_SCENE = 2  # msg_sec_check v2: 评论 — the nearest scene for a letter to the government


def refuse_controls(text: str) -> str:
    """For pydantic validators of short fields: the text, or ValueError with a Chinese message."""
    if _CONTROLS.search(text) or _LINE_CONTROLS.search(text):
        raise ValueError("不能包含控制字符或文字方向控制符")
    return text


def strip_controls(text: str) -> str:
    """For long text: the same text without control characters (its lines kept)."""
    return _CONTROLS.sub("", text)


@dataclass(frozen=True)
class Verdict:
    held: bool
    reasons: tuple[str, ...] = ()  # "wechat:risky", "wechat:review", "local"
    words: tuple[str, ...] = field(default=())

    def record(self, at: str) -> dict[str, object] | None:
        """What a held text carries (None when it passed)."""
        if not self.held:
            return None
        return {"state": "held", "reasons": list(self.reasons), "words": list(self.words), "at": at}


# NFKC's own mapping of the full-width forms (and the ideographic space), which nearly all Chinese
# text contains (，：（）！？): mapped first, the rest of such text is already NFKC, which
# is_normalized tells far faster than normalize() finds out.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def _normalise(text: str) -> str:
    # Full-width to half-width, one case, no spaces: 习 近 平 and ＡＢＣ still match.
    text = text.translate(_FULL_WIDTH)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return "".join(text.split()).lower()


@functools.lru_cache(maxsize=8)
def _words(extra: Path | None, mtime: float) -> tuple[str, ...]:
    bundled = resources.files(__package__).joinpath("sensitive_words.txt").read_text(encoding="utf-8")
    lines = bundled.splitlines()
    if extra is not None:
        lines += extra.read_text(encoding="utf-8").splitlines()
    return tuple(sorted({_normalise(line) for line in lines if line.strip() and not line.startswith("#")}))


def local_hits(text: str, data_dir: Path) -> list[str]:
    extra = data_dir / "sensitive_words.txt"
    try:
        mtime = extra.stat().st_mtime
    except FileNotFoundError:
        extra, mtime = None, 0.0  # type: ignore[assignment]  # no city list: the bundled one alone
    flat = _normalise(text)
    return [word for word in _words(extra, mtime) if word in flat]


async def screen(ctx: Context, text: str, *, openid: Callable[[], Awaitable[str | None]]) -> Verdict:
    """Both checks on ``text``; ``openid`` finds the writer's mini-program openid, asked only when
    WeChat is."""
    reasons: list[str] = []
    words = local_hits(text, ctx.settings.data_dir)
    if words:
        reasons.append("local")
    # Without a mini-program (a sandbox, the demo seeding) the local list is the whole check.
    asks_wechat = ctx.settings.wechat_content_check and bool(ctx.settings.mp_appid and ctx.settings.mp_secret)
    writer = await openid() if asks_wechat else None
    if writer:
        try:
            suggest = await ctx.wechat.msg_sec_check(writer, text, COMMENT_SCENE)
        except NotConfigured:
            suggest = "pass"
        if suggest != "pass":
            reasons.append(f"wechat:{suggest}")
    return Verdict(held=bool(reasons), reasons=tuple(reasons), words=tuple(words))
