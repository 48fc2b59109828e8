"""Word segmentation with jieba, shared by both search engines."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

import jieba

jieba.setLogLevel(logging.WARNING)  # it logs the dictionary load at DEBUG/INFO on every start

# jieba's full dictionary (349k words) costs ~65 MB per process; the words seen at least this
# often (137k) cost ~25 MB and segment government text the same way (HMM covers the rest).
MIN_WORD_FREQUENCY = 5


def _compact_dictionary() -> Path:
    """The compact dictionary, derived once from jieba's own and kept beside jieba's cache."""
    source = Path(jieba.__file__).parent / "dict.txt"
    target = Path(tempfile.gettempdir()) / f"yzt-jieba-{MIN_WORD_FREQUENCY}-{source.stat().st_size}.txt"
    if not target.exists():
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        with source.open(encoding="utf-8") as words, partial.open("w", encoding="utf-8") as kept:
            for line in words:
                fields = line.split(" ")
                if len(fields) >= 2 and fields[1].isdigit() and int(fields[1]) >= MIN_WORD_FREQUENCY:
                    kept.write(line)
        os.replace(partial, target)
    return target


jieba.set_dictionary(str(_compact_dictionary()))

_WORD = re.compile(r"\w")
_MAX_QUERY = 200


async def warm_up() -> None:
    """Load jieba's dictionary (about a second) in an executor, once, at start."""
    await asyncio.get_running_loop().run_in_executor(None, jieba.initialize)


def terms(text: str) -> list[str]:
    """Search terms of ``text`` in order, repeats kept: jieba's search-engine mode yields the
    words and their shorter parts (中华人民共和国 → 中华, 华人, …, 中华人民共和国); punctuation
    and spaces are dropped and Latin letters lower-cased."""
    return [t.lower() for t in (w.strip() for w in jieba.cut_for_search(text)) if t and _WORD.search(t)]


def query_terms(query: str) -> list[str]:
    """Distinct terms of a query; single characters go when longer words are present."""
    found = list(dict.fromkeys(terms(query[:_MAX_QUERY])))
    longer = [t for t in found if len(t) > 1]
    return longer or found


def document_terms(text: str, fields: Mapping[str, str] | None) -> tuple[list[str], list[str]]:
    """(headline terms from ``fields``, body terms from ``text``). CPU-bound: use an executor."""
    head = [t for value in (fields or {}).values() for t in terms(value)]
    return head, terms(text)
