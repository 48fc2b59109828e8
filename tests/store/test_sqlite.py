"""What only the SQLite engine has to prove: durability, index use, and sharing one file
between processes (two store objects on one file stand in for two processes)."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sqlite3
import threading
from collections.abc import AsyncIterator, Coroutine
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from backend.config import Settings
from backend.errors import DuplicateKey
from backend.store.factory import open_store
from backend.store.mongo import MongoStore
from backend.store.sqlite import SQLiteStore, _Worker


@pytest.fixture
async def two_processes(tmp_path: Path) -> AsyncIterator[tuple[SQLiteStore, SQLiteStore]]:
    first, second = SQLiteStore(tmp_path / "shared.sqlite3"), SQLiteStore(tmp_path / "shared.sqlite3")
    await first.open()
    await second.open()
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_data_and_indexes_survive_reopen(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "durable.sqlite3")
    await store.open()
    letters = store.collection("letters")
    await letters.create_index([("tracking_no", 1)], unique=True)
    await letters.insert_one({"_id": "l1", "tracking_no": "XF-20260101-000001", "tags": ["noise"]})
    await store.close()

    store = SQLiteStore(tmp_path / "durable.sqlite3")
    await store.open()
    try:
        letters = store.collection("letters")
        assert await letters.find_one({"tags": "noise"}) == {
            "_id": "l1", "tracking_no": "XF-20260101-000001", "tags": ["noise"]}
        with pytest.raises(DuplicateKey):
            await letters.insert_one({"_id": "l2", "tracking_no": "XF-20260101-000001"})
    finally:
        await store.close()


async def test_indexed_equality_with_sort_does_not_scan(sqlite_store: SQLiteStore) -> None:
    letters = sqlite_store.collection("letters")
    await letters.create_index([("dept_id", 1), ("created_at", -1)])
    await letters.insert_many([{"_id": f"l{i}", "dept_id": f"d{i % 3}", "created_at": f"2026-01-{i + 1:02d}"}
                               for i in range(9)])
    plan = await letters.explain({"dept_id": "d1"}, sort=[("created_at", -1), ("_id", -1)])
    assert any("USING INDEX" in step for step in plan), plan
    assert not any("SCAN" in step or "TEMP B-TREE" in step for step in plan), plan

    # The keyset filter of a later page seeks the same index.
    plan = await letters.explain(
        {"$and": [{"dept_id": "d1"}, {"created_at": {"$lte": "2026-01-05"}},
                  {"$or": [{"created_at": {"$lt": "2026-01-05"}},
                           {"$and": [{"created_at": "2026-01-05"}, {"_id": {"$lt": "l4"}}]}]}]},
        sort=[("created_at", -1), ("_id", -1)])
    assert any("USING INDEX" in step and "$created_at<?" in step for step in plan), plan
    assert not any("SCAN" in step or "TEMP B-TREE" in step for step in plan), plan


async def test_unique_index_on_dotted_field_uses_index(sqlite_store: SQLiteStore) -> None:
    users = sqlite_store.collection("users")
    await users.create_index([("wechat.openid", 1)], unique=True, sparse=True)
    plan = await users.explain({"wechat.openid": "o1"})
    assert any("USING INDEX" in step for step in plan) and not any("SCAN" in step for step in plan), plan


async def test_changed_index_definition_is_refused(sqlite_store: SQLiteStore) -> None:
    users = sqlite_store.collection("users")
    await users.create_index([("phone", 1)], name="phone")
    with pytest.raises(ValueError):
        await users.create_index([("phone", 1)], unique=True, name="phone")


async def test_a_duplicate_names_its_index(sqlite_store: SQLiteStore) -> None:
    numbers = sqlite_store.collection("numbers")
    await numbers.create_index([("prefix", 1), ("day", 1)], unique=True, name="number")
    await numbers.create_index([("serial", 1)], unique=True)
    await numbers.insert_one({"_id": "n1", "prefix": "XF", "day": "20260101", "serial": 1})
    for doc, index in (({"_id": "n2", "prefix": "XF", "day": "20260101", "serial": 2}, "number"),
                       ({"_id": "n3", "prefix": "XF", "day": "20260102", "serial": 1}, "serial_1"),
                       ({"_id": "n1", "prefix": "XF", "day": "20260103", "serial": 3}, "_id_")):
        with pytest.raises(DuplicateKey) as raised:
            await numbers.insert_one(doc)
        assert raised.value.details == {"collection": "numbers", "index": index}


async def test_indexes_over_expressions_become_indexes_over_columns(tmp_path: Path) -> None:
    """A database from before indexed fields had columns: its expression indexes are replaced,
    and the columns are filled from the documents already there."""
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.execute('CREATE TABLE "letters" (_id TEXT PRIMARY KEY, doc TEXT NOT NULL)')
    old.execute("CREATE INDEX \"letters.dept_id_1__id_-1\" ON \"letters\" (json_extract(doc, '$.dept_id'), _id DESC)")
    old.execute("CREATE UNIQUE INDEX \"letters.tracking_no_1\" ON \"letters\" (json_extract(doc, '$.tracking_no'))")
    old.executemany("INSERT INTO letters VALUES (?, ?)", [
        (f"l{i}", json.dumps({"_id": f"l{i}", "dept_id": f"d{i % 2}", "tracking_no": f"T{i}"})) for i in range(4)])
    old.commit()
    old.close()

    store = SQLiteStore(path)
    await store.open()
    try:
        letters = store.collection("letters")
        await letters.create_index([("dept_id", 1), ("_id", -1)])
        await letters.create_index([("tracking_no", 1)], unique=True)
        assert [d["_id"] for d in await letters.find({"dept_id": "d1"}, sort=[("_id", -1)])] == ["l3", "l1"]
        plan = await letters.explain({"dept_id": "d1"}, sort=[("_id", -1)])
        assert any("$dept_id=?" in step for step in plan) and not any("SCAN" in step for step in plan), plan
        with pytest.raises(DuplicateKey):
            await letters.insert_one({"_id": "l9", "tracking_no": "T2"})
        definitions = await store.run(lambda conn: [row[0] for row in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")])
        assert definitions and not any("json_extract" in sql for sql in definitions), definitions
    finally:
        await store.close()


async def test_a_column_another_process_added_is_filled_by_this_one(
        two_processes: tuple[SQLiteStore, SQLiteStore]) -> None:
    first, second = two_processes
    await first.collection("cases").insert_one({"_id": "c0", "state": "new"})
    await second.collection("cases").create_index([("state", 1)])
    # The first process knew no column for "state" when it last looked: its next writes fill it.
    await first.collection("cases").insert_one({"_id": "c1", "state": "new"})
    await first.collection("cases").update_one({"_id": "c0"}, {"$set": {"state": "done"}})
    assert [d["_id"] for d in await second.collection("cases").find({"state": "new"})] == ["c1"]
    assert [d["_id"] for d in await second.collection("cases").find({"state": "done"})] == ["c0"]
    assert [d["_id"] for d in await first.collection("cases").find({"state": "done"})] == ["c0"]


async def _queued_behind_a_gate(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch,
                                *writes: Coroutine[Any, Any, Any]) -> list[Any]:
    """Run ``writes`` as one batch of the store's worker: they queue while a job holds it, and
    the batch does not end at its usual 1 ms however slow the machine is."""
    monkeypatch.setattr(_Worker, "_BATCH_SECONDS", 60.0)
    gate = threading.Event()
    held = asyncio.ensure_future(store.run(lambda conn: gate.wait(10)))
    queued = [asyncio.ensure_future(write) for write in writes]
    await asyncio.sleep(0)  # one turn of the loop: every task runs up to its submission to the worker
    gate.set()
    await held
    return await asyncio.gather(*queued, return_exceptions=True)


async def test_writes_that_queue_together_commit_together(sqlite_store: SQLiteStore,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    commits: list[str] = []
    await sqlite_store.run(lambda conn: conn.set_trace_callback(
        lambda sql: commits.append(sql) if sql == "COMMIT" else None))
    topics = sqlite_store.collection("topics")
    await topics.insert_one({"_id": "t0", "tags": "plain"})
    commits.clear()
    results = await _queued_behind_a_gate(
        sqlite_store, monkeypatch,
        topics.insert_one({"_id": "t1", "tags": ["x", "y"]}),
        topics.insert_one({"_id": "t0", "tags": "again"}),  # a duplicate: only this one fails
        topics.update_one({"_id": "t0"}, {"$set": {"seen": True}}),
        topics.find({"tags": "y"}))  # after the group's commit; sees the list path its first write brought
    assert commits == ["COMMIT"]
    assert isinstance(results[1], DuplicateKey)
    assert results[2] is True and [d["_id"] for d in results[3]] == ["t1"]
    assert [d["_id"] for d in await topics.find({}, sort=[("_id", 1)])] == ["t0", "t1"]
    assert await topics.find_one({"_id": "t0"}) == {"_id": "t0", "tags": "plain", "seen": True}


async def test_a_group_whose_transaction_is_lost_fails_as_a_whole(sqlite_store: SQLiteStore,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    topics = sqlite_store.collection("topics")
    await topics.insert_one({"_id": "t0", "tags": "plain"})
    fresh = sqlite_store.collection("fresh")  # its table is made in the group, and lost with it
    results = await _queued_behind_a_gate(
        sqlite_store, monkeypatch,
        topics.insert_one({"_id": "t1", "tags": ["x"]}),
        fresh.create_index([("state", 1)]),
        sqlite_store.run_write(lambda conn: conn.execute("ROLLBACK")),  # as a disk error would end it
        topics.insert_one({"_id": "t2"}))
    assert all(isinstance(result, sqlite3.Error) for result in results), results
    assert [d["_id"] for d in await topics.find({})] == ["t0"]
    assert await topics.find({"tags": "x"}) == []
    await topics.insert_one({"_id": "t3", "tags": ["x"]})
    assert [d["_id"] for d in await topics.find({"tags": "x"})] == ["t3"]
    await fresh.create_index([("state", 1)])
    await fresh.insert_one({"_id": "f1", "state": "new"})
    assert [d["_id"] for d in await fresh.find({"state": "new"})] == ["f1"]
    assert any("$state=?" in step for step in await fresh.explain({"state": "new"}))


async def test_list_fields_seen_by_another_process(two_processes: tuple[SQLiteStore, SQLiteStore]) -> None:
    first, second = two_processes
    await first.collection("topics").insert_one({"_id": "t0", "tags": "plain"})
    assert await second.collection("topics").find({"tags": "x"}) == []
    await first.collection("topics").insert_one({"_id": "t1", "tags": ["x", "y"]})
    assert [d["_id"] for d in await second.collection("topics").find({"tags": "x"})] == ["t1"]
    assert await second.collection("topics").find_one_and_update({"tags": "y"}, {"$set": {"seen": True}})


async def test_compare_and_set_across_processes(two_processes: tuple[SQLiteStore, SQLiteStore]) -> None:
    first, second = two_processes
    await first.collection("cases").insert_one({"_id": "c1", "state": "new", "version": 1})

    async def writer(store: SQLiteStore, n: int) -> object:
        return await store.collection("cases").find_one_and_update(
            {"_id": "c1", "version": 1}, {"$set": {"by": n}, "$inc": {"version": 1}})

    results = await asyncio.gather(*(writer(first if n % 2 else second, n) for n in range(50)))
    assert sum(r is not None for r in results) == 1


async def test_group_count_keeps_types(sqlite_store: SQLiteStore) -> None:
    flags = sqlite_store.collection("flags")
    await flags.insert_many([{"_id": "a", "v": True, "n": 2}, {"_id": "b", "v": 1, "n": 3},
                             {"_id": "c", "v": True, "n": "x"}, {"_id": "d", "v": None}, {"_id": "e"}])
    rows = await flags.group_count({}, ["v"], sums=["n"])
    assert sorted((repr(r["key"]["v"]), r["count"], r["sums"]["n"]) for r in rows) == [
        ("1", 1, 3), ("None", 2, 0), ("True", 2, 2)]


async def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "closed.sqlite3")
    with pytest.raises(RuntimeError):
        await store.ping()
    await store.open()
    await store.ping()
    await store.close()
    with pytest.raises(RuntimeError):
        await store.collection("x").find_one({})


async def test_collection_names_are_identifiers(sqlite_store: SQLiteStore) -> None:
    with pytest.raises(ValueError):
        sqlite_store.collection('x"; DROP TABLE y; --')


def test_factory_picks_engine(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    assert isinstance(store, SQLiteStore) and store.path == tmp_path / "yizhantong.sqlite3"
    store = open_store(Settings(data_dir=tmp_path, mongo_url="mongodb://localhost:1", mongo_db="x"))
    assert isinstance(store, MongoStore) and store.engine == "mongo"


def _open_and_close(path: Path, start: Barrier) -> None:
    async def main() -> None:
        store = SQLiteStore(path)
        start.wait()
        await store.open()
        await store.close()
    asyncio.run(main())


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    # yzt serve --processes N starts its children together: SQLite answers the second one's switch to
    # WAL "database is locked" at once (no busy wait), in about one round in five of four processes.
    fork = multiprocessing.get_context("fork")
    failed = []
    for round_ in range(30):
        start = fork.Barrier(4)
        processes = [fork.Process(target=_open_and_close, args=(tmp_path / f"new-{round_}.sqlite3", start))
                     for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
        failed += [(round_, process.exitcode) for process in processes if process.exitcode != 0]
    assert failed == []
