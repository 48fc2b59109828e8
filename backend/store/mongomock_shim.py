"""Run ``MongoStore`` over mongomock, for tests without a MongoDB server.

What this checks: that the query, update and aggregation documents ``MongoStore`` sends are
ones MongoDB accepts and that they mean what the SQLite engine means — as far as mongomock
imitates MongoDB. It is NOT a MongoDB server: no wire protocol, no server-side validation, no
real concurrency (each call runs to completion on the event loop), and mongomock has its own
deviations (for instance it lets ``True`` equal ``1``). Run the contract suite against a real
server with ``YZT_TEST_MONGO_URL`` before trusting a change to ``mongo.py``.

The wrappers imitate only the parts of PyMongo's async API that ``MongoStore``, the GridFS file
store and the search index use: awaitable collection methods, ``find(...).to_list()``,
``await aggregate(...)``, ``await db.command(...)`` and a GridFS bucket.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Coroutine
from typing import Any, BinaryIO

import gridfs
import mongomock
import mongomock.gridfs

from backend.ids import new_id
from backend.store.mongo import MongoStore


class _Cursor:
    def __init__(self, results: Any) -> None:
        self._results = results

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        items = list(self._results)
        return items if length is None else items[:length]


class MongomockCollection:
    """Each PyMongo coroutine method of ``AsyncCollection`` becomes one synchronous mongomock call."""

    def __init__(self, collection: mongomock.Collection) -> None:
        self._c = collection

    def find(self, *args: Any, **kwargs: Any) -> _Cursor:
        return _Cursor(self._c.find(*args, **kwargs))

    async def aggregate(self, pipeline: list[dict[str, Any]], **kwargs: Any) -> _Cursor:
        return _Cursor(self._c.aggregate(pipeline, **kwargs))

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        method = getattr(self._c, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **kwargs)

        return call


class MongomockDatabase:
    def __init__(self, database: mongomock.Database) -> None:
        self.sync = database
        self.name = database.name

    def __getitem__(self, name: str) -> MongomockCollection:
        return MongomockCollection(self.sync[name])

    async def command(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.sync.command(*args, **kwargs)


class _Download:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    async def seek(self, pos: int) -> int:
        return self._stream.seek(pos)

    async def close(self) -> None:
        self._stream.close()


class MongomockGridFSBucket:
    """PyMongo's synchronous ``GridFSBucket`` over the mongomock database, with the awaitable
    methods of ``AsyncGridFSBucket`` that the file store calls."""

    def __init__(self, database: MongomockDatabase, *, bucket_name: str = "fs") -> None:
        mongomock.gridfs.enable_gridfs_integration()
        self._bucket = gridfs.GridFSBucket(database.sync, bucket_name=bucket_name)
        # GridFSBucket copies db.client.options.timeout, which mongomock does not have.
        self._bucket._timeout = None

    async def upload_from_stream(self, filename: str, source: bytes | BinaryIO, *,
                                 metadata: dict[str, Any] | None = None) -> Any:
        stream = io.BytesIO(source) if isinstance(source, bytes) else source  # bytes or a file, as AsyncGridFSBucket
        return self._bucket.upload_from_stream(filename, stream, metadata=metadata)

    async def open_download_stream_by_name(self, filename: str, revision: int = -1) -> _Download:
        return _Download(self._bucket.open_download_stream_by_name(filename, revision=revision))


def mongomock_store(db_name: str | None = None) -> MongoStore:
    """A fresh ``MongoStore`` over an in-memory mongomock database."""
    database = MongomockDatabase(mongomock.MongoClient()[db_name or f"yzt_{new_id()}"])
    return MongoStore.over_database(database, bucket_factory=MongomockGridFSBucket)
