"""Choose the search index that goes with the document store."""

from __future__ import annotations

from backend.search.interfaces import SearchIndex
from backend.search.mongo import MongoSearchIndex
from backend.search.sqlite import SQLiteSearchIndex
from backend.store.interface import DocumentStore
from backend.store.mongo import MongoStore
from backend.store.sqlite import SQLiteStore


def open_search(store: DocumentStore) -> SearchIndex:
    """The search index living in the same database as ``store`` (FTS5 or a MongoDB collection)."""
    if isinstance(store, MongoStore):
        return MongoSearchIndex(store)
    if isinstance(store, SQLiteStore):
        return SQLiteSearchIndex(store)
    raise TypeError(f"no search index for {type(store).__name__}")
