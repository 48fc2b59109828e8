"""Every write to the inbox, preferences and subscribe-message quota.

The ``do_*`` functions are what people do through the API (mark read, switch a channel off,
report a consent popup). The ``bulk_*`` / ``spend_*`` / ``set_*`` functions are push's only
way to write here: push decides, this module stores. None of them emits a domain event: these
records are the end of the line, and nothing downstream consumes their changes.
"""

from __future__ import annotations

from typing import Any, Iterable

from backend.auth.tokens import Principal
from backend.clock import now_stored
from backend.context import Context
from backend.errors import DuplicateKey, ValidationFailed, VersionConflict
from backend.notifications import queries
from backend.notifications.queries import NOTIFICATIONS, PREFERENCES, QUOTAS, quota_id
from backend.notifications.schemas import OPTIONAL_CHANNELS, PreferencesIn, SubscribeResult, SubscriptionResultsIn
from backend.store.interface import Document, DocumentStore

# --- people, through the API -------------------------------------------------------------------

async def do_mark_read(ctx: Context, nid: str, *, acting_user: Principal) -> dict[str, Any]:
    """Idempotent: marking a read notification again changes nothing and returns it as it is."""
    doc = await queries.access_notification_by_id(ctx.store, acting_user, nid)
    if doc.get("read_at") is None:
        after = await ctx.store.collection(NOTIFICATIONS).find_one_and_update(
            {"_id": nid, "user_id": acting_user.user_id, "read_at": None},
            {"$set": {"read_at": now_stored(), "updated_at": now_stored()}, "$inc": {"version": 1}})
        doc = after or await queries.access_notification_by_id(ctx.store, acting_user, nid)
    return queries.notification_out(doc)


async def do_mark_all_read(ctx: Context, *, acting_user: Principal) -> dict[str, Any]:
    updated = await ctx.store.collection(NOTIFICATIONS).update_many(
        {"user_id": acting_user.user_id, "read_at": None},
        {"$set": {"read_at": now_stored(), "updated_at": now_stored()}, "$inc": {"version": 1}})
    return {"updated": updated}


async def do_set_preferences(ctx: Context, data: PreferencesIn, *, acting_user: Principal,
                             expected_version: int | None) -> dict[str, Any]:
    """Switch optional channels on or off; only the channels named change. Mandatory
    notifications (see ``push/rules.py``) still go out on every channel."""
    allowed = {ch.value for ch in OPTIONAL_CHANNELS[acting_user.audience]}
    unknown = sorted(ch.value for ch in data.channels if ch.value not in allowed)
    if unknown:
        raise ValidationFailed(details={"fields": [{"field": f"channels.{ch}", "message": "该渠道不能设置"}
                                                   for ch in unknown]})
    collection = ctx.store.collection(PREFERENCES)
    current = await collection.find_one({"_id": acting_user.user_id})
    version = (current or {}).get("version", 0)
    if expected_version is not None and expected_version != version:
        raise VersionConflict()
    changes = {f"channels.{ch.value}": on for ch, on in data.channels.items()
               if (current or {}).get("channels", {}).get(ch.value, True) != on}
    if not changes:
        return queries.preferences_out(acting_user.user_id, acting_user.audience, current)
    now = now_stored()
    if current is None:
        doc = {"_id": acting_user.user_id, "channels": {ch.value: on for ch, on in data.channels.items()},
               "version": 1, "created_at": now, "updated_at": now}
        try:
            await collection.insert_one(doc)
        except DuplicateKey:
            raise VersionConflict() from None
        return queries.preferences_out(acting_user.user_id, acting_user.audience, doc)
    after = await collection.find_one_and_update({"_id": acting_user.user_id, "version": version},
                                                 {"$set": {**changes, "updated_at": now}, "$inc": {"version": 1}})
    if after is None:
        raise VersionConflict()
    return queries.preferences_out(acting_user.user_id, acting_user.audience, after)


