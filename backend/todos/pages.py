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

Reading the delegations and the generations is still two reads per request, most of what a kept
page costs. So a person's kept page is also served without them for up to ``RECHECK_SECONDS``
after they were last read, unless this process changed to-do rows or delegations since (the
projection and the delegation use cases call ``changed``): in one process a list is exact, and
with several, a change another process made shows within that second. The list is a projection
of events that already trails them by the relay's latency; this adds at most a second to it
and nothing else (acting on an item always reads the case itself).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Mapping
from weakref import WeakKeyDictionary

from backend.auth.tokens import Principal
from backend.store.interface import DocumentStore

PageKey = tuple[tuple[tuple[str, str | None], ...], str | None, int]  # keys → on behalf of, module, limit
ActorKey = tuple[str, str, str | None, tuple[str, ...], str | None, int]  # who (as the token says), module, limit
MAX_PAGES = 1000  # per process: about 10 KB each
RECHECK_SECONDS = 1.0


class FirstPages:
    """A bounded, least-recently-used set of first pages."""

    def __init__(self, size: int = MAX_PAGES, recheck_seconds: float | None = None) -> None:
        self._size = size
        self._recheck = RECHECK_SECONDS if recheck_seconds is None else recheck_seconds
        self._pages: OrderedDict[PageKey, tuple[dict[str, int], str | None, dict[str, Any]]] = OrderedDict()
        self._checked: OrderedDict[ActorKey, tuple[PageKey, float, int]] = OrderedDict()
        self.changes = 0  # of to-do rows or delegations made by this process

    @staticmethod
    def key(keys: Mapping[str, str | None], module: str | None, limit: int) -> PageKey:
        return tuple(sorted(keys.items())), module, limit

    @staticmethod
    def actor(actor: Principal, module: str | None, limit: int) -> ActorKey:
        return actor.user_id, actor.audience, actor.department, tuple(sorted(actor.roles)), module, limit

    def changed(self) -> None:
        """This process changed to-do rows or delegations: check every page against the store again."""
        self.changes += 1

    def recent(self, actor: ActorKey, now_stored: str) -> dict[str, Any] | None:
        """The actor's kept page if it was checked against the store less than ``RECHECK_SECONDS``
        ago and this process changed nothing since (and no due time on it has passed)."""
        checked = self._checked.get(actor)
        if checked is None:
            return None
        page_key, at, changes = checked
        kept = self._pages.get(page_key)
        if kept is None or changes != self.changes or time.monotonic() - at >= self._recheck:
            del self._checked[actor]
            return None
        valid_until = kept[1]
        return None if valid_until is not None and valid_until < now_stored else kept[2]

    def checked(self, actor: ActorKey, page_key: PageKey, changes: int, at: float) -> None:
        """The actor's page ``page_key`` matched the store as read from ``at`` (``changes`` then)."""
        self._checked[actor] = (page_key, at, changes)
        self._checked.move_to_end(actor)
        while len(self._checked) > self._size:
            self._checked.popitem(last=False)

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
