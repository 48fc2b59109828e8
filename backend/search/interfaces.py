"""The search index contract."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol


class SearchIndex(Protocol):
    """Full-text search over documents of the store, one index per ``collection`` name.

    Text is segmented with jieba ``cut_for_search``, so two-character words such as 噪音 are
    found inside longer text. A query matches documents that contain every one of its words
    (single characters such as 的 are dropped from queries that have longer words).

    Keep the index in step with the documents in the use case that writes them: ``index``
    again after a change (it replaces), ``remove`` on delete or unpublish.
    """

    async def index(self, collection: str, doc_id: str, text: str, *,
                    fields: Mapping[str, str] | None = None) -> None:
        """Index (or re-index) ``doc_id``. ``text`` is the body; ``fields`` are short named
        texts such as ``{"title": ..., "tags": ...}`` whose words rank higher than the body's."""

    async def remove(self, collection: str, doc_id: str) -> None: ...

    async def search(self, collection: str, query: str, *, limit: int = 20,
                     filter_ids: Collection[str] | None = None, any_term: bool = False) -> list[str]:
        """Matching ids, best first (ties: larger, i.e. newer, ids first). ``filter_ids``
        restricts the answer to those ids (e.g. what the caller may see). Every query term must
        match, unless ``any_term`` (candidates for near-duplicate detection: any shared word)."""
