"""Near-duplicate detection for letters (并单): how alike two Chinese texts are.

Candidates are found elsewhere (search); this module only scores them. Texts are NFKC-normalised
(full-width digits and letters), segmented with jieba, lower-cased, and stripped of punctuation
and of `_STOP_WORDS`: function words and the boilerplate every letter shares
("希望有关部门尽快处理"), which otherwise make unrelated letters look alike.

The score is the geometric mean of two rapidfuzz comparisons of the word sets A and B:
- token_set_ratio forgives rewording and extra detail, but is 1.0 whenever one text's words
  are a subset of the other's, so "噪音" alone would match every noise complaint;
- the aligned ratio compares "shared words + A's other words" with "shared words + B's other
  words" as whole strings, so the unshared remainder counts against the score.
Both have to be high for a high score.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Hashable, Iterable
from typing import TypeVar

import jieba
from rapidfuzz import fuzz

import backend.search.segment  # noqa: F401 - configures jieba's dictionary before first use

jieba.setLogLevel(logging.WARNING)

K = TypeVar("K", bound=Hashable)

_STOP_WORDS = frozenset(
    """
    的 地 得 了 着 过 和 与 及 或 而 在 是 为 被 把 让 给 对 从 到 向 于 也 都 很 就 还 又 再 才
    我 我们 你 你们 您 他 他们 她 它 这 那 这个 那个 这些 那些 这里 那里 一个 一下 一些 有 没有
    不 没 能 会 要 想 请 请求 恳请 希望 盼望 麻烦 有关 有关部门 相关 相关部门 部门 领导 政府
    尽快 尽早 及时 处理 解决 帮助 帮忙 问题 情况 反映 谢谢 感谢 您好 你好 尊敬 能否 能不能 是否
    已经 一直 非常 特别 十分 严重 影响 管一管
    """.split()
)


def similarity(a: str, b: str) -> float:
    """Similarity of two texts in [0, 1]; 0.0 if either has no content words."""
    return _score(_words(a), _words(b))


def most_similar(
    text: str,
    candidates: Iterable[tuple[K, str]],
    threshold: float = 0.6,
    limit: int = 5,
) -> list[tuple[K, float]]:
    """Up to `limit` (id, score) pairs scoring at least `threshold`, best first.

    Ties keep the input order, so a caller passing candidates oldest first gets the oldest
    letter first among equals (the natural one to merge into).
    """
    words = _words(text)
    scored = [(key, _score(words, _words(other))) for key, other in candidates]
    hits = [hit for hit in scored if hit[1] >= threshold]
    hits.sort(key=lambda hit: hit[1], reverse=True)
    return hits[: max(limit, 0)]


def _words(text: str) -> frozenset[str]:
    normalised = unicodedata.normalize("NFKC", text).lower()
    return frozenset(
        word
        for word in (w.strip() for w in jieba.lcut(normalised))
        if word and word not in _STOP_WORDS and any(c.isalnum() for c in word)
    )


def _score(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    shared = sorted(a & b)
    side_a = " ".join(shared + sorted(a - b))
    side_b = " ".join(shared + sorted(b - a))
    set_ratio = fuzz.token_set_ratio(side_a, side_b) / 100
    aligned_ratio = fuzz.ratio(side_a, side_b) / 100
    return math.sqrt(set_ratio * aligned_ratio)
