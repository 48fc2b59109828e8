"""Search on MongoDB: a ``_search_<collection>`` collection holding each document's distinct
jieba terms in an indexed array field (a multikey index), and its headline terms apart.

A query asks for documents holding all its terms (``$all``, served by the index). Ranking is
simple: the newest ``CANDIDATES`` matches are ordered by how many query terms their headline
holds, then newest first. (Term frequencies and bm25 would need ``$setIntersection``-style
aggregation, which mongomock, our test double, does not implement.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

from backend.search.segment import document_terms, query_terms
from backend.store.mongo import MongoStore

CANDIDATES = 500


class MongoSearchIndex:
    def __init__(self, store: MongoStore) -> None:
        self._store = store
        self._indexed: set[str] = set()

    async def _collection(self, collection: str) -> Any:
        coll = self._store.database[f"_search_{collection}"]
        if collection not in self._indexed:
            await coll.create_index([("terms", 1)])
            self._indexed.add(collection)
        return coll

    async def index(self, collection: str, doc_id: str, text: str, *,
                    fields: Mapping[str, str] | None = None) -> None:
        head, body = await asyncio.get_running_loop().run_in_executor(None, document_terms, text, fields)
        coll = await self._collection(collection)
        await coll.replace_one({"_id": doc_id}, {"_id": doc_id, "terms": sorted({*head, *body}),
                                                 "head": sorted(set(head))}, upsert=True)

    async def remove(self, collection: str, doc_id: str) -> None:
        await (await self._collection(collection)).delete_one({"_id": doc_id})

    async def search(self, collection: str, query: str, *, limit: int = 20,
                     filter_ids: Collection[str] | None = None, any_term: bool = False) -> list[str]:
        words = query_terms(query)
        if not words or limit < 1 or (filter_ids is not None and not filter_ids):
            return []
        flt: dict[str, Any] = {"terms": {"$in" if any_term else "$all": words}}
        if filter_ids is not None:
            flt["_id"] = {"$in": list(filter_ids)}
        coll = await self._collection(collection)
        found = await coll.find(flt, projection={"head": 1}, sort=[("_id", -1)], limit=CANDIDATES).to_list(None)
        wanted = set(words)
        found.sort(key=lambda doc: -len(wanted.intersection(doc["head"])))  # stable: newest first among ties
        return [doc["_id"] for doc in found[:limit]]
