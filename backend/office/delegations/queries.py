"""Reads of delegations: one's own, as delegator or as deputy."""

from __future__ import annotations

from typing import Any

from backend.auth.tokens import Principal
from backend.cases.delegation import DELEGATIONS
from backend.clock import to_api
from backend.context import Context
from backend.errors import NotFound
from backend.identity.queries import user_names
from backend.store.pagination import paginate_union


class DelegationNotFound(NotFound):
    code = "delegation_not_found"
    message = "委托不存在"


async def access_delegation(ctx: Context, actor: Principal, delegation_id: str, *,
                            delegator_only: bool = False) -> dict[str, Any]:
    doc = await ctx.store.collection(DELEGATIONS).find_one({"_id": delegation_id})
    parties = {doc["delegator"]} if doc and delegator_only else {doc["delegator"], doc["deputy"]} if doc else set()
    if doc is None or actor.user_id not in parties:
        raise DelegationNotFound()
    return doc


async def delegation_out(ctx: Context, doc: dict[str, Any]) -> dict[str, Any]:
    names = await user_names(ctx.store, [doc["delegator"], doc["deputy"]])
    now = ctx.clock.stored()
    return {"id": doc["_id"], "delegator": doc["delegator"], "delegator_name": names.get(doc["delegator"]),
            "deputy": doc["deputy"], "deputy_name": names.get(doc["deputy"]), "reason": doc.get("reason"),
            "starts_at": to_api(doc["starts_at"]), "ends_at": to_api(doc["ends_at"]),
            "revoked_at": to_api(doc.get("revoked_at")), "version": doc["version"],
            "active": doc.get("revoked_at") is None and doc["starts_at"] <= now < doc["ends_at"]}


async def list_delegations(ctx: Context, actor: Principal, *, limit: int, cursor: str | None) -> dict[str, Any]:
    docs, next_cursor = await paginate_union(
        ctx.store.collection(DELEGATIONS),
        [{"delegator": actor.user_id}, {"deputy": actor.user_id, "delegator": {"$ne": actor.user_id}}],
        sort=[("_id", -1)], limit=limit, cursor=cursor)
    return {"items": [await delegation_out(ctx, doc) for doc in docs], "next_cursor": next_cursor}
