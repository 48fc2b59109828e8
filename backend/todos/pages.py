"""First pages of to-do lists, kept in the process while nothing they show can have changed.

The first page is what the app asks for on every open and every badge refresh, and building it
costs a union of index seeks plus the rows' documents. A page depends on: the keys the person acts
under and for whom (their delegations at the time), each key's rows, the module filter and the
page size, and the time (a row turns ``overdue`` once its due time has passed). So a kept page is
served again only for the same keys, filter and size, while every key's generation is the one
read before the page was built (the projection bumps a key's generation after every write to its
rows: ``backend/todos/counts.py``) and no due time on the page has passed since. Reading the
generations is one small read, which the counts need anyway; each process keeps its own pages and
the generations, in the shared store, keep them right across processes.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Mapping
from weakref import WeakKeyDictionary

from backend.store.interface import DocumentStore

PageKey = tuple[tuple[tuple[str, str | None], ...], str | None, int]  # keys → on behalf of, module, limit
MAX_PAGES = 1000  # per process: about 10 KB each


class FirstPages:
    """A bounded, least-recently-used set of first pages."""

    def __init__(self, size: int = MAX_PAGES) -> None:
        self._size = size
        self._pages: OrderedDict[PageKey, tuple[dict[str, int], str | None, dict[str, Any]]] = OrderedDict()

    @staticmethod
    def key(keys: Mapping[str, str | None], module: str | None, limit: int) -> PageKey:
        return tuple(sorted(keys.items())), module, limit

    def get(self, key: PageKey, generations: dict[str, int], now_stored: str) -> dict[str, Any] | None:
        kept = self._pages.get(key)
        if kept is None:
            return None
        built_at, valid_until, page = kept
        if built_at != generations or (valid_until is not None and valid_until < now_stored):
            del self._pages[key]
            return None
        self._pages.move_to_end(key)
        return page

    def put(self, key: PageKey, generations: dict[str, int], page: dict[str, Any], rows: list[dict[str, Any]],
            now_stored: str) -> None:
        """Keep ``page``, built from ``rows`` after reading ``generations``, until one of them moves
        or the first due time still ahead on it passes."""
        ahead = [row["due_at"] for row in rows if row.get("due_at") and row["due_at"] >= now_stored]
        self._pages[key] = (generations, min(ahead) if ahead else None, page)
        self._pages.move_to_end(key)
        while len(self._pages) > self._size:
            self._pages.popitem(last=False)


_BY_STORE: WeakKeyDictionary[DocumentStore, FirstPages] = WeakKeyDictionary()


def first_pages(store: DocumentStore) -> FirstPages:
    """The pages kept for ``store`` (one store per process in service; tests open many)."""
    pages = _BY_STORE.get(store)
    if pages is None:
        pages = _BY_STORE[store] = FirstPages()
    return pages
