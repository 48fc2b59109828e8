"""Keyset pagination (``backend/store/pagination.py``) on every engine."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from backend.errors import ValidationFailed
from backend.store.interface import Collection, DocumentStore, Sort
from backend.store.pagination import paginate, paginate_union


@pytest.fixture
async def items(store: DocumentStore) -> Collection:
    coll = store.collection("items")
    # 23 items over 5 timestamps (many ties); every 4th has no deadline, two have a null one.
    docs = []
    for i in range(23):
        doc: dict[str, Any] = {"_id": f"i{i:02d}", "created_at": f"2026-01-0{i % 5 + 1}T00:00:00.000000Z",
                               "dept": "d1" if i % 2 else "d2", "title": f"事项{i}"}
        if i % 4:
            doc["deadline"] = f"2026-02-{i % 7 + 1:02d}"
        elif i in (4, 8):
            doc["deadline"] = None
        docs.append(doc)
    await coll.insert_many(docs)
    await coll.create_index([("dept", 1), ("created_at", -1)])
    return coll


async def all_pages(coll: Collection, flt: dict[str, Any], sort: Sort, limit: int,
                    projection: list[str] | None = None) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page, cursor = await paginate(coll, flt, sort=sort, limit=limit, cursor=cursor, projection=projection)
        assert len(page) <= limit
        seen += page
        if cursor is None:
            return seen
        assert len(page) == limit
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("sort", [
    [("created_at", -1)],
    [("created_at", 1)],
    [("created_at", -1), ("_id", 1)],
    [("deadline", 1)],  # nulls and missing first
    [("deadline", -1)],  # nulls and missing last
    [("deadline", -1), ("created_at", 1)],
    [("dept", 1), ("deadline", -1)],
    [],
], ids=str)
@pytest.mark.parametrize("limit", [1, 7])
async def test_pages_cover_everything_once_in_order(items: Collection, sort: Sort, limit: int) -> None:
    full_sort = sort if sort and sort[-1][0] == "_id" else [*sort, ("_id", sort[-1][1] if sort else 1)]
    expected = [d["_id"] for d in await items.find({}, sort=full_sort)]
    assert [d["_id"] for d in await all_pages(items, {}, sort, limit)] == expected


@pytest.mark.parametrize("sort", [
    [("created_at", 1)],
    [("deadline", 1)],  # nulls and missing first
    [("deadline", -1)],  # nulls and missing last
    [("deadline", -1), ("created_at", 1)],  # directions mixed
], ids=str)
@pytest.mark.parametrize("parts", [1, 2, 3])
async def test_a_union_pages_as_one_query_would(items: Collection, sort: Sort, parts: int) -> None:
    full_sort = [*sort, ("_id", sort[-1][1])]
    expected = [d["_id"] for d in await items.find({}, sort=full_sort)]
    filters = [{"dept": "d1"}, {"dept": "d2"}] if parts == 2 else [{}] if parts == 1 else \
        [{"dept": "d1"}, {"dept": "d2", "created_at": {"$lt": "2026-01-03"}},
         {"dept": "d2", "created_at": {"$gte": "2026-01-03"}}]
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = await paginate_union(items, filters, sort=sort, limit=4, cursor=cursor)
        seen += [d["_id"] for d in page]
        if cursor is None:
            break
    assert seen == expected


async def test_filter_and_projection(items: Collection) -> None:
    sort: Sort = [("created_at", -1)]
    expected = await items.find({"dept": "d1"}, sort=[("created_at", -1), ("_id", -1)], projection=["title"])
    assert await all_pages(items, {"dept": "d1"}, sort, 3, projection=["title"]) == expected
    assert all(set(doc) == {"_id", "title"} for doc in expected)


async def test_empty_result(items: Collection) -> None:
    assert await paginate(items, {"dept": "none"}, sort=[("created_at", -1)], limit=5, cursor=None) == ([], None)


async def test_last_page_has_no_cursor(items: Collection) -> None:
    page, cursor = await paginate(items, {}, sort=[("created_at", 1)], limit=23, cursor=None)
    assert len(page) == 23 and cursor is None


async def test_invalid_cursors_are_refused(items: Collection) -> None:
    _, cursor = await paginate(items, {}, sort=[("created_at", -1)], limit=5, cursor=None)
    assert cursor is not None
    tampered = base64.urlsafe_b64encode(b'[1,"x"]').decode()
    for bad in ["not base64 at all!", "", tampered, cursor[:-3], "A" * 5000]:
        with pytest.raises(ValidationFailed) as caught:
            await paginate(items, {}, sort=[("created_at", -1)], limit=5, cursor=bad)
        assert caught.value.message == "分页游标无效"
    with pytest.raises(ValidationFailed):  # a cursor made for another order
        await paginate(items, {}, sort=[("created_at", 1)], limit=5, cursor=cursor)
