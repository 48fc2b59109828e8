"""Granting and revoking a delegation (委托). Not a case: a record the kernel's guards read, with
its event written in the same document write (the deputy is told)."""

from __future__ import annotations

from typing import Any

from backend.auth.tokens import Principal
from backend.cases.delegation import DELEGATIONS
from backend.clock import to_api, to_storage
from backend.context import Context
from backend.errors import Conflict, DuplicateKey, ValidationFailed
from backend.events import Recipient, doc_with_events, new_event, with_event
from backend.identity.queries import active_staff
from backend.office.delegations import queries
from backend.office.delegations.events import DelegationEvent
from backend.office.delegations.schemas import DelegationIn
from backend.todos.pages import first_pages


class DelegationOverlaps(Conflict):
    code = "delegation_overlaps"
    message = "该时段内已有生效的委托，请先取消"


def _event(ctx: Context, kind: DelegationEvent, doc: dict[str, Any], actor: Principal, name: str | None) -> Any:
    period = f"{to_api(doc['starts_at'])[:16].replace('T', ' ')} 至 {to_api(doc['ends_at'])[:16].replace('T', ' ')}"
    return new_event(kind, collection=DELEGATIONS, subject_id=doc["_id"], actor=actor.user_id,
                     recipients=[Recipient.user(doc["deputy"])], at=ctx.clock.stored(),
                     data={"delegator_name": name or "", "period": period})


async def do_grant_delegation(ctx: Context, data: DelegationIn, *, acting_user: Principal,
                              delegation_id: str) -> dict[str, Any]:
    if data.deputy == acting_user.user_id:
        raise ValidationFailed("不能委托给自己", details={"fields": [{"field": "deputy", "message": "不能是本人"}]})
    people = await active_staff(ctx.store, [data.deputy, acting_user.user_id])
    starts, ends = to_storage(data.starts_at), to_storage(data.ends_at)
    delegations = ctx.store.collection(DELEGATIONS)
    overlapping = await delegations.count({"delegator": acting_user.user_id, "revoked_at": None,
                                           "starts_at": {"$lt": ends}, "ends_at": {"$gt": starts}})
    if overlapping:
        raise DelegationOverlaps()
    now = ctx.clock.stored()
    doc = {"_id": delegation_id, "delegator": acting_user.user_id, "deputy": data.deputy, "starts_at": starts,
           "ends_at": ends, "reason": data.reason, "revoked_at": None, "version": 1, "created_at": now,
           "updated_at": now}
    event = _event(ctx, DelegationEvent.GRANTED, doc, acting_user, people[acting_user.user_id]["name"])
    try:
        await delegations.insert_one(doc_with_events(doc, event))
    except DuplicateKey:  # the same Idempotency-Key's earlier attempt stored it
        doc = await queries.access_delegation(ctx, acting_user, delegation_id)
    first_pages(ctx.store).changed()  # the deputy's to-dos now include the delegator's
    ctx.relay.wake(DELEGATIONS)
    return await queries.delegation_out(ctx, doc)


async def do_revoke_delegation(ctx: Context, delegation_id: str, *, acting_user: Principal) -> dict[str, Any]:
    """Ends a delegation now (idempotent); only its delegator may."""
    doc = await queries.access_delegation(ctx, acting_user, delegation_id, delegator_only=True)
    if doc.get("revoked_at"):
        return await queries.delegation_out(ctx, doc)
    now = ctx.clock.stored()
    names = await active_staff(ctx.store, [acting_user.user_id])
    change = with_event({"$set": {"revoked_at": now, "updated_at": now}, "$inc": {"version": 1}},
                        _event(ctx, DelegationEvent.REVOKED, doc, acting_user, names[acting_user.user_id]["name"]))
    after = await ctx.store.collection(DELEGATIONS).find_one_and_update(
        {"_id": delegation_id, "revoked_at": None}, change)
    first_pages(ctx.store).changed()
    ctx.relay.wake(DELEGATIONS)
    return await queries.delegation_out(ctx, after or await queries.access_delegation(ctx, acting_user, delegation_id))
