"""Chinese search on both engines (the MongoDB one over mongomock: it checks our query
documents, not a server)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import jieba
import pytest

from backend.search import SearchIndex, open_search, warm_up
from backend.search.segment import query_terms
from backend.store.mongomock_shim import mongomock_store
from backend.store.sqlite import SQLiteStore

LETTERS = {
    "0001": ("小区夜间施工噪音扰民，凌晨两点还在打桩，严重影响休息。", {"title": "夜间施工扰民"}),
    "0002": ("建议在公园增设健身器材和公共厕所。", {"title": "关于公园设施的建议"}),
    "0003": ("楼下饭店油烟和噪音很大，多次反映无果。", {"title": "饭店油烟"}),
    "0004": ("咨询住房公积金提取需要哪些材料。", {"title": "噪音以外的问题：公积金"}),
}


@pytest.fixture(params=["sqlite", "mongomock"])
async def search(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchIndex]:
    store = SQLiteStore(tmp_path / "store.sqlite3") if request.param == "sqlite" else mongomock_store()
    await store.open()
    index = open_search(store)
    for doc_id, (text, fields) in LETTERS.items():
        await index.index("letters", doc_id, text, fields=fields)
    try:
        yield index
    finally:
        await store.close()


async def test_two_character_word_is_found(search: SearchIndex) -> None:
    found = await search.search("letters", "噪音")
    assert "0001" in found and "0003" in found
    assert found[0] == "0004"  # its title holds the word
    assert await search.search("letters", "施工噪音") == ["0001"]  # every word must match


async def test_queries_with_punctuation_particles_and_latin(search: SearchIndex) -> None:
    assert await search.search("letters", "  公积金的提取？") == ["0004"]
    assert await search.search("letters", "健身") == ["0002"]
    assert await search.search("letters", "地铁") == []
    assert await search.search("letters", "，。！") == []
    assert await search.search("letters", '" OR 1=1 --') == []


async def test_filter_ids_and_limit(search: SearchIndex) -> None:
    assert await search.search("letters", "噪音", filter_ids={"0003", "0002"}) == ["0003"]
    assert await search.search("letters", "噪音", filter_ids=[]) == []
    assert len(await search.search("letters", "噪音", limit=2)) == 2


async def test_reindex_and_remove(search: SearchIndex) -> None:
    await search.index("letters", "0002", "公园里晚上广场舞噪音太大", fields={"title": "广场舞"})
    assert "0002" in await search.search("letters", "噪音")
    assert await search.search("letters", "健身") == []
    await search.remove("letters", "0001")
    await search.remove("letters", "9999")
    assert "0001" not in await search.search("letters", "噪音")
    assert await search.search("other_collection", "噪音") == []
    await search.remove("other_collection", "0001")


async def test_dictionary_loads_quietly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        await warm_up()
        jieba.Tokenizer().initialize()  # a fresh load, in case warm_up already ran in this process
    assert not [r for r in caplog.records if r.name.startswith("jieba")]


def test_query_terms() -> None:
    assert query_terms("噪音") == ["噪音"]
    assert query_terms("的") == ["的"]
    assert "的" not in query_terms("施工的噪音")
