"""The embedded engine: one SQLite file, one table ``(_id TEXT PRIMARY KEY, doc TEXT, ...)`` per collection.

The contract is in ``interface.py``; this docstring says only how this engine meets it.

Threads and processes. Every sqlite3 call runs on one worker thread that owns the connection,
so the event loop never waits on disk and operations of one process are serialised. Writes run
in ``BEGIN IMMEDIATE`` transactions (read, apply the update in Python, write back), which makes
``find_one_and_update`` atomic across the processes of ``yzt serve --processes N`` too; WAL lets
readers go on meanwhile, and ``busy_timeout`` makes a writer wait for another process's commit.
Writes that queue behind one another share one transaction (group commit), each in its own
savepoint: a write that fails leaves the others alone, nothing is acknowledged before the
group's commit, and if that commit fails every write of the group fails.

Indexed fields have columns. ``create_index`` gives each field it names a column of its own
(``"$deadline.due_at"``), filled from every document then and from the dict on every write
after, and indexes the columns: an insert then pays for the index entries only, and an update
touches only the indexes of the fields it changed (an index over ``json_extract(doc, …)`` made
SQLite rewrite every index entry of the row, and read the JSON again for each). The columns are
registered (``_yzt_cells``) in the transaction that adds them, so another process's next write
fills them too. A column holds strings and numbers as themselves, booleans as the blobs
``t``/``f`` and lists and objects as their JSON in a blob; null, a missing field and a path that
crosses a list are NULL. Columns have no affinity, so equality needs no type test. Filters on
other fields (and ``$exists``, and paths that may cross a list) read ``json_extract(doc, '$.a.b')``.

Types are kept apart as MongoDB keeps them: ``json_extract`` returns 1/0 for JSON true/false,
so a boolean compares with ``json_type`` as well (``True`` never matches 1), a number only
matches numbers and a range only compares within numbers or within strings. ``None`` matches
null and missing; ``$ne``/``$nin`` match documents that lack the field.

Lists. ``{"tags": "x"}`` must also match ``tags: ["x", "y"]``, which plain equality misses, and
the ``json_each`` form cannot use an index. So each collection keeps a registry of the dotted
paths that have ever held a list (``_yzt_array_paths``, written in the same transaction as the
document). Only paths in it get the ``json_each`` form; every other field keeps the indexable
form. Consequences: equality on a list field scans (unless another indexed term narrows the
query), and a path stays in the registry once it held a list. The registries have generation
numbers; readers check them after each query (``PRAGMA data_version`` first, so one process
pays nothing), and re-run the query if another process changed the list paths meanwhile.

Failures of the disk or the file (full, read-only, I/O error, cannot open, still locked after
``busy_timeout``) become ``Unavailable`` (503 "unavailable"), logged once here with SQLite's own
error; the connection stays usable and the next write succeeds once the cause is gone.

Unique indexes. A non-sparse one gets a companion partial index over the documents that lack a
key field, because SQLite treats NULLs as distinct while MongoDB counts a missing field as null.
A sparse index also leaves out a field set to null (MongoDB keeps it). Unique indexes on list
fields compare the whole list. Sorting across types follows SQLite (null < numbers < strings <
blobs), which agrees with MongoDB for everything but lists and objects. A database whose
indexes are over expressions (made before the columns) has them replaced by ``create_index``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson

from backend.datadir import FILE_MODE, private_dir, private_file
from backend.errors import DuplicateKey, Unavailable
from backend.ids import new_id
from backend.store.checks import check_update
from backend.store.documents import apply_update, seed
from backend.store.interface import Document, Filter, Sort, Update

log = logging.getLogger(__name__)

T = TypeVar("T")
# (value SQL, type SQL, whether the value is a field's own column) -> condition SQL
Leaf = Callable[[str, str, bool], str]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_SEGMENT = re.compile(r"[^.\[\]\"'\\$\s][^.\[\]\"'\\\s]*\Z")
_RANGE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_NUMBER = "IN ('integer', 'real')"
_TEXT = "'text'"  # the json_type of the _id column
_NULL_KEY = "x''"  # stands for a missing field in the companion of a unique index: no cell is an empty blob
_TRUE, _FALSE = b"t", b"f"  # a boolean's cell: a blob, so that True is never 1
_DUPLICATE = re.compile(r"UNIQUE constraint failed: (?:index '([^'.]+)\.([^']*?)(?:#nulls)?'|(\w+)\.(.+))")
_DUMPS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_NO_PATHS: frozenset[str] = frozenset()
# Primary result codes that say the disk or the file is (for now) unusable, not that a query is wrong.
_UNAVAILABLE = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN,
                          sqlite3.SQLITE_BUSY, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOLFS})


def _dumps(doc: Document) -> str:
    """JSON text; datetimes and dataclasses raise TypeError (the contract stores strings)."""
    return orjson.dumps(doc, option=_DUMPS).decode()


def _segments(path: str) -> list[str]:
    parts = path.split(".")
    if not all(_SEGMENT.match(part) for part in parts):
        raise ValueError(f"unsupported field name {path!r}")
    return parts


def _column(path: str) -> str:
    """The SQL for a field's value read from the document (or the key column)."""
    return "_id" if path == "_id" else f"json_extract(doc, '$.{'.'.join(_segments(path))}')"


