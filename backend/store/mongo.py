"""The production engine: MongoDB through PyMongo's async API (``AsyncMongoClient``).

The contract is in ``interface.py``; MongoDB is the reference for it, so this engine mostly
passes documents through. It adds what keeps the two engines interchangeable:

- filters and updates outside the documented subset raise ``ValueError`` here too, so code
  written against MongoDB does not break on the embedded engine;
- an upsert whose filter names no ``_id`` gets a string id from ``backend.ids.new_id`` (MongoDB
  would make an ObjectId);
- ``DuplicateKeyError`` becomes ``backend.errors.DuplicateKey``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from gridfs import AsyncGridFSBucket
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from backend.errors import DuplicateKey
from backend.ids import new_id
from backend.store.checks import check_update
from backend.store.interface import Document, Filter, Sort, Update

_FIELD_OPS = frozenset({"$in", "$nin", "$ne", "$gt", "$gte", "$lt", "$lte", "$exists"})
_SCALARS = (str, int, float, bool, type(None))
_INDEX_NAME = re.compile(r"index: (\S+)")


def _check_filter(flt: Any) -> None:
    """Raise ValueError for anything outside the documented filter language."""
    if not isinstance(flt, dict):
        raise ValueError(f"a filter is a dict, not {type(flt).__name__}")
    for key, cond in flt.items():
        if key in ("$and", "$or"):
            if not isinstance(cond, list) or not cond:
                raise ValueError(f"{key} takes a non-empty list of filters")
            for sub in cond:
                _check_filter(sub)
        elif key.startswith("$"):
            raise ValueError(f"unsupported filter operator {key!r}")
        elif isinstance(cond, dict):
            if not cond or not set(cond) <= _FIELD_OPS:
                raise ValueError(f"{key}: unsupported condition {cond!r}")
            for op, value in cond.items():
                if op in ("$in", "$nin"):
                    if not isinstance(value, (list, tuple)) or not all(isinstance(v, _SCALARS) for v in value):
                        raise ValueError(f"{op} takes a list of str, int, float, bool or None")
                elif op == "$exists":
                    if not isinstance(value, bool):
                        raise ValueError("$exists takes true or false")
                elif op == "$ne":
                    if not isinstance(value, _SCALARS):
                        raise ValueError("$ne takes a str, int, float, bool or None")
                elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
                    raise ValueError("range operators take a number or a string")
        elif not isinstance(cond, _SCALARS):
            raise ValueError(f"{key}: filter values are str, int, float, bool or None")


def _names_id(flt: Filter) -> bool:
    return "_id" in flt or any(_names_id(sub) for sub in flt.get("$and", []))


def _upsert_update(flt: Filter, update: Update) -> Update:
    """Give an upserted document a string ``_id`` when the filter does not fix one."""
    if _names_id(flt):
        return update
    return {**update, "$setOnInsert": {"_id": new_id()}}


def _projection(projection: list[str] | None) -> dict[str, int] | None:
    return None if projection is None else {"_id": 1, **{field: 1 for field in projection}}


def _filled(doc: Document | None, projection: list[str] | None) -> Document | None:
    """A projected document has every projected field, None where the document lacks it (as on SQLite)."""
    if doc is not None and projection is not None:
        for field in projection:
            doc.setdefault(field, None)
    return doc


@asynccontextmanager
async def _duplicates(collection: str) -> AsyncIterator[None]:
    try:
        yield
    except DuplicateKeyError as exc:
        raise _duplicate_key(collection, str(exc)) from exc
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if errors and errors[0].get("code") == 11000:
            raise _duplicate_key(collection, errors[0].get("errmsg", "")) from exc
        raise


def _duplicate_key(collection: str, message: str) -> DuplicateKey:
    details = {"collection": collection}
    match = _INDEX_NAME.search(message)
    if match:
        details["index"] = match.group(1)
    return DuplicateKey(details=details)


class MongoCollection:
    def __init__(self, collection: Any, name: str) -> None:
        self.name = name
        self._c = collection

    async def insert_one(self, doc: Document) -> Document:
        if not isinstance(doc.get("_id"), str):
            raise ValueError("documents need a string _id (backend.ids.new_id())")
        async with _duplicates(self.name):
            await self._c.insert_one(doc)
        return doc

    async def insert_many(self, docs: list[Document]) -> None:
        if not docs:
            return
        if not all(isinstance(doc.get("_id"), str) for doc in docs):
            raise ValueError("documents need a string _id (backend.ids.new_id())")
        async with _duplicates(self.name):
            await self._c.insert_many(docs)

    async def find_one(self, filter: Filter, *, projection: list[str] | None = None) -> Document | None:
        _check_filter(filter)
        return _filled(await self._c.find_one(filter, projection=_projection(projection)), projection)

    async def find(self, filter: Filter, *, sort: Sort | None = None, skip: int = 0,
                   limit: int | None = None, projection: list[str] | None = None) -> list[Document]:
        _check_filter(filter)
        if skip < 0 or (limit is not None and limit < 0):
            raise ValueError("skip and limit cannot be negative")
        if limit == 0:
            return []  # MongoDB reads limit 0 as "no limit"
        cursor = self._c.find(filter, projection=_projection(projection), sort=sort or None,
                              skip=skip, limit=limit or 0)
        return [_filled(doc, projection) for doc in await cursor.to_list(None)]

    async def count(self, filter: Filter) -> int:
        _check_filter(filter)
        return await self._c.count_documents(filter)

    async def update_one(self, filter: Filter, update: Update, *, upsert: bool = False) -> bool:
        _check_filter(filter)
        check_update(update)
        async with _duplicates(self.name):
            result = await self._c.update_one(
                filter, _upsert_update(filter, update) if upsert else update, upsert=upsert)
        return result.matched_count > 0 or result.upserted_id is not None

    async def update_many(self, filter: Filter, update: Update) -> int:
        _check_filter(filter)
        check_update(update)
        async with _duplicates(self.name):
            result = await self._c.update_many(filter, update)
        return result.matched_count

    async def find_one_and_update(self, filter: Filter, update: Update, *, upsert: bool = False,
                                  sort: Sort | None = None) -> Document | None:
        _check_filter(filter)
        check_update(update)
        async with _duplicates(self.name):
            return await self._c.find_one_and_update(
                filter, _upsert_update(filter, update) if upsert else update, upsert=upsert,
                sort=sort or None, return_document=ReturnDocument.AFTER)

    async def delete_one(self, filter: Filter) -> bool:
        _check_filter(filter)
        return (await self._c.delete_one(filter)).deleted_count == 1

    async def delete_many(self, filter: Filter) -> int:
        _check_filter(filter)
        return (await self._c.delete_many(filter)).deleted_count

    async def create_index(self, keys: list[tuple[str, Literal[1, -1]]], *, unique: bool = False,
                           sparse: bool = False, name: str | None = None) -> None:
        # Only options that are set: an explicit unique=False would not match an index
        # created without it.
        options: dict[str, Any] = {"name": name} if name else {}
        if unique:
            options["unique"] = True
        if sparse:
            options["sparse"] = True
        async with _duplicates(self.name):
            await self._c.create_index(list(keys), **options)

    async def group_count(self, filter: Filter, by: list[str],
                          sums: list[str] | None = None) -> list[Document]:
        _check_filter(filter)
        sums = sums or []
        # Positional names: group keys cannot contain dots; $ifNull puts missing with null.
        group: dict[str, Any] = {"_id": {f"k{i}": {"$ifNull": [f"${field}", None]} for i, field in enumerate(by)},
                                 "count": {"$sum": 1}}
        group.update({f"s{i}": {"$sum": f"${field}"} for i, field in enumerate(sums)})
        cursor = await self._c.aggregate([{"$match": filter}, {"$group": group}])
        return [{"key": {field: row["_id"].get(f"k{i}") for i, field in enumerate(by)},
                 "count": row["count"],
                 "sums": {field: row[f"s{i}"] for i, field in enumerate(sums)}}
                for row in await cursor.to_list(None)]


BucketFactory = Callable[..., Any]


class MongoStore:
    """The MongoDB document store (see the module docstring)."""

    engine = "mongo"

    def __init__(self, url: str, db_name: str) -> None:
        self._url = url
        self._db_name = db_name
        self._client: AsyncMongoClient[Document] | None = None
        self._db: Any = None
        self._bucket_factory: BucketFactory = AsyncGridFSBucket
        self._collections: dict[str, MongoCollection] = {}

    @classmethod
    def over_database(cls, database: Any, *, bucket_factory: BucketFactory = AsyncGridFSBucket) -> MongoStore:
        """A store over a database object someone else opened and closes: an
        ``AsyncDatabase``, or the mongomock wrapper in ``backend.store.mongomock_shim``."""
        store = cls("", getattr(database, "name", ""))
        store._db = database
        store._bucket_factory = bucket_factory
        return store

    @property
    def database(self) -> Any:
        """The underlying ``AsyncDatabase`` (for GridFS and the search index)."""
        if self._db is None:
            raise RuntimeError("the MongoDB store is not open")
        return self._db

    def gridfs_bucket(self, bucket_name: str = "fs") -> Any:
        return self._bucket_factory(self.database, bucket_name=bucket_name)

    def collection(self, name: str) -> MongoCollection:
        coll = self._collections.get(name)
        if coll is None:
            coll = self._collections[name] = MongoCollection(self.database[name], name)
        return coll

    async def open(self) -> None:
        if self._db is not None:
            return
        self._client = AsyncMongoClient(self._url, appname="yizhantong")
        self._db = self._client[self._db_name]
        try:
            await self.ping()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._client is not None:
            client, self._client, self._db = self._client, None, None
            self._collections.clear()
            await client.close()

    async def ping(self) -> None:
        await self.database.command("ping")
