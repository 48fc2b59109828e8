"""The document store: one small interface, two engines (SQLite embedded, MongoDB production).

Every module is written once against this. The contract suite in ``tests/store/`` runs against
each engine; this docstring is the contract.

Documents are JSON-safe dicts with a string ``_id`` (``backend.ids.new_id``). Values are str,
int, float, bool, None, lists and dicts; times are stored as strings from
``backend.clock.to_storage`` (they sort as times).

Filter language (a subset of MongoDB's):
  - ``{"a.b": value}`` equality on a (dotted) field; if the field holds a list, equality means
    "the list contains value" (as in MongoDB);
  - ``{"f": {"$in": [...]}}``, ``$nin``, ``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``,
    ``{"f": {"$exists": bool}}``;
  - ``{"$and": [filter, ...]}``, ``{"$or": [filter, ...]}``.
  Anything else raises ``ValueError`` (callers never pass user input as an operator: values are
  always values, so ``{"title": {"$gt": ""}}`` coming from a client is a string field compared
  by equality only if the caller put it there — validation happens before the store).

Update language: ``$set``, ``$unset``, ``$inc``, ``$push``, ``$addToSet``, ``$pull`` (by value, or
by a sub-document condition such as ``{"id": "x"}`` / ``{"id": {"$in": [...]}}``), dotted paths.

Sort: a list of ``(field, 1 | -1)``. Unique-index violations raise ``backend.errors.DuplicateKey``.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

Document = dict[str, Any]
Filter = dict[str, Any]
Update = dict[str, Any]
Sort = list[tuple[str, Literal[1, -1]]]


class Collection(Protocol):
    name: str

    async def insert_one(self, doc: Document) -> Document:
        """Insert; ``doc`` must carry ``_id``. Returns the stored document. DuplicateKey on a
        unique index (including ``_id``)."""

    async def insert_many(self, docs: list[Document]) -> None:
        """Insert several documents (one transaction on SQLite)."""

    async def find_one(self, filter: Filter, *, projection: list[str] | None = None) -> Document | None: ...

    async def find(self, filter: Filter, *, sort: Sort | None = None, skip: int = 0,
                   limit: int | None = None, projection: list[str] | None = None) -> list[Document]:
        """Matching documents. ``projection`` lists top-level fields to return (``_id`` always);
        a projected field the document lacks comes back as None."""

    async def count(self, filter: Filter) -> int: ...

    async def update_one(self, filter: Filter, update: Update, *, upsert: bool = False) -> bool:
        """Update the first match; True if a document matched (or was upserted)."""

    async def update_many(self, filter: Filter, update: Update) -> int:
        """Update every match; returns how many matched."""

    async def find_one_and_update(self, filter: Filter, update: Update, *, upsert: bool = False,
                                  sort: Sort | None = None) -> Document | None:
        """Atomic compare-and-set: apply ``update`` to the first match and return the document
        *after* the update, or None if nothing matched. Every state transition is written with
        this, filtering on ``_id``, ``state`` and ``version``: of concurrent callers exactly one wins.
        With ``upsert`` and no match, inserts the equality fields of ``filter`` plus the update."""

    async def delete_one(self, filter: Filter) -> bool: ...

    async def delete_many(self, filter: Filter) -> int: ...

    async def create_index(self, keys: list[tuple[str, Literal[1, -1]]], *, unique: bool = False,
                           sparse: bool = False, name: str | None = None) -> None:
        """Idempotent. On SQLite the fields get columns of their own and the index is over
        them, so that an equality/range filter (and a sort) on these fields uses the index
        instead of scanning. ``sparse`` unique indexes ignore documents that lack the field."""

    async def group_count(self, filter: Filter, by: list[str],
                          sums: list[str] | None = None) -> list[Document]:
        """Grouped counts for statistics: one row per distinct combination of ``by`` fields,
        ``{"key": {field: value, ...}, "count": n, "sums": {field: total, ...}}``. Missing
        fields group as None; sums skip non-numbers."""


class DocumentStore(Protocol):
    engine: str  # "sqlite" | "mongo"

    def collection(self, name: str) -> Collection: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the store cannot serve (used by /healthz)."""
