"""Counts of a key's to-dos per module and kind (the app's badges), kept without counting on
every read.

Counting a department's thousand open items per request costs more than the page itself, so
each actor key has a counts document (``todo_counts``): a ``generation`` that the projection
bumps after it changed the key's rows, and the counts taken at ``counted``. They are valid while
``counted == generation``. A reader that finds them stale (or none) makes the document first,
reads its generation, counts, and stores the counts for that generation only if it has not moved
(compare-and-set). Every bump follows the writes it covers, so counts stored for the current
generation include every write before it; a write still to be bumped will move the generation
and send the next reader counting again. Nothing is ever trusted that a bump could have missed.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

from backend.errors import DuplicateKey
from backend.store.interface import DocumentStore
from backend.todos.pages import first_pages

TODO_COUNTS = "todo_counts"
Counts = dict[tuple[str, str], int]  # (module, kind) -> open to-dos
_CHUNK = 1000  # keys per bump (a statement's parameters are bounded)


class KeyCounts(NamedTuple):
    generation: int  # of the key's rows when counted: what was read after it is at least as new
    counts: Counts


async def touched(store: DocumentStore, keys: Iterable[str]) -> None:
    """The rows of these keys changed (or may have, after a crash): their counts go stale."""
    stale = sorted(set(keys))
    for start in range(0, len(stale), _CHUNK):
        await store.collection(TODO_COUNTS).update_many({"_id": {"$in": stale[start:start + _CHUNK]}},
                                                        {"$inc": {"generation": 1}})
    first_pages(store).changed()


async def counts_by_key(store: DocumentStore, rows_collection: str, keys: Iterable[str]) -> dict[str, KeyCounts]:
    """The open to-dos under each of ``keys``, with the generation they were counted at."""
    keys = sorted(set(keys))
    docs = {doc["_id"]: doc for doc in await store.collection(TODO_COUNTS).find({"_id": {"$in": keys}})}
    out: dict[str, KeyCounts] = {}
    for key in keys:
        doc = docs.get(key)
        generation, groups = (doc["generation"], doc["counts"]) if doc and doc.get("counted") == doc["generation"] \
            else await _recount(store, rows_collection, key, doc)
        out[key] = KeyCounts(generation, {(module, kind): count for module, kind, count in groups})
    return out


def total(counts: Iterable[Counts]) -> Counts:
    """The counts of several keys together (they do not overlap: a row has one actor)."""
    summed: Counts = {}
    for one in counts:
        for group, count in one.items():
            summed[group] = summed.get(group, 0) + count
    return summed


async def _recount(store: DocumentStore, rows_collection: str, key: str,
                   doc: dict[str, Any] | None) -> tuple[int, list[list[Any]]]:
    counts = store.collection(TODO_COUNTS)
    if doc is None:
        try:
            doc = await counts.insert_one({"_id": key, "generation": 0, "counted": None, "counts": []})
        except DuplicateKey:  # another reader made it: start from its generation
            doc = await counts.find_one({"_id": key}) or {"generation": 0}
    generation = doc["generation"]
    groups = await store.collection(rows_collection).group_count({"actor": key}, by=["module", "kind"])
    found = [[group["key"]["module"], group["key"]["kind"] or "handle", group["count"]] for group in groups]
    await counts.update_one({"_id": key, "generation": generation}, {"$set": {"counted": generation, "counts": found}})
    return generation, found