def _type_of(path: str) -> str:
    return _TEXT if path == "_id" else f"json_type(doc, '$.{'.'.join(_segments(path))}')"


def _cell_column(path: str) -> str:
    """The name of an indexed field's own column (``_segments`` keeps quotes out of it)."""
    _segments(path)
    return f'"${path}"'


def _cell(doc: Document, segments: list[str]) -> Any:
    """A field's value as its column holds it: strings and numbers as themselves, booleans as
    the blobs ``t``/``f``, lists and objects as their JSON in a blob, and NULL for null, for a
    missing field and for a path that crosses a list (a query on such a path reads the document)."""
    node: Any = doc
    for segment in segments:
        if type(node) is not dict:
            return None
        node = node.get(segment)
    return _cell_of(node)


def _cell_of(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is float or value is None:
        return value
    if kind is bool:
        return _TRUE if value else _FALSE
    if kind is list or kind is dict:
        return orjson.dumps(value, option=_DUMPS)
    return _cell_of(orjson.loads(_dumps(value)))  # an enum or another subclass: as the document stores it


def _same_cell(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def _order_by(sort: Sort | None, cells: Collection[str] = _NO_PATHS) -> str:
    if not sort:
        return ""
    parts = []
    for field, direction in sort:
        if direction not in (1, -1):
            raise ValueError(f"sort direction must be 1 or -1, not {direction!r}")
        column = _cell_column(field) if field in cells else _column(field)
        parts.append(column + (" DESC" if direction == -1 else ""))
    return " ORDER BY " + ", ".join(parts)


class _Where:
    """Compiles one filter to SQL with numbered parameters.

    ``arrays`` is the collection's registry of list-holding paths; ``used_arrays`` tells the
    caller whether the SQL depends on it (only ``_id`` conditions do not). ``cells`` are the
    paths with their own column: a condition on one reads the column (and its index) unless the
    path may cross a list.
    """

    __slots__ = ("params", "arrays", "cells", "used_arrays", "_aliases")

    def __init__(self, arrays: Collection[str], cells: Collection[str] = _NO_PATHS) -> None:
        self.params: list[Any] = []
        self.arrays = arrays
        self.cells = cells
        self.used_arrays = False
        self._aliases = 0

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"?{len(self.params)}"

    def filter(self, flt: Filter) -> str:
        if not isinstance(flt, dict):
            raise ValueError(f"a filter is a dict, not {type(flt).__name__}")
        parts = []
        for key, cond in flt.items():
            if key in ("$and", "$or"):
                if not isinstance(cond, list) or not cond:
                    raise ValueError(f"{key} takes a non-empty list of filters")
                joiner = " AND " if key == "$and" else " OR "
                parts.append("(" + joiner.join(f"({self.filter(sub)})" for sub in cond) + ")")
            elif key.startswith("$"):
                raise ValueError(f"unsupported filter operator {key!r}")
            elif isinstance(cond, dict):
                if not cond or not all(op.startswith("$") for op in cond):
                    raise ValueError(f"{key}: equality with a document is not supported; use dotted fields")
                parts.extend(self._operator(key, op, value) for op, value in cond.items())
            else:
                parts.append(self._test(key, self._eq(cond)))
        return " AND ".join(parts) if parts else "1"

    def _operator(self, path: str, op: str, value: Any) -> str:
        if op == "$in":
            return self._test(path, self._in(value))
        if op == "$nin":
            return f"{self._test(path, self._in(value))} IS NOT 1"
        if op == "$ne":
            return f"{self._test(path, self._eq(value))} IS NOT 1"
        if op in _RANGE:
            return self._test(path, self._range(_RANGE[op], value))
        if op == "$exists":
            if not isinstance(value, bool):
                raise ValueError("$exists takes true or false")
            test = self._test(path, lambda val, typ, cell: f"{typ} IS NOT NULL", expand=False)
            return test if value else f"{test} IS NOT 1"
        raise ValueError(f"unsupported filter operator {op!r}")

    def _eq(self, value: Any) -> Leaf:
        # A column has no affinity, so its equality needs no type test: text, numbers and the
        # blobs of booleans never compare equal to one another.
        if value is None:
            return lambda val, typ, cell: f"{val} IS NULL"
        if isinstance(value, bool):
            word, number, blob = ("true", 1, "x'74'") if value else ("false", 0, "x'66'")
            return lambda val, typ, cell: f"{val} = {blob}" if cell else f"({val} = {number} AND {typ} = '{word}')"
        if isinstance(value, (int, float)):
            p = self.param(value)
            return lambda val, typ, cell: f"{val} = {p}" if cell else f"({val} = {p} AND {typ} {_NUMBER})"
        if isinstance(value, str):
            p = self.param(value)
            return lambda val, typ, cell: f"{val} = {p}"
        raise ValueError(f"filter values are str, int, float, bool or None, not {type(value).__name__}")

    def _in(self, values: Any) -> Leaf:
        if not isinstance(values, (list, tuple)):
            raise ValueError("$in and $nin take a list")
        strings = [self.param(v) for v in values if isinstance(v, str)]
        numbers = [self.param(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        leaves = [self._eq(v) for v in values if v is None or isinstance(v, bool)]
        if len(strings) + len(numbers) + len(leaves) != len(values):
            raise ValueError("$in and $nin take a list of str, int, float, bool or None")
        if strings:
            leaves.append(lambda val, typ, cell: f"{val} IN ({', '.join(strings)})")
        if numbers:
            leaves.append(lambda val, typ, cell: f"{val} IN ({', '.join(numbers)})" if cell
                          else f"({val} IN ({', '.join(numbers)}) AND {typ} {_NUMBER})")
        if not leaves:
            return lambda val, typ, cell: "0"
        if len(leaves) == 1:
            return leaves[0]
        return lambda val, typ, cell: "(" + " OR ".join(leaf(val, typ, cell) for leaf in leaves) + ")"

    def _range(self, sql_op: str, value: Any) -> Leaf:
        if isinstance(value, str):
            guard = "= 'text'"
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            guard = _NUMBER
        else:
            raise ValueError("range operators take a number or a string")
        p = self.param(value)
        return lambda val, typ, cell: f"({val} {sql_op} {p} AND {typ} {guard})"

    def _test(self, path: str, leaf: Leaf, *, expand: bool = True) -> str:
        if path == "_id":
            return f"({leaf('_id', _TEXT, False)})"
        self.used_arrays = True
        segments = _segments(path)
        # $exists (expand=False) tells null from missing, which a column cannot.
        if expand and path in self.cells and not any(
                ".".join(segments[:i]) in self.arrays for i in range(1, len(segments) + 1)):
            column = _cell_column(path)
            return f"({leaf(column, f'typeof({column})', True)})"
        return f"({self._walk(None, [], segments, leaf, expand, 1)})"

    def _walk(self, base: str | None, done: list[str], rest: list[str], leaf: Leaf,
              expand: bool, start: int) -> str:
        """Follow ``rest`` from ``base`` (None: the document root; else SQL giving a JSON path),
        fanning out over lists found in the registry as MongoDB does for ``items.id``."""
        for i in range(start, len(rest)):
            prefix = done + rest[:i]
            if ".".join(prefix) in self.arrays:
                node = self._node(base, rest[:i])
                alias = self._alias()
                each = self._walk(f"{alias}.fullkey", prefix, rest[i:], leaf, expand, 1)
                other = self._walk(base, done, rest, leaf, expand, i + 1)
                return (f"CASE WHEN json_type(doc, {node}) = 'array' THEN EXISTS (SELECT 1 FROM "
                        f"json_each(doc, {node}) AS {alias} WHERE {each}) ELSE {other} END")
        node = self._node(base, rest)
        direct = leaf(f"json_extract(doc, {node})", f"json_type(doc, {node})", False)
        if expand and ".".join(done + rest) in self.arrays:
            alias = self._alias()
            element = leaf(f"{alias}.value", f"{alias}.type", False)
            direct = (f"({direct} OR (json_type(doc, {node}) = 'array' AND EXISTS (SELECT 1 FROM "
                      f"json_each(doc, {node}) AS {alias} WHERE {element})))")
        return direct

    @staticmethod
    def _node(base: str | None, segments: list[str]) -> str:
        tail = ".".join(segments)
        return f"'$.{tail}'" if base is None else f"{base} || '.{tail}'"

    def _alias(self) -> str:
        self._aliases += 1
        return f"j{self._aliases}"


def _array_paths(node: dict[str, Any], prefix: str, found: set[str]) -> set[str]:
    for key, value in node.items():
        path = prefix + key
        if isinstance(value, list):
            found.add(path)
            for item in value:
                if isinstance(item, dict):
                    _array_paths(item, path + ".", found)
        elif isinstance(value, dict):
            _array_paths(value, path + ".", found)
    return found


def _json_path_literal(field: str) -> str:
    if not field.replace("_", "a").isalnum():
        raise ValueError(f"projection fields are plain top-level names, got {field!r}")
    return f"'$.{field}'"


def _projected_fields(projection: list[str] | None) -> tuple[str, ...] | None:
    return None if projection is None else tuple(field for field in projection if field != "_id")


def _row_document(row: Any, fields: tuple[str, ...] | None) -> Document:
    """A row of ``_find_sync``: the whole document, or ``_id`` and the projected fields (one
    JSON array of their values; a missing field is None)."""
    if fields is None:
        return orjson.loads(row[0])
    doc: Document = {"_id": row[0]}
    if fields:
        doc.update(zip(fields, orjson.loads(row[1])))
    return doc


def _projected_columns(fields: tuple[str, ...] | None) -> str:
    """The SELECT list of a projection: the fields' values in one ``json_extract`` of several
    paths, so that SQLite parses each document once (not once per field) and the row is one
    small JSON array to decode (``json_array`` makes one path an array too)."""
    if fields is None:
        return "doc"
    if not fields:
        return "_id"
    paths = ", ".join(_json_path_literal(field) for field in fields)
    return f"_id, json_extract(doc, {paths})" if len(fields) > 1 else f"_id, json_array(doc -> {paths})"


def _typed(value: Any, json_type: str) -> Any:
    """A grouped value as Python: json_extract gives 1/0 for booleans and text for containers."""
    if json_type == "true":
        return True
    if json_type == "false":
        return False
    if json_type in ("array", "object"):
        return orjson.loads(value)
    return value


def _flat_shape(flt: Filter) -> tuple[tuple[str, bool], ...] | None:
    """The cache key of a filter of plain equalities on strings and numbers (the hot path:
    ``{"_id": x}``, ``{"_id": x, "version": n}``), whose parameters are its values in order;
    None for any other filter."""
    shape = []
    for key, value in flt.items():
        kind = type(value)
        if kind is not str and kind is not int and kind is not float or key.startswith("$"):
            return None
        shape.append((key, kind is str))
    return tuple(shape)


def _check_window(skip: int, limit: int | None) -> None:
    if skip < 0 or (limit is not None and limit < 0):
        raise ValueError("skip and limit cannot be negative")


def _settle(settled: list[list[Any]]) -> None:
    for future, result, error in settled:
        if future.cancelled():
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


class _Worker:
    """The one thread that owns the connection.

    A plain queue and ``call_soon_threadsafe`` cost a third of ``run_in_executor``'s hop, and a
    primary-key read is mostly hop. Results go back in batches (when the queue is empty, or
    after 1 ms of work) so that under load the loop is woken once per batch, not per result:
    this more than doubles reads per second at 8+ concurrent callers.

    Writes that follow one another in a batch may share a group transaction
    (``SQLiteStore._in_write``): ``finish`` commits it before the next job that is not a write
    and before any result of the batch goes back; if that fails, every job of the group fails so.
    """

    _BATCH_SECONDS = 0.001

    def __init__(self, *, grouped: Callable[[], bool], finish: Callable[[], None],
                 writes: Callable[[Callable[..., Any]], bool]) -> None:
        self._grouped = grouped
        self._finish = finish
        self._writes = writes
        self._jobs: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any]] | None] = (
            queue.SimpleQueue())
        self._thread = threading.Thread(target=self._serve, name="yzt-sqlite", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], args: tuple[Any, ...]) -> asyncio.Future[T]:
        future = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, args, future))
        return future

    def busy(self) -> bool:
        """More jobs are waiting (on the worker thread: a write may open a group transaction)."""
        return not self._jobs.empty()

    def stop(self) -> None:
        """Let queued jobs finish, then end the thread."""
        self._jobs.put(None)
        self._thread.join()

    def _serve(self) -> None:
        jobs = self._jobs
        job = jobs.get()
        while job is not None:
            batch: dict[asyncio.AbstractEventLoop, list[Any]] = {}
            grouped: list[list[Any]] = []
            deadline = time.perf_counter() + self._BATCH_SECONDS
            while job is not None:
                fn, args, future = job
                if grouped and not self._writes(fn):
                    self._commit(grouped)
                    grouped = []
                outcome: list[Any]  # [future, result, error]
                try:
                    outcome = [future, fn(*args), None]
                except BaseException as exc:  # handed to the awaiting coroutine
                    outcome = [future, None, exc]
                batch.setdefault(future.get_loop(), []).append(outcome)
                if self._grouped():
                    grouped.append(outcome)
                if jobs.empty() or time.perf_counter() > deadline:
                    break
                job = jobs.get()
            self._commit(grouped)
            for loop, settled in batch.items():
                try:
                    loop.call_soon_threadsafe(_settle, settled)
                except RuntimeError:  # that loop is closed: nobody is waiting any more
                    pass
            if job is not None:
                job = jobs.get()

    def _commit(self, grouped: list[list[Any]]) -> None:
        try:
            self._finish()
        except BaseException as exc:  # nothing of the group was kept
            for outcome in grouped:
                outcome[1:] = [None, exc]


