"""From an event's recipients (user ids, departments, roles) to the people behind them.

This is the one place push reads the identity collections: once per event, never per send.
A department means the staff whose department it is (not its subtree: the use case names every
department it means); a role means every staff account holding it. Disabled accounts and the
event's own actor are left out: nobody is told of what they just did.
"""

from __future__ import annotations

from typing import Any, Iterable

from backend.identity.queries import USERS
from backend.store.interface import Document, DocumentStore

FOLLOWERS = "wechat_followers"
USER_FIELDS = ["kind", "openid", "unionid", "username", "roles", "department", "disabled"]


async def resolve_recipients(store: DocumentStore, recipients: Iterable[dict[str, Any]], *,
                             actor: str | None) -> list[Document]:
    users = store.collection(USERS)
    ids: list[str] = []
    departments: list[str] = []
    roles: list[str] = []
    for recipient in recipients:
        kind = recipient.get("kind")
        if kind == "user" and recipient.get("id"):
            ids.append(str(recipient["id"]))
        elif kind == "department" and recipient.get("code"):
            departments.append(str(recipient["code"]))
        elif kind == "role" and recipient.get("role"):
            roles.append(str(recipient["role"]))
    found: dict[str, Document] = {}
    if ids:
        found.update((doc["_id"], doc) for doc in await users.find({"_id": {"$in": sorted(set(ids))}},
                                                                   projection=USER_FIELDS))
    if departments:
        found.update((doc["_id"], doc) for doc in await users.find(
            {"kind": "staff", "department": {"$in": sorted(set(departments))}}, projection=USER_FIELDS))
    for role in sorted(set(roles)):
        found.update((doc["_id"], doc) for doc in await users.find({"kind": "staff", "roles": role},
                                                                   projection=USER_FIELDS))
    return [doc for uid, doc in sorted(found.items()) if uid != actor and not doc.get("disabled")]


async def official_account_openids(store: DocumentStore, unionids: list[str]) -> dict[str, str]:
    """unionid → the Official Account openid of those who follow it now (template messages
    reach followers only, 43004 otherwise)."""
    if not unionids:
        return {}
    docs = await store.collection(FOLLOWERS).find({"unionid": {"$in": sorted(set(unionids))}, "followed": True},
                                                  projection=["unionid"])
    return {doc["unionid"]: doc["_id"] for doc in docs}


async def user_id_by_openid(store: DocumentStore, openid: str) -> str | None:
    """The citizen behind a mini-program openid (receipts name people by openid)."""
    doc = await store.collection(USERS).find_one({"openid": openid}, projection=["_id"])
    return doc["_id"] if doc else None
