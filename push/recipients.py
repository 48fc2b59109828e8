"""From an event's recipients (user ids, departments, roles) to the people behind them.

This is the one place push reads the identity collections: once per event, never per send.
A department means the staff whose department it is (not its subtree: the use case names every
department it means); a role means every staff account holding it. Disabled accounts and the
event's own actor are left out: nobody is told of what they just did.
"""

from __future__ import annotations

from typing import Iterable

from backend.events import Recipient
from backend.identity.queries import USERS
from backend.store.interface import Document, DocumentStore

FOLLOWERS = "wechat_followers"
USER_FIELDS = ["kind", "openid", "unionid", "username", "roles", "department", "disabled"]


async def resolve_recipients(store: DocumentStore, recipients: Iterable[Recipient], *,
                             actor: str | None) -> list[Document]:
    users = store.collection(USERS)
    wanted: dict[str, set[str]] = {"user": set(), "department": set(), "role": set()}
    for recipient in recipients:
        wanted[recipient.kind].add(recipient.value)
    found: dict[str, Document] = {}
    if wanted["user"]:
        found.update((doc["_id"], doc) for doc in await users.find({"_id": {"$in": sorted(wanted["user"])}},
                                                                   projection=USER_FIELDS))
    if wanted["department"]:
        found.update((doc["_id"], doc) for doc in await users.find(
            {"kind": "staff", "department": {"$in": sorted(wanted["department"])}}, projection=USER_FIELDS))
    for role in sorted(wanted["role"]):
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