async def do_record_subscription_results(ctx: Context, data: SubscriptionResultsIn, *, acting_user: Principal,
                                         templates: dict[str, str]) -> dict[str, Any]:
    """Record what ``wx.requestSubscribeMessage`` answered, per template.

    A one-time template gains one send per "accept" (WeChat's rule); a long-term one is simply
    consented or not. The client's report is trusted because over-reporting only harms the
    reporter: WeChat answers 43101 and the quota drops to 0. The request carries an
    Idempotency-Key, so a retried report is not counted twice.
    """
    long_term = ctx.settings.long_term_templates
    unknown = sorted(template_id for template_id in data.results if template_id not in templates)
    if unknown:  # before anything is stored: a template we never send is no consent to keep
        raise ValidationFailed("订阅消息模板不存在", details={"fields": [
            {"field": f"results.{template_id}", "message": "未知的模板"} for template_id in unknown]})
    collection = ctx.store.collection(QUOTAS)
    now = now_stored()
    for template_id, result in data.results.items():
        is_long = template_id in long_term
        update: dict[str, Any] = {"$set": {"user_id": acting_user.user_id, "template_id": template_id,
                                           "long_term": is_long, "last_result": result.value, "updated_at": now},
                                  "$inc": {"version": 1}}
        if result is SubscribeResult.ACCEPT:
            if is_long:
                update["$set"]["consented"] = True
            else:
                update["$inc"].update({"remaining": 1, "accepted_total": 1})
        elif result is SubscribeResult.REJECT and is_long:
            update["$set"]["consented"] = False
        doc = await collection.find_one_and_update({"_id": quota_id(acting_user.user_id, template_id)}, update,
                                                   upsert=True)
        if doc is not None and "created_at" not in doc:
            await collection.update_one({"_id": doc["_id"], "created_at": {"$exists": False}},
                                        {"$set": {"created_at": now}})
    return await queries.list_subscriptions(ctx.store, acting_user, templates, long_term)


# --- push, delivering --------------------------------------------------------------------------

async def bulk_insert_notifications(store: DocumentStore, docs: list[Document]) -> list[str]:
    """Store new inbox entries; returns the ids actually inserted. An id already stored (the
    same event delivered twice, or handled by two workers at once) is skipped, not an error."""
    if not docs:
        return []
    collection = store.collection(NOTIFICATIONS)
    try:
        await collection.insert_many(docs)
        return [doc["_id"] for doc in docs]
    except DuplicateKey:
        pass
    inserted = []
    for doc in docs:
        try:
            await collection.insert_one(doc)
            inserted.append(doc["_id"])
        except DuplicateKey:
            continue
    return inserted


async def spend_subscription_unit(store: DocumentStore, user_id: str, template_id: str, *, long_term: bool) -> bool:
    """Take one send from the user's quota for the template (atomic: of two concurrent
    spenders of the last unit exactly one wins). A long-term template needs consent, no quota."""
    collection = store.collection(QUOTAS)
    key = quota_id(user_id, template_id)
    if long_term:
        return await collection.find_one({"_id": key, "consented": True}, projection=["_id"]) is not None
    after = await collection.find_one_and_update({"_id": key, "remaining": {"$gt": 0}},
                                                 {"$inc": {"remaining": -1, "version": 1},
                                                  "$set": {"updated_at": now_stored()}})
    return after is not None


async def exhaust_subscription(store: DocumentStore, user_id: str, template_id: str) -> None:
    """WeChat says the user has nothing left for the template (43101, or they switched a
    long-term subscription off): believe it over our count."""
    await store.collection(QUOTAS).update_one(
        {"_id": quota_id(user_id, template_id)},
        {"$set": {"remaining": 0, "consented": False, "updated_at": now_stored()}, "$inc": {"version": 1}})


async def bulk_set_channel_state(store: DocumentStore, channel: str, ids: Iterable[str], state: str, *,
                                 reason: str | None = None, at: str | None = None) -> int:
    """One write for a batch of notifications that reached the same state on one channel."""
    ids = list(ids)
    if not ids:
        return 0
    fields: dict[str, Any] = {f"channels.{channel}.state": state, f"channels.{channel}.at": at or now_stored()}
    fields[f"channels.{channel}.reason"] = reason
    return await store.collection(NOTIFICATIONS).update_many({"_id": {"$in": ids}}, {"$set": fields})


async def set_channel_fields(store: DocumentStore, nid: str, channel: str, fields: dict[str, Any]) -> bool:
    """Per-notification details of a channel (WeChat's msgid, a delivery receipt)."""
    return await store.collection(NOTIFICATIONS).update_one(
        {"_id": nid}, {"$set": {f"channels.{channel}.{key}": value for key, value in fields.items()}})
