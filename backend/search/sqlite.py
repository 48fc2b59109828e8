"""Search on the embedded engine: an FTS5 table of space-joined jieba terms per collection, in
the store's own file and on its thread.

FTS5's own tokenizers cannot split Chinese into words (``trigram`` misses two-character queries
such as 噪音), so we segment with jieba and let ``unicode61`` split on the spaces we put in.
Ranking is bm25 with headline terms weighted ``HEAD_WEIGHT`` times the body's. The FTS rowid
maps to the document id through a small table, so re-indexing and removal find the row by key.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Collection, Mapping

import orjson

from backend.search.segment import document_terms, query_terms
from backend.store.sqlite import SQLiteStore

HEAD_WEIGHT = 5.0
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def _tables(collection: str) -> tuple[str, str]:
    if not _NAME.match(collection):
        raise ValueError(f"collection names are letters, digits and _, not {collection!r}")
    return f'"_search_{collection}"', f'"_search_{collection}_fts"'


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class SQLiteSearchIndex:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    async def index(self, collection: str, doc_id: str, text: str, *,
                    fields: Mapping[str, str] | None = None) -> None:
        ids, fts = _tables(collection)
        head, body = await asyncio.get_running_loop().run_in_executor(None, document_terms, text, fields)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {ids} (n INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE)")
            conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(head, body)")
            row = conn.execute(f"SELECT n FROM {ids} WHERE doc_id = ?", (doc_id,)).fetchone()
            if row is None:
                n = conn.execute(f"INSERT INTO {ids} (doc_id) VALUES (?)", (doc_id,)).lastrowid
            else:
                n = row[0]
                conn.execute(f"DELETE FROM {fts} WHERE rowid = ?", (n,))
            conn.execute(f"INSERT INTO {fts} (rowid, head, body) VALUES (?, ?, ?)", (n, " ".join(head), " ".join(body)))

        await self._store.run_write(write)

    async def remove(self, collection: str, doc_id: str) -> None:
        ids, fts = _tables(collection)

        def delete(conn: sqlite3.Connection) -> None:
            if not _exists(conn, ids):
                return
            row = conn.execute(f"DELETE FROM {ids} WHERE doc_id = ? RETURNING n", (doc_id,)).fetchone()
            if row is not None:
                conn.execute(f"DELETE FROM {fts} WHERE rowid = ?", (row[0],))

        await self._store.run_write(delete)

    async def search(self, collection: str, query: str, *, limit: int = 20,
                     filter_ids: Collection[str] | None = None, any_term: bool = False) -> list[str]:
        ids, fts = _tables(collection)
        words = query_terms(query)
        if not words or limit < 1 or (filter_ids is not None and not filter_ids):
            return []
        sql = (f"SELECT i.doc_id FROM {fts} JOIN {ids} AS i ON i.n = {fts}.rowid WHERE {fts} MATCH ?1"
               + (" AND i.doc_id IN (SELECT value FROM json_each(?3))" if filter_ids is not None else "")
               + f" ORDER BY bm25({fts}, {HEAD_WEIGHT}, 1.0), i.doc_id DESC LIMIT ?2")
        params = [(" OR " if any_term else " ").join(_quoted(w) for w in words), limit]
        if filter_ids is not None:
            params.append(orjson.dumps(list(filter_ids)).decode())

        def read(conn: sqlite3.Connection) -> list[str]:
            if not _exists(conn, ids):
                return []
            return [row[0] for row in conn.execute(sql, params)]

        return await self._store.run(read)


def _exists(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table.strip('"'),)).fetchone() is not None
