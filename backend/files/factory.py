"""Choose the file store that goes with the document store."""

from __future__ import annotations

from backend.config import Settings
from backend.files.embedded import EmbeddedFileStore
from backend.files.gridfs_store import GridFSFileStore
from backend.files.interfaces import FileStore
from backend.store.interface import DocumentStore
from backend.store.mongo import MongoStore


def open_file_store(settings: Settings, store: DocumentStore) -> FileStore:
    """GridFS in the same database when the store is MongoDB, else ``data_dir/files``."""
    if isinstance(store, MongoStore):
        return GridFSFileStore(store.gridfs_bucket(), store.database["fs.files"], settings=settings)
    return EmbeddedFileStore(settings.data_dir / "files", settings=settings)