class SQLiteStore:
    """The embedded document store (see the module docstring)."""

    engine = "sqlite"

    def __init__(self, path: Path, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._worker: _Worker | None = None
        self._conn: sqlite3.Connection | None = None
        self._collections: dict[str, SQLiteCollection] = {}
        self._tables: set[str] = set()
        self._arrays: dict[str, set[str]] = {}
        self._arrays_gen = 0
        self._data_version = -1
        self._new_arrays: set[tuple[str, str]] = set()
        self._cells: dict[str, dict[str, list[str]]] = {}  # per table: indexed path -> its segments
        self._cells_gen = 0
        self._new_cells: list[tuple[str, str]] = []
        # While a group transaction is open: [] , or [the error that ended it early].
        self._group: list[BaseException] | None = None
        self._compiled: dict[tuple[str, tuple[tuple[str, bool], ...]], tuple[str, bool]] = {}

    # --- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        if self._worker is not None:
            return
        self._worker = _Worker(grouped=lambda: self._group is not None, finish=self._finish_group,
                               writes=lambda fn: fn == self._write or fn == self._in_write)
        try:
            await self._call(self._open_sync)
        except BaseException:
            self._worker.stop()
            self._worker = None
            raise

    async def close(self) -> None:
        if self._worker is None:
            return
        try:
            await self._call(self._close_sync)
        finally:
            self._worker.stop()
            self._worker = None

    async def ping(self) -> None:
        await self.run(lambda conn: conn.execute("SELECT 1").fetchone())

    def collection(self, name: str) -> SQLiteCollection:
        coll = self._collections.get(name)
        if coll is None:
            if not _NAME.match(name):
                raise ValueError(f"collection names are letters, digits and _, not {name!r}")
            coll = self._collections[name] = SQLiteCollection(self, name)
        return coll

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the store's thread, in autocommit mode (for reads that
        live next to the store, such as the search index)."""
        return await self._call(lambda: fn(self._connection()))

    async def run_write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the store's thread inside ``BEGIN IMMEDIATE … COMMIT``."""
        return await self._call(self._in_write, lambda: fn(self._connection()))

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._worker is None:
            raise RuntimeError("the SQLite store is not open")
        try:
            return await self._worker.submit(fn, args)
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if code is None or code & 0xFF not in _UNAVAILABLE:
                raise
            log.error("SQLite store unavailable: %s (%s) on %s", exc, getattr(exc, "sqlite_errorname", code), self.path)
            raise Unavailable(details={"part": "store"}) from exc

    # --- on the worker thread ----------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    def _open_sync(self) -> None:
        # SQLite creates a database file 0644 less the umask (0644 under umask 022 or 000), and its -wal
        # and -shm files with the database file's mode: so the file is made first, 0600, and they follow.
        private_dir(self.path.parent)
        private_file(self.path)
        for companion in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{self.path}{companion}", FILE_MODE)
        conn = sqlite3.connect(self.path, isolation_level=None, cached_statements=512)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            self._use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -32000")
            self._conn = conn
            conn.execute("BEGIN IMMEDIATE")
            with conn:  # commits, or rolls back on error
                self._create_meta()
            self._tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            self._registries_stale()
        except BaseException:
            self._conn = None
            conn.close()
            raise

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """WAL mode (kept in the file: set once). While another process switches the same new
        database (``yzt serve --processes N`` starting its children together), SQLite answers
        "database is locked" at once, without waiting for the busy timeout: so wait here."""
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _create_meta(self) -> None:
        conn = self._connection()
        conn.execute("CREATE TABLE IF NOT EXISTS _yzt_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        conn.execute("INSERT OR IGNORE INTO _yzt_meta VALUES ('array_paths', 0), ('cells', 0)")
        conn.execute("CREATE TABLE IF NOT EXISTS _yzt_array_paths "
                     "(coll TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (coll, path))")
        conn.execute("CREATE TABLE IF NOT EXISTS _yzt_cells "
                     "(coll TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (coll, path))")

    def _close_sync(self) -> None:
        self._finish_group()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.execute("PRAGMA optimize")
            conn.close()

    def _registries_stale(self) -> bool:
        """Reload the registries of list paths and of columns if another connection changed
        them; True if the list paths changed (a query compiled with them must run again; one
        compiled without a new column is only slower)."""
        conn = self._connection()
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version:
            return False
        self._data_version = version
        generations = dict(conn.execute("SELECT key, value FROM _yzt_meta"))
        if generations["cells"] != self._cells_gen:
            cells: dict[str, dict[str, list[str]]] = {}
            for coll, path in conn.execute("SELECT coll, path FROM _yzt_cells ORDER BY rowid"):
                cells.setdefault(coll, {})[path] = _segments(path)
            self._cells, self._cells_gen = cells, generations["cells"]
            self._compiled.clear()
        gen = generations["array_paths"]
        if gen == self._arrays_gen:
            return False
        arrays: dict[str, set[str]] = {}
        for coll, path in conn.execute("SELECT coll, path FROM _yzt_array_paths"):
            arrays.setdefault(coll, set()).add(path)
        self._arrays, self._arrays_gen = arrays, gen
        self._compiled.clear()
        return True

    def _add_cells(self, coll: str, paths: list[str]) -> None:
        """Give indexed fields their own columns, filled from every document (in the caller's
        write transaction: another process's next write sees them before it writes)."""
        known = self._cells.get(coll, {})
        new = [path for path in dict.fromkeys(paths) if path not in known]
        if not new:
            return
        conn = self._connection()
        for path in new:
            conn.execute(f'ALTER TABLE "{coll}" ADD COLUMN {_cell_column(path)}')
        conn.executemany("INSERT INTO _yzt_cells VALUES (?, ?)", [(coll, path) for path in new])
        segments = [_segments(path) for path in new]
        assignments = ", ".join(f"{_cell_column(path)} = ?" for path in new)
        rows = conn.execute(f'SELECT _id, doc FROM "{coll}" ORDER BY _id LIMIT 1000').fetchall()
        while rows:
            conn.executemany(f'UPDATE "{coll}" SET {assignments} WHERE _id = ?', [
                (*(_cell(doc, parts) for parts in segments), _id)
                for _id, doc in ((_id, orjson.loads(text)) for _id, text in rows)])
            rows = conn.execute(f'SELECT _id, doc FROM "{coll}" WHERE _id > ? ORDER BY _id LIMIT 1000',
                                (rows[-1][0],)).fetchall()
        self._new_cells.extend((coll, path) for path in new)

    def _note_arrays(self, coll: str, doc: Document) -> None:
        """Record list paths of a written document that the registry does not know yet."""
        known = self._arrays.get(coll, _NO_PATHS)
        self._new_arrays.update((coll, path) for path in _array_paths(doc, "", set()) - known)

    def _in_write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` as one atomic write. Alone, in its own ``BEGIN IMMEDIATE … COMMIT``;
        while more work waits in the queue, as a savepoint of a group transaction that the worker
        commits before it hands back any result of the group (group commit: one commit, and one
        copy of each changed page in the WAL, for several writes)."""
        conn = self._connection()
        if self._group:  # the group transaction was lost: the rest of the group fails with it
            raise self._group[0]
        if self._group is None and self._worker is not None and self._worker.busy():
            conn.execute("BEGIN IMMEDIATE")
            self._group = []
            self._registries_stale()
        grouped = self._group is not None
        conn.execute("SAVEPOINT write" if grouped else "BEGIN IMMEDIATE")
        try:
            if not grouped:
                self._registries_stale()
            result = fn(*args)
            gens = self._register_paths()
            conn.execute("RELEASE write" if grouped else "COMMIT")
        except BaseException as exc:
            self._new_arrays.clear()
            self._new_cells.clear()
            if grouped and conn.in_transaction:
                try:
                    conn.execute("ROLLBACK TO write")
                    conn.execute("RELEASE write")
                except sqlite3.Error:  # the group cannot go on without this write's changes
                    self._group_lost(exc)
            elif conn.in_transaction:
                conn.execute("ROLLBACK")
            elif grouped:  # SQLite ended the group transaction itself (a disk error): the group is lost
                self._group_lost(exc)
            duplicate = self._duplicate_key(exc) if isinstance(exc, sqlite3.IntegrityError) else None
            if duplicate is not None:
                raise duplicate from exc
            raise
        self._remember_paths(*gens)
        return result

    def _register_paths(self) -> tuple[int, int]:
        """Write the list paths and columns this write added to their registries (in its
        transaction); their new generations."""
        conn = self._connection()
        arrays_gen, cells_gen = self._arrays_gen, self._cells_gen
        if self._new_arrays:
            conn.executemany("INSERT OR IGNORE INTO _yzt_array_paths VALUES (?, ?)", self._new_arrays)
            arrays_gen = conn.execute("UPDATE _yzt_meta SET value = value + 1 WHERE key = 'array_paths' "
                                      "RETURNING value").fetchone()[0]
        if self._new_cells:
            cells_gen = conn.execute("UPDATE _yzt_meta SET value = value + 1 WHERE key = 'cells' "
                                     "RETURNING value").fetchone()[0]
        return arrays_gen, cells_gen

    def _remember_paths(self, arrays_gen: int, cells_gen: int) -> None:
        if self._new_cells:
            for coll, path in self._new_cells:
                self._cells.setdefault(coll, {})[path] = _segments(path)
            self._cells_gen = cells_gen
            self._new_cells.clear()
            self._compiled.clear()
        if self._new_arrays:
            for coll, path in self._new_arrays:
                self._arrays.setdefault(coll, set()).add(path)
            self._arrays_gen = arrays_gen
            self._new_arrays.clear()
            self._compiled.clear()

    def _finish_group(self) -> None:
        """Commit the group transaction, if one is open (the worker, before it hands back the
        results of the jobs that ran in it); raise if that fails."""
        if self._group is None:
            return
        conn = self._connection()
        try:
            if self._group:
                raise self._group[0]
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the commit's error is the one to report
                    conn.execute("ROLLBACK")
            self._group_lost(exc)
            raise
        finally:
            self._group = None

    def _group_lost(self, exc: BaseException) -> None:
        """The group transaction is gone, and with it the tables and columns its writes made:
        forget them until the registries are read again (the next write or list query does).
        List paths it recorded may stay meanwhile: a path wrongly taken for a list only costs
        the ``json_each`` form."""
        if self._group is not None and not self._group:
            self._group.append(exc)
        self._tables.clear()
        self._cells = {}
        self._compiled.clear()
        self._data_version = self._arrays_gen = self._cells_gen = -1

    def _has_table(self, name: str) -> bool:
        if name in self._tables:
            return True
        if self._connection().execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                      (name,)).fetchone():
            self._tables.add(name)
            return True
        return False

    def _write(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        if not self._has_table(name):
            self._in_write(self._connection().execute,
                           f'CREATE TABLE IF NOT EXISTS "{name}" (_id TEXT PRIMARY KEY, doc TEXT NOT NULL)')
            self._tables.add(name)
        return self._in_write(fn, *args)

    def _compile(self, name: str, flt: Filter) -> tuple[str, list[Any], bool]:
        """(WHERE condition, its parameters, whether it depends on the list-path registry)."""
        shape = _flat_shape(flt)
        if shape is not None:
            hit = self._compiled.get((name, shape))
            if hit is not None:
                return hit[0], list(flt.values()), hit[1]
        where = _Where(self._arrays.get(name, _NO_PATHS), self._cells.get(name, _NO_PATHS))
        condition = where.filter(flt)
        if shape is not None:
            if len(self._compiled) >= 1024:
                self._compiled.clear()
            self._compiled[(name, shape)] = (condition, where.used_arrays)
        return condition, where.params, where.used_arrays

    def _select(self, name: str, flt: Filter, build: Callable[[str, list[Any]], str]) -> list[Any]:
        """Run ``build(condition, params)`` (which may append parameters) for ``flt``, again if
        the list-path registry moved under the query."""
        if not self._has_table(name):
            return []
        conn = self._connection()
        while True:
            condition, params, used_arrays = self._compile(name, flt)
            rows = conn.execute(build(condition, params), params).fetchall()
            if not used_arrays or not self._registries_stale():
                return rows

    def _duplicate_key(self, exc: sqlite3.IntegrityError) -> DuplicateKey | None:
        """The index a unique violation names: SQLite names an index over columns by its
        columns (``letters.$tracking_no``) and one over expressions by its name."""
        match = _DUPLICATE.match(str(exc))
        if match is None:
            return None
        if match.group(1):
            return DuplicateKey(details={"collection": match.group(1), "index": match.group(2)})
        coll, columns = match.group(3), [part.split(".", 1)[-1] for part in match.group(4).split(", ")]
        if columns == ["_id"]:
            return DuplicateKey(details={"collection": coll, "index": "_id_"})
        conn = self._connection()
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (coll,)):
            if [row[2] for row in conn.execute(f'PRAGMA index_info("{name}")')] == columns:
                return DuplicateKey(details={"collection": coll, "index": name.split(".", 1)[-1]})
        return DuplicateKey(details={"collection": coll, "index": ",".join(columns)})


class SQLiteCollection:
    """One table. Public coroutines hop to the store thread; ``_*_sync`` methods run there."""

    def __init__(self, store: SQLiteStore, name: str) -> None:
        self.name = name
        self._store = store
        self._table = f'"{name}"'

    # --- reads -------------------------------------------------------------------------------

    async def find_one(self, filter: Filter, *, projection: list[str] | None = None) -> Document | None:
        rows = await self._store._call(self._find_sync, filter, None, 0, 1, projection)
        return _row_document(rows[0], _projected_fields(projection)) if rows else None

    async def find(self, filter: Filter, *, sort: Sort | None = None, skip: int = 0,
                   limit: int | None = None, projection: list[str] | None = None) -> list[Document]:
        _check_window(skip, limit)
        if limit == 0:
            return []
        rows = await self._store._call(self._find_sync, filter, sort, skip, limit, projection)
        fields = _projected_fields(projection)
        return [_row_document(row, fields) for row in rows]

    def _find_sync(self, flt: Filter, sort: Sort | None, skip: int, limit: int | None,
                   projection: list[str] | None = None) -> list[Any]:
        # A projection is read in SQL: a list page then decodes a few small values per document
        # instead of whole documents with their histories.
        columns = _projected_columns(_projected_fields(projection))

        def build(condition: str, params: list[Any]) -> str:
            sql = f"SELECT {columns} FROM {self._table} WHERE {condition}{self._order_by(sort)}"
            if limit is not None or skip:
                params.append(-1 if limit is None else limit)
                sql += f" LIMIT ?{len(params)}"
                if skip:
                    params.append(skip)
                    sql += f" OFFSET ?{len(params)}"
            return sql

        return self._store._select(self.name, flt, build)

    async def count(self, filter: Filter) -> int:
        rows = await self._store._call(self._store._select, self.name, filter,
                                       lambda condition, _: f"SELECT count(*) FROM {self._table} WHERE {condition}")
        return rows[0][0] if rows else 0

    async def group_count(self, filter: Filter, by: list[str],
                          sums: list[str] | None = None) -> list[Document]:
        sums = sums or []
        columns = [sql for field in by for sql in (_column(field), f"coalesce({_type_of(field)}, 'null')")]
        totals = [f"sum(CASE WHEN {_type_of(f)} {_NUMBER} THEN {_column(f)} END)" for f in sums]
        group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(columns)))}" if columns else ""
        rows = await self._store._call(
            self._store._select, self.name, filter,
            lambda condition, _: (f"SELECT {', '.join([*columns, 'count(*)', *totals])} FROM {self._table} "
                                  f"WHERE {condition}{group}"))
        width = len(columns)
        return [{"key": {field: _typed(row[2 * i], row[2 * i + 1]) for i, field in enumerate(by)},
                 "count": row[width],
                 "sums": {field: row[width + 1 + i] or 0 for i, field in enumerate(sums)}}
                for row in rows if row[width]]

    async def explain(self, filter: Filter, *, sort: Sort | None = None) -> list[str]:
        """SQLite's query plan for ``find(filter, sort=sort)``, one line per step (for tests
        that prove a list query uses its index: look for "USING INDEX" and no "SCAN")."""
        rows = await self._store._call(
            self._store._select, self.name, filter,
            lambda condition, _: (f"EXPLAIN QUERY PLAN SELECT doc FROM {self._table} "
                                  f"WHERE {condition}{self._order_by(sort)}"))
        return [row[3] for row in rows]

    def _order_by(self, sort: Sort | None) -> str:
        return _order_by(sort, self._store._cells.get(self.name, _NO_PATHS))

    # --- writes ------------------------------------------------------------------------------

    async def insert_one(self, doc: Document) -> Document:
        await self.insert_many([doc])
        return doc

    async def insert_many(self, docs: list[Document]) -> None:
        if not docs:
            return
        rows = []
        for doc in docs:
            if not isinstance(doc.get("_id"), str):
                raise ValueError("documents need a string _id (backend.ids.new_id())")
            rows.append((doc["_id"], _dumps(doc)))
        await self._store._call(self._store._write, self.name, self._insert_sync, rows, docs)

    def _insert_sync(self, rows: list[tuple[str, str]], docs: list[Document]) -> None:
        cells = self._store._cells.get(self.name)
        if cells:
            names = "".join(f", {_cell_column(path)}" for path in cells)
            values = ", ?" * len(cells)
            rows = [(*row, *(_cell(doc, parts) for parts in cells.values())) for row, doc in zip(rows, docs)]
            sql = f"INSERT INTO {self._table} (_id, doc{names}) VALUES (?, ?{values})"
        else:
            sql = f"INSERT INTO {self._table} (_id, doc) VALUES (?, ?)"
        self._store._connection().executemany(sql, rows)
        for doc in docs:
            self._store._note_arrays(self.name, doc)

    async def update_one(self, filter: Filter, update: Update, *, upsert: bool = False) -> bool:
        check_update(update)
        changed = await self._store._call(self._store._write, self.name, self._update_sync,
                                          filter, update, upsert, None, 1)
        return bool(changed)

    async def update_many(self, filter: Filter, update: Update) -> int:
        check_update(update)
        changed = await self._store._call(self._store._write, self.name, self._update_sync,
                                          filter, update, False, None, None)
        return len(changed)

    async def find_one_and_update(self, filter: Filter, update: Update, *, upsert: bool = False,
                                  sort: Sort | None = None) -> Document | None:
        check_update(update)
        changed = await self._store._call(self._store._write, self.name, self._update_sync,
                                          filter, update, upsert, sort, 1)
        return changed[0] if changed else None

    def _update_sync(self, flt: Filter, update: Update, upsert: bool, sort: Sort | None,
                     limit: int | None) -> list[Document]:
        """Apply ``update`` to the matches (inside the write transaction); the documents after."""
        conn = self._store._connection()
        condition, params, _ = self._store._compile(self.name, flt)
        sql = f"SELECT _id, doc FROM {self._table} WHERE {condition}{self._order_by(sort)}"
        if limit is not None:
            sql += f" LIMIT {limit}"
        rows = conn.execute(sql, params).fetchall()
        if not rows and upsert:
            doc = seed(flt, {})
            apply_update(doc, update)
            doc = {"_id": doc.pop("_id", None) or new_id(), **doc}
            self._insert_sync([(doc["_id"], _dumps(doc))], [doc])
            return [doc]
        cells = self._store._cells.get(self.name, {})
        after = []
        for _id, text in rows:
            doc = orjson.loads(text)
            before = [_cell(doc, parts) for parts in cells.values()]
            apply_update(doc, update)
            new_text = _dumps(doc)
            if new_text != text:
                # Only the columns whose value changed are written, so SQLite leaves the other
                # indexes alone.
                changed = [(_cell_column(path), value) for path, parts, old in zip(cells, cells.values(), before)
                           if not _same_cell(old, value := _cell(doc, parts))]
                assignments = "".join(f", {column} = ?" for column, _ in changed)
                conn.execute(f"UPDATE {self._table} SET doc = ?{assignments} WHERE _id = ?",
                             (new_text, *(value for _, value in changed), _id))
                self._store._note_arrays(self.name, doc)
            after.append(doc)
        return after

    async def delete_one(self, filter: Filter) -> bool:
        return bool(await self._store._call(self._store._write, self.name, self._delete_sync, filter, True))

    async def delete_many(self, filter: Filter) -> int:
        return await self._store._call(self._store._write, self.name, self._delete_sync, filter, False)

    def _delete_sync(self, flt: Filter, one: bool) -> int:
        condition, params, _ = self._store._compile(self.name, flt)
        if one:
            condition = f"_id = (SELECT _id FROM {self._table} WHERE {condition} LIMIT 1)"
        return self._store._connection().execute(f"DELETE FROM {self._table} WHERE {condition}", params).rowcount

    async def create_index(self, keys: list[tuple[str, Literal[1, -1]]], *, unique: bool = False,
                           sparse: bool = False, name: str | None = None) -> None:
        if not keys:
            raise ValueError("an index needs at least one key")
        if any(direction not in (1, -1) for _, direction in keys):
            raise ValueError("index directions are 1 or -1")
        name = name or "_".join(f"{field}_{direction}" for field, direction in keys)
        paths = [field for field, _ in keys if field != "_id"]
        columns = ["_id" if field == "_id" else _cell_column(field) for field, _ in keys]
        parts = [column + (" DESC" if direction == -1 else "") for column, (_, direction) in zip(columns, keys)]
        if not unique and all(field != "_id" for field, _ in keys):
            parts.append("_id DESC" if keys[-1][1] == -1 else "_id")  # so ties sort by _id from the index
        statements = [f'CREATE {"UNIQUE " if unique else ""}INDEX "{self.name}.{name}" '
                      f'ON {self._table} ({", ".join(parts)})']
        if sparse:
            statements[0] += " WHERE " + " OR ".join(f"{c} IS NOT NULL" for c in columns)
        elif unique:
            statements.append(f'CREATE UNIQUE INDEX "{self.name}.{name}#nulls" ON {self._table} '
                              f'({", ".join(f"ifnull({c}, {_NULL_KEY})" for c in columns)}) '
                              f'WHERE {" OR ".join(f"{c} IS NULL" for c in columns)}')
        await self._store._call(self._store._write, self.name, self._create_index_sync, paths,
                                [f"{self.name}.{name}", f"{self.name}.{name}#nulls"], statements)

    def _create_index_sync(self, paths: list[str], names: list[str], statements: list[str]) -> None:
        conn = self._store._connection()
        self._store._add_cells(self.name, paths)
        for index_name, statement in zip(names, statements):
            row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                               (index_name,)).fetchone()
            if row is not None and "json_extract(doc" in row[0]:
                # Made before indexed fields had columns: the same index over expressions.
                conn.execute(f'DROP INDEX "{index_name}"')
                row = None
            if row is None:
                conn.execute(statement)
            elif " ".join(row[0].split()) != " ".join(statement.split()):
                raise ValueError(f"index {index_name!r} exists with a different definition")

