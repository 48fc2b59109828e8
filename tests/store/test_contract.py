"""The document-store contract (``backend/store/interface.py``), run against every engine.

The ``mongomock`` runs check that MongoStore's query documents mean what the SQLite engine's
SQL means, as far as mongomock imitates MongoDB; they do not test a MongoDB server. Set
``YZT_TEST_MONGO_URL`` to run the same tests against a real one.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Any

import pytest

from backend.errors import DuplicateKey
from backend.store.interface import DocumentStore

LETTERS: list[dict[str, Any]] = [
    {"_id": "a1", "kind": "complain", "dept": {"id": "d1", "name": "城管"}, "score": 5,
     "tags": ["noise", "night"], "items": [{"id": "i1", "n": 1}, {"id": "i2", "n": 5}],
     "created_at": "2026-01-01T08:00:00.000000Z"},
    {"_id": "a2", "kind": "consult", "dept": {"id": "d2"}, "score": 3, "tags": "noise",
     "created_at": "2026-01-02T08:00:00.000000Z"},
    {"_id": "a3", "kind": "complain", "dept": {"id": "d1"}, "score": 3.5, "note": None,
     "created_at": "2026-01-03T08:00:00.000000Z"},
    {"_id": "a4", "kind": "suggest", "score": "high", "tags": [],
     "created_at": "2026-01-02T08:00:00.000000Z"},
]


@pytest.fixture
async def letters(store: DocumentStore) -> Any:
    coll = store.collection("letters")
    await coll.insert_many([dict(doc) for doc in LETTERS])
    return coll


def ids(docs: list[dict[str, Any]]) -> list[str]:
    return sorted(doc["_id"] for doc in docs)


# --- filters --------------------------------------------------------------------------------

FILTERS = [
    ({}, ["a1", "a2", "a3", "a4"]),
    ({"kind": "complain"}, ["a1", "a3"]),
    ({"_id": "a2"}, ["a2"]),
    ({"dept.id": "d1"}, ["a1", "a3"]),
    ({"dept.id": "d1", "kind": "complain", "score": 5}, ["a1"]),
    ({"tags": "noise"}, ["a1", "a2"]),  # a list contains the value, or the field equals it
    ({"items.id": "i2"}, ["a1"]),  # through a list of documents
    ({"items.n": {"$gt": 4}}, ["a1"]),
    ({"kind": {"$in": ["consult", "suggest"]}}, ["a2", "a4"]),
    ({"tags": {"$in": ["night", "day"]}}, ["a1"]),
    ({"_id": {"$in": ["a1", "a4", "zz"]}}, ["a1", "a4"]),
    ({"dept.name": {"$in": [None, "x"]}}, ["a2", "a3", "a4"]),
    ({"kind": {"$in": []}}, []),
    ({"kind": {"$nin": ["complain"]}}, ["a2", "a4"]),
    ({"tags": {"$nin": ["noise"]}}, ["a3", "a4"]),  # missing and [] do not contain it
    ({"dept.id": {"$ne": "d1"}}, ["a2", "a4"]),  # $ne matches a missing field
    ({"tags": {"$ne": "night"}}, ["a2", "a3", "a4"]),
    ({"score": {"$gte": 3.5}}, ["a1", "a3"]),  # numbers compare with numbers only
    ({"score": {"$lt": 4}}, ["a2", "a3"]),
    ({"score": {"$gt": 3, "$lte": 5}}, ["a1", "a3"]),
    ({"score": {"$gt": "a"}}, ["a4"]),  # strings compare with strings only
    ({"created_at": {"$gte": "2026-01-02T00:00:00.000000Z", "$lt": "2026-01-03T00:00:00.000000Z"}}, ["a2", "a4"]),
    ({"_id": {"$gt": "a2"}}, ["a3", "a4"]),
    ({"note": {"$exists": True}}, ["a3"]),  # null is present
    ({"dept": {"$exists": False}}, ["a4"]),
    ({"items.n": {"$exists": True}}, ["a1"]),
    ({"dept.name": None}, ["a2", "a3", "a4"]),  # None matches null and missing
    ({"note": None}, ["a1", "a2", "a3", "a4"]),
    ({"note": {"$ne": None}}, []),
    ({"$or": [{"kind": "consult"}, {"score": {"$gt": 4}}]}, ["a1", "a2"]),
    ({"$and": [{"kind": "complain"}, {"$or": [{"tags": "night"}, {"note": {"$exists": True}}]}]}, ["a1", "a3"]),
]


@pytest.mark.parametrize(("flt", "expected"), FILTERS, ids=[str(f) for f, _ in FILTERS])
async def test_filter(letters: Any, flt: dict[str, Any], expected: list[str]) -> None:
    assert ids(await letters.find(flt)) == expected
    assert await letters.count(flt) == len(expected)


@pytest.mark.parametrize("indexed", [False, True], ids=["plain", "indexed"])
async def test_booleans_are_not_numbers(store: DocumentStore, engine_name: str, indexed: bool) -> None:
    coll = store.collection("flags")
    if indexed:
        await coll.create_index([("v", 1)])
    await coll.insert_many([{"_id": "t", "v": True}, {"_id": "one", "v": 1}, {"_id": "f", "v": False},
                            {"_id": "zero", "v": 0}])
    if engine_name == "mongomock":
        pytest.xfail("mongomock lets True equal 1 (MongoDB and the SQLite engine do not)")
    assert ids(await coll.find({"v": True})) == ["t"]
    assert ids(await coll.find({"v": 1})) == ["one"]
    assert ids(await coll.find({"v": False})) == ["f"]
    assert ids(await coll.find({"v": {"$in": [0, True]}})) == ["t", "zero"]
    assert ids(await coll.find({"v": {"$gte": 0}})) == ["one", "zero"]


@pytest.mark.parametrize("flt", [
    {"title": {"$regex": "^a"}},
    {"$where": "true"},
    {"$nor": [{"a": 1}]},
    {"$or": []},
    {"kind": {"name": "x"}},  # equality with a document
    {"kind": {"$in": "complain"}},
    {"score": {"$gt": None}},
    {"note": {"$exists": "yes"}},
])
async def test_unsupported_filters_raise(letters: Any, flt: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        await letters.find(flt)


# --- find: sort, skip, limit, projection -----------------------------------------------------

async def test_sort_skip_limit(letters: Any) -> None:
    by_time = [("created_at", 1), ("_id", 1)]
    assert [d["_id"] for d in await letters.find({}, sort=by_time)] == ["a1", "a2", "a4", "a3"]
    assert [d["_id"] for d in await letters.find({}, sort=[("created_at", -1), ("_id", -1)])] == ["a3", "a4", "a2", "a1"]
    assert [d["_id"] for d in await letters.find({}, sort=[("kind", 1), ("created_at", -1)])] == ["a3", "a1", "a2", "a4"]
    assert [d["_id"] for d in await letters.find({}, sort=by_time, skip=1, limit=2)] == ["a2", "a4"]
    assert [d["_id"] for d in await letters.find({}, sort=by_time, skip=3)] == ["a3"]
    assert await letters.find({}, limit=0) == []
    assert [d["_id"] for d in await letters.find({}, sort=[("dept.id", -1), ("_id", 1)])] == ["a2", "a1", "a3", "a4"]


async def test_projection(letters: Any) -> None:
    assert await letters.find_one({"_id": "a1"}, projection=["kind", "absent"]) == {"_id": "a1", "kind": "complain",
                                                                                  "absent": None}
    assert await letters.find({"_id": "a2"}, projection=[]) == [{"_id": "a2"}]
    assert await letters.find_one({"_id": "a3"}) == LETTERS[2]
    assert await letters.find_one({"_id": "zz"}) is None


# --- writes --------------------------------------------------------------------------------

async def test_insert_needs_string_id_and_refuses_duplicates(store: DocumentStore) -> None:
    coll = store.collection("people")
    doc = {"_id": "p1", "name": "张三"}
    assert await coll.insert_one(doc) == doc
    with pytest.raises(DuplicateKey):
        await coll.insert_one({"_id": "p1", "name": "李四"})
    with pytest.raises(ValueError):
        await coll.insert_one({"name": "no id"})
    assert await coll.find_one({"_id": "p1"}) == doc


async def test_insert_many_duplicate(store: DocumentStore, engine_name: str) -> None:
    coll = store.collection("people")
    await coll.insert_many([{"_id": "p1"}, {"_id": "p2"}])
    with pytest.raises(DuplicateKey):
        await coll.insert_many([{"_id": "p3"}, {"_id": "p1"}])
    if engine_name == "sqlite":  # one transaction: nothing of the batch was kept
        assert await coll.count({}) == 2


UPDATES = [
    ({"$set": {"kind": "consult", "dept.name": "住建", "new.deep.field": 1}},
     {"kind": "consult", "dept": {"id": "d1", "name": "住建"}, "new": {"deep": {"field": 1}}}),
    ({"$unset": {"dept.name": "", "absent": "", "absent2.x": ""}}, {"dept": {"id": "d1"}}),
    ({"$inc": {"score": 2, "views": 1, "stats.replies": 3}}, {"score": 7, "views": 1, "stats": {"replies": 3}}),
    ({"$inc": {"score": -0.5}}, {"score": 4.5}),
    ({"$push": {"tags": "urgent", "history": {"by": "u1"}}},
     {"tags": ["noise", "night", "urgent"], "history": [{"by": "u1"}]}),
    ({"$push": {"tags": {"$each": ["a", "b"]}}}, {"tags": ["noise", "night", "a", "b"]}),
    ({"$addToSet": {"tags": "noise", "labels": "x"}}, {"tags": ["noise", "night"], "labels": ["x"]}),
    ({"$addToSet": {"tags": {"$each": ["night", "day"]}}}, {"tags": ["noise", "night", "day"]}),
    ({"$pull": {"tags": "noise", "absent": "x"}}, {"tags": ["night"]}),
    ({"$pull": {"tags": {"$in": ["noise", "night"]}}}, {"tags": []}),
    ({"$pull": {"items": {"id": "i1"}}}, {"items": [{"id": "i2", "n": 5}]}),
    ({"$pull": {"items": {"id": {"$in": ["i1", "i2"]}}}}, {"items": []}),
    ({"$pull": {"items": {"n": {"$gte": 5}}}}, {"items": [{"id": "i1", "n": 1}]}),
    ({"$set": {"kind": "x"}, "$inc": {"score": 1}, "$push": {"tags": "y"}},
     {"kind": "x", "score": 6, "tags": ["noise", "night", "y"]}),
]


@pytest.mark.parametrize(("update", "changes"), UPDATES, ids=[str(u) for u, _ in UPDATES])
async def test_update_operators(letters: Any, update: dict[str, Any], changes: dict[str, Any]) -> None:
    assert await letters.update_one({"_id": "a1"}, update) is True
    expected = {**LETTERS[0], **changes}
    if "$unset" in update:
        expected["dept"] = changes["dept"]
    assert await letters.find_one({"_id": "a1"}) == expected


@pytest.mark.parametrize("update", [
    {"kind": "replacement documents are not updates"},
    {"$rename": {"kind": "type"}},
    {"$set": {"_id": "other"}},
    {},
])
async def test_unsupported_updates_raise(letters: Any, update: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        await letters.update_one({"_id": "a1"}, update)


async def test_update_results(letters: Any) -> None:
    assert await letters.update_one({"_id": "zz"}, {"$set": {"x": 1}}) is False
    assert await letters.update_many({"kind": "complain"}, {"$set": {"seen": True}}) == 2
    assert await letters.update_many({"kind": "complain"}, {"$set": {"seen": True}}) == 2  # matched, unchanged
    assert ids(await letters.find({"seen": True})) == ["a1", "a3"]
    assert await letters.update_many({"kind": "none"}, {"$set": {"seen": True}}) == 0


async def test_upsert(store: DocumentStore) -> None:
    coll = store.collection("counters")
    assert await coll.update_one({"kind": "daily", "scope.dept": "d1"}, {"$inc": {"n": 1}}, upsert=True) is True
    doc = await coll.find_one({"kind": "daily"})
    assert doc is not None and isinstance(doc["_id"], str)
    assert {k: v for k, v in doc.items() if k != "_id"} == {"kind": "daily", "scope": {"dept": "d1"}, "n": 1}
    assert await coll.update_one({"kind": "daily", "scope.dept": "d1"}, {"$inc": {"n": 1}}, upsert=True) is True
    assert await coll.find_one({"_id": doc["_id"]}) == {**doc, "n": 2}
    assert await coll.find_one_and_update({"_id": "seq-20260101"}, {"$inc": {"value": 1}}, upsert=True) == {
        "_id": "seq-20260101", "value": 1}
    assert await coll.find_one_and_update({"_id": "seq-20260101"}, {"$inc": {"value": 1}}, upsert=True) == {
        "_id": "seq-20260101", "value": 2}
    assert await coll.count({}) == 2


async def test_find_one_and_update(letters: Any) -> None:
    after = await letters.find_one_and_update({"_id": "a2", "kind": "consult"}, {"$set": {"kind": "help"}})
    assert after == {**LETTERS[1], "kind": "help"}
    assert await letters.find_one_and_update({"_id": "a2", "kind": "consult"}, {"$set": {"kind": "x"}}) is None
    first = await letters.find_one_and_update({"kind": "complain"}, {"$set": {"picked": True}},
                                              sort=[("created_at", -1)])
    assert first["_id"] == "a3"


async def test_compare_and_set_has_one_winner(store: DocumentStore) -> None:
    coll = store.collection("cases")
    await coll.insert_one({"_id": "c1", "state": "new", "version": 1})

    async def writer(n: int) -> dict[str, Any] | None:
        return await coll.find_one_and_update(
            {"_id": "c1", "state": "new", "version": 1},
            {"$set": {"state": "accepted", "by": f"u{n}"}, "$inc": {"version": 1}})

    results = await asyncio.gather(*(writer(n) for n in range(50)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await coll.find_one({"_id": "c1"}) == winners[0]
    assert winners[0]["version"] == 2


async def test_delete(letters: Any) -> None:
    assert await letters.delete_one({"_id": "zz"}) is False
    assert await letters.delete_one({"kind": "complain"}) is True
    assert await letters.count({"kind": "complain"}) == 1
    assert await letters.delete_many({"kind": "consult"}) == 1
    assert await letters.delete_many({"kind": "consult"}) == 0
    assert await letters.delete_many({}) == 2
    assert await letters.count({}) == 0


# --- indexes --------------------------------------------------------------------------------

async def test_unique_index(store: DocumentStore) -> None:
    coll = store.collection("users")
    await coll.create_index([("phone", 1)], unique=True)
    await coll.create_index([("phone", 1)], unique=True)  # idempotent
    await coll.insert_one({"_id": "u1", "phone": "13800000001"})
    await coll.insert_one({"_id": "u2", "phone": "13800000002"})
    with pytest.raises(DuplicateKey):
        await coll.insert_one({"_id": "u3", "phone": "13800000001"})
    with pytest.raises(DuplicateKey):
        await coll.update_one({"_id": "u2"}, {"$set": {"phone": "13800000001"}})
    with pytest.raises(DuplicateKey):
        await coll.find_one_and_update({"_id": "u2"}, {"$set": {"phone": "13800000001"}})
    assert await coll.find_one({"_id": "u2"}) == {"_id": "u2", "phone": "13800000002"}
    # Not sparse: a missing field counts as null, and two nulls collide.
    await coll.insert_one({"_id": "u4"})
    with pytest.raises(DuplicateKey):
        await coll.insert_one({"_id": "u5"})


async def test_sparse_unique_index(store: DocumentStore) -> None:
    coll = store.collection("users")
    await coll.create_index([("openid", 1)], unique=True, sparse=True, name="openid_unique")
    await coll.insert_many([{"_id": "s1"}, {"_id": "s2"}, {"_id": "s3", "openid": "o1"}])
    with pytest.raises(DuplicateKey):
        await coll.insert_one({"_id": "s4", "openid": "o1"})
    assert await coll.count({}) == 3


async def test_compound_unique_index(store: DocumentStore) -> None:
    coll = store.collection("numbers")
    await coll.create_index([("prefix", 1), ("day", 1)], unique=True)
    await coll.insert_many([{"_id": "n1", "prefix": "XF", "day": "20260101"},
                            {"_id": "n2", "prefix": "XF", "day": "20260102"}])
    with pytest.raises(DuplicateKey):
        await coll.insert_one({"_id": "n3", "prefix": "XF", "day": "20260101"})


async def test_indexed_queries_give_the_same_answers(letters: Any) -> None:
    expected = {str(flt): ids(await letters.find(flt)) for flt, _ in FILTERS}
    await letters.create_index([("kind", 1), ("created_at", -1)])
    await letters.create_index([("dept.id", 1)])
    await letters.create_index([("score", 1)])
    await letters.create_index([("tags", 1)])
    for flt, _ in FILTERS:
        assert ids(await letters.find(flt)) == expected[str(flt)], flt


# Every path the filters name, so that on SQLite each has its own column.
INDEXED_PATHS = ["kind", "created_at", "dept.id", "dept.name", "dept", "score", "tags", "items.id", "items.n",
                 "note"]
CHANGES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"_id": "a1"}, {"$set": {"kind": "consult", "dept.name": None, "score": 4}}),
    ({"_id": "a2"}, {"$set": {"tags": ["noise", "day"], "note": True, "dept": {"id": "d1", "name": "城管"}}}),
    ({"_id": "a3"}, {"$unset": {"note": "", "dept": ""}, "$push": {"items": {"id": "i3", "n": 9}}}),
    ({"_id": "a4"}, {"$set": {"score": 2, "items.id": "x", "created_at": "2026-01-05T08:00:00.000000Z"}}),
    ({"kind": "consult"}, {"$inc": {"score": 1.5}}),
]


async def test_indexed_fields_follow_every_write(store: DocumentStore) -> None:
    """Indexed and plain collections give the same answers after inserts, updates and upserts
    that change, remove, or turn into lists and documents the indexed fields."""
    plain, indexed = store.collection("plain"), store.collection("indexed")
    for path in INDEXED_PATHS:
        await indexed.create_index([(path, 1)])
    for coll in (plain, indexed):
        await coll.insert_many([dict(doc) for doc in LETTERS])
        for flt, update in CHANGES:
            await coll.update_many(flt, update)
        await coll.find_one_and_update({"_id": "a5"}, {"$set": {"kind": "suggest", "tags": "night"}}, upsert=True)
    for flt, _ in FILTERS:
        assert ids(await indexed.find(flt)) == ids(await plain.find(flt)), flt
        assert await indexed.count(flt) == await plain.count(flt), flt
    for field in ("kind", "created_at", "score"):
        order: list[tuple[str, Any]] = [(field, -1), ("_id", 1)]
        assert ([d["_id"] for d in await indexed.find({}, sort=order)]
                == [d["_id"] for d in await plain.find({}, sort=order)]), field


async def test_an_index_made_later_covers_the_documents_already_there(letters: Any) -> None:
    expected = {str(flt): ids(await letters.find(flt)) for flt, _ in FILTERS}
    for path in INDEXED_PATHS:
        await letters.create_index([(path, 1)])
    for flt, _ in FILTERS:
        assert ids(await letters.find(flt)) == expected[str(flt)], flt


class Kind(StrEnum):
    COMPLAIN = "complain"


async def test_enum_values_are_stored_as_their_value(store: DocumentStore) -> None:
    coll = store.collection("enums")
    await coll.create_index([("kind", 1)])
    await coll.insert_one({"_id": "e1", "kind": Kind.COMPLAIN})
    await coll.update_one({"_id": "e1"}, {"$set": {"again": Kind.COMPLAIN}})
    assert ids(await coll.find({"kind": "complain"})) == ["e1"]
    assert await coll.find_one_and_update({"kind": Kind.COMPLAIN}, {"$set": {"kind": "consult"}})
    assert ids(await coll.find({"kind": "consult"})) == ["e1"]


# --- statistics ------------------------------------------------------------------------------

async def test_group_count(letters: Any) -> None:
    rows = await letters.group_count({}, ["kind"], sums=["score"])
    assert sorted(rows, key=lambda r: r["key"]["kind"]) == [
        {"key": {"kind": "complain"}, "count": 2, "sums": {"score": 8.5}},
        {"key": {"kind": "consult"}, "count": 1, "sums": {"score": 3}},
        {"key": {"kind": "suggest"}, "count": 1, "sums": {"score": 0}},  # "high" is not a number
    ]
    rows = await letters.group_count({"kind": {"$ne": "consult"}}, ["dept.id", "kind"])
    assert sorted((r["key"]["dept.id"] or "", r["key"]["kind"], r["count"], r["sums"]) for r in rows) == [
        ("", "suggest", 1, {}), ("d1", "complain", 2, {})]
    assert await letters.group_count({"kind": "none"}, ["kind"]) == []
    assert await letters.group_count({}, []) == [{"key": {}, "count": 4, "sums": {}}]
