"""Reads of the inbox, preferences and subscribe-message quota: plain data shaped for the API,
plus the lookups push needs (preferences of many users at once, a notification by WeChat msgid)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from backend.auth.tokens import Principal
from backend.clock import to_api
from backend.errors import NotFound
from backend.notifications.schemas import OPTIONAL_CHANNELS
from backend.store.interface import Document, DocumentStore
from backend.store.pagination import paginate

NOTIFICATIONS = "notifications"
PREFERENCES = "notification_preferences"
QUOTAS = "subscribe_quotas"

# What a WebSocket client that reconnects may replay; beyond it, it is told to reload the inbox.
REPLAY_LIMIT = 100


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "通知不存在"


def notification_id(event_id: str, user_id: str) -> str:
    """Deterministic per (event, recipient): a redelivered event finds its notification already
    stored instead of creating a second one.

    20 hex characters like every id: 9 from the event's time (its id is time-sortable; in 16 ms
    steps, wrapping every 34 years) then 11 from a hash of both ids. Entries of one event thus sit
    together in the store's key order, so the inserts and the state updates of a large fan-out
    touch a few recent pages instead of random ones all over the table; 44 hash bits keep a
    collision between two recipients of one event below one in 10^7 for 1,000 recipients."""
    digest = hashlib.sha256(f"{event_id}\n{user_id}".encode()).hexdigest()
    try:
        moment = int(event_id[:12], 16) >> 4
    except ValueError:
        return digest[:20]
    return f"{moment & 0xFFFFFFFFF:09x}{digest[:11]}"


def quota_id(user_id: str, template_id: str) -> str:
    return f"{user_id}:{template_id}"


# Push renders a notification per recipient, all with the same times: parse each time once.
_api_time = lru_cache(maxsize=4096)(to_api)


def notification_out(doc: Document) -> dict[str, Any]:
    channels = {name: {"state": value.get("state"), "reason": value.get("reason")}
                for name, value in (doc.get("channels") or {}).items()}
    return {"id": doc["_id"], "type": doc["type"], "title": doc["title"], "body": doc["body"],
            "link": doc.get("link"), "subject": doc.get("subject"), "read_at": _api_time(doc.get("read_at")),
            "created_at": _api_time(doc["created_at"]), "channels": channels, "version": doc.get("version", 1)}


async def access_notification_by_id(store: DocumentStore, actor: Principal, nid: str) -> Document:
    """The actor's own notification; the same 404 whether it is missing or someone else's."""
    doc = await store.collection(NOTIFICATIONS).find_one({"_id": nid, "user_id": actor.user_id})
    if doc is None:
        raise NotificationNotFound()
    return doc


async def list_notifications(store: DocumentStore, actor: Principal, *, unread: bool, limit: int,
                             cursor: str | None) -> dict[str, Any]:
    """Newest first; ``unread`` keeps only those not yet read."""
    collection = store.collection(NOTIFICATIONS)
    filter_: dict[str, Any] = {"user_id": actor.user_id}
    if unread:
        filter_["read_at"] = None
    docs, next_cursor = await paginate(collection, filter_, sort=[("created_at", -1)], limit=limit, cursor=cursor)
    unread_count = await collection.count({"user_id": actor.user_id, "read_at": None})
    return {"items": [notification_out(doc) for doc in docs], "next_cursor": next_cursor,
            "unread_count": unread_count}


async def notifications_since(store: DocumentStore, user_id: str, since: str,
                              limit: int = REPLAY_LIMIT) -> tuple[list[dict[str, Any]], bool]:
    """What a reconnecting client missed after notification ``since``, oldest first, and whether
    that is all of it. An unknown ``since`` (or more than ``limit`` missed) gives ``([], False)``
    or a partial list: the client then reloads the inbox instead of replaying."""
    collection = store.collection(NOTIFICATIONS)
    anchor = await collection.find_one({"_id": since, "user_id": user_id}, projection=["created_at"])
    if anchor is None:
        return [], False
    at = anchor["created_at"]
    docs = await collection.find(
        {"user_id": user_id, "$or": [{"created_at": {"$gt": at}}, {"created_at": at, "_id": {"$gt": since}}]},
        sort=[("created_at", 1), ("_id", 1)], limit=limit + 1)
    return [notification_out(doc) for doc in docs[:limit]], len(docs) <= limit


async def existing_notifications(store: DocumentStore, ids: list[str]) -> dict[str, Document]:
    """The stored ones among ``ids`` (their channel decisions), for a redelivered event."""
    if not ids:
        return {}
    docs = await store.collection(NOTIFICATIONS).find({"_id": {"$in": ids}}, projection=["channels"])
    return {doc["_id"]: doc for doc in docs}


async def latest_unconfirmed_subscribe(store: DocumentStore, user_id: str, template_id: str) -> Document | None:
    """The last subscribe message sent to the user with this template and not yet confirmed:
    what a ``subscribe_msg_sent_event`` receipt refers to (the API gives us no msgid to match)."""
    docs = await store.collection(NOTIFICATIONS).find(
        {"user_id": user_id, "channels.subscribe.template_id": template_id, "channels.subscribe.state": "sent"},
        sort=[("created_at", -1)], limit=1, projection=["_id"])
    return docs[0] if docs else None


# --- preferences -------------------------------------------------------------------------------

def preferences_out(user_id: str, audience: str, doc: Document | None) -> dict[str, Any]:
    stored = (doc or {}).get("channels", {})
    return {"id": user_id, "channels": {ch.value: bool(stored.get(ch.value, True)) for ch in OPTIONAL_CHANNELS[audience]},
            "version": (doc or {}).get("version", 0)}


async def get_preferences(store: DocumentStore, actor: Principal) -> dict[str, Any]:
    doc = await store.collection(PREFERENCES).find_one({"_id": actor.user_id})
    return preferences_out(actor.user_id, actor.audience, doc)


async def preferences_for(store: DocumentStore, user_ids: list[str]) -> dict[str, dict[str, bool]]:
    """Channel switches users have set (missing: on), for many users in one query."""
    if not user_ids:
        return {}
    docs = await store.collection(PREFERENCES).find({"_id": {"$in": user_ids}}, projection=["channels"])
    return {doc["_id"]: dict(doc.get("channels") or {}) for doc in docs}


# --- subscribe-message consent -----------------------------------------------------------------

def subscription_out(template_id: str, title: str | None, long_term: bool, doc: Document | None) -> dict[str, Any]:
    doc = doc or {}
    remaining = (1 if doc.get("consented") else 0) if long_term else int(doc.get("remaining", 0))
    return {"template_id": template_id, "title": title, "long_term": long_term, "remaining": remaining,
            "last_result": doc.get("last_result")}


async def list_subscriptions(store: DocumentStore, actor: Principal, templates: dict[str, str],
                             long_term: tuple[str, ...]) -> dict[str, Any]:
    """The user's standing with each template we send (``templates``: id → title), and any other
    template they have answered for. For a long-term template ``remaining`` is 1 while consented."""
    docs = {doc["template_id"]: doc for doc in await store.collection(QUOTAS).find(
        {"user_id": actor.user_id}, sort=[("template_id", 1)], limit=200)}
    ids = [*templates, *sorted(set(docs) - set(templates))]
    return {"items": [subscription_out(tid, templates.get(tid), tid in long_term, docs.get(tid)) for tid in ids]}
