"""Stores for the contract suite: every test taking ``store`` runs once per engine.

- ``sqlite``: the embedded engine on a fresh file;
- ``mongomock``: ``MongoStore`` over mongomock — checks our query documents, not a server;
- ``mongo``: a real MongoDB, only when ``YZT_TEST_MONGO_URL`` is set (a throwaway database).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend.ids import new_id
from backend.store.interface import DocumentStore
from backend.store.mongo import MongoStore
from backend.store.mongomock_shim import mongomock_store
from backend.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", "mongomock", "mongo"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocumentStore]:
    engine: DocumentStore
    if request.param == "sqlite":
        engine = SQLiteStore(tmp_path / "store.sqlite3")
    elif request.param == "mongomock":
        engine = mongomock_store()
    else:
        url = os.environ.get("YZT_TEST_MONGO_URL")
        if not url:
            pytest.skip("set YZT_TEST_MONGO_URL to run the contract suite against a real MongoDB")
        engine = MongoStore(url, f"yzt_test_{new_id()}")
    await engine.open()
    try:
        yield engine
    finally:
        if isinstance(engine, MongoStore) and request.param == "mongo":
            await engine.database.client.drop_database(engine.database.name)
        await engine.close()


@pytest.fixture
def engine_name(request: pytest.FixtureRequest) -> str:
    """The ``store`` parameter of the running test (``sqlite``, ``mongomock`` or ``mongo``)."""
    return request.node.callspec.params["store"]


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    engine = SQLiteStore(tmp_path / "store.sqlite3")
    await engine.open()
    try:
        yield engine
    finally:
        await engine.close()
