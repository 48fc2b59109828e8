"""Choose the document store engine from the settings: MongoDB when ``YZT_MONGO_URL`` is set,
else the SQLite file in the data directory."""

from __future__ import annotations

from backend.config import Settings
from backend.store.interface import DocumentStore
from backend.store.mongo import MongoStore
from backend.store.sqlite import SQLiteStore

SQLITE_FILENAME = "yizhantong.sqlite3"


def open_store(settings: Settings) -> DocumentStore:
    """The configured store, not yet opened: the caller awaits ``open()`` and ``close()``."""
    if settings.mongo_url:
        return MongoStore(settings.mongo_url, settings.mongo_db)
    return SQLiteStore(settings.data_dir / SQLITE_FILENAME)
