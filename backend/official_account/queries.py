"""Reads of the Official Account configuration."""

from __future__ import annotations

from typing import Any

from backend.official_account.use_cases import OA_CONFIG, keyword_out
from backend.store.interface import DocumentStore


async def get_config(store: DocumentStore) -> dict[str, Any]:
    docs = await store.collection(OA_CONFIG).find({}, limit=1000)
    by_id = {doc["_id"]: doc for doc in docs}
    return {
        "welcome": by_id.get("welcome", {}).get("text"), "default": by_id.get("default", {}).get("text"),
        "keywords": [keyword_out(doc) for doc in docs if doc.get("kind") == "keyword"],
        "menu": by_id.get("menu", {}).get("menu"),
    }
