"""What only the SQLite engine has to prove: durability, index use, and sharing one file
between processes (two store objects on one file stand in for two processes)."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from backend.config import Settings
from backend.errors import DuplicateKey
from backend.store.factory import open_store
from backend.store.mongo import MongoStore
from backend.store.sqlite import SQLiteStore


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
    assert any("USING INDEX" in step and "<expr><?" in step for step in plan), plan
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
