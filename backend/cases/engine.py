"""The one write path of every case: ``create_case`` and ``apply``.

Each writes the whole change in one atomic store operation: the new state, ``version`` + 1, the
history entry, the clock's new ``deadline``, who holds the case now (``todo``) and the declared
domain event in the outbox. ``apply`` is a compare-and-set on (``_id``, ``state``, ``version``):
of two concurrent actors exactly one wins and the other gets 409 with nothing changed.

Before writing, ``apply`` checks what the transition declares: the state allows the action, the
actor's roles allow it, its guard allows it (or names whom a deputy acts for), and If-Match. It
previews the change on a copy of the document to know who holds the case afterwards and what
the event says, so holders and recipients are always computed from the state actually written.

``create_cases`` writes many new cases at once (a notice's receipts), each as ``create_case`` would.
``mark_level`` is the supervision job's only write: a worse warning level and its event, without
a version bump, so that a clerk's If-Match stays valid while the clock moves on. A transition
declared ``keeps_version`` (a reminder) leaves ``version`` alone too when the holders' to-dos stay
as they were, so nobody's If-Match goes stale for it; it counts ``quiet_version`` instead and
compare-and-sets on both, so that of two such writes (two processes' reminder jobs) one passes.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Iterable, Mapping

from backend.auth.tokens import Principal
from backend.cases import deadline as clock
from backend.cases.deadline import DeadlineEffect, Effect, Extension
from backend.cases.workflow import GuardInput, Holding, Transition, Verdict, Workflow
from backend.clock import to_storage
from backend.context import Context
from backend.errors import ActionForbidden, Forbidden, InvalidTransition, VersionConflict
from backend.events import OUTBOX_FIELD, DomainEvent, Recipient, Todo, doc_with_events, new_event, with_event
from backend.store.documents import apply_update
from backend.store.interface import Document

SYSTEM_ACTOR = "system"
# Who a job acts as: a principal with the ``system`` role only, which no account holds and no
# permission is granted to, so it may take just the transitions that list it among their roles.
SYSTEM = Principal(user_id=SYSTEM_ACTOR, audience="staff", roles=(SYSTEM_ACTOR,), department=None, family="",
                   jti="", issued_at=0.0, expires_at=float("inf"))
QUIET_VERSION = "quiet_version"  # counts the writes that keep ``version`` (see the module docstring)
_NOT_PREVIEWED = frozenset({"history", OUTBOX_FIELD})


async def create_case(ctx: Context, workflow: Workflow, fields: Mapping[str, Any], *, actor: Principal,
                      case_id: str, comment: str | None = None, data: Mapping[str, Any] | None = None,
                      history: Mapping[str, Any] | None = None) -> Document:
    """Insert a new case in the workflow's initial state. A DuplicateKey (the id was reserved by
    an Idempotency-Key and stored by an earlier attempt) propagates to the caller."""
    (doc,) = await create_cases(ctx, workflow, [(case_id, fields)], actor=actor, comment=comment, data=data,
                                history=history)
    return doc


async def create_cases(ctx: Context, workflow: Workflow, cases: Iterable[tuple[str, Mapping[str, Any]]], *,
                       actor: Principal, comment: str | None = None, data: Mapping[str, Any] | None = None,
                       history: Mapping[str, Any] | None = None) -> list[Document]:
    """Several new cases in one write (one transaction on SQLite): e.g. a notice's receipt for
    each of its 2,000 readers. Each is exactly what ``create_case`` would have written."""
    start = workflow.create
    if not start.roles & set(actor.roles):
        raise ActionForbidden()
    now = ctx.clock.now()
    stored = to_storage(now)
    docs, written = [], []
    for case_id, fields in cases:
        doc: Document = {"_id": case_id, **fields, "state": start.state, "version": 1, "created_at": stored,
                         "updated_at": stored}
        if start.deadline is not None:
            doc["deadline"] = _deadline_after(ctx, workflow, doc, start.deadline, None, now)
        doc["todo"] = _todo_items(workflow.holders_after(None, start.state), doc)
        doc["history"] = [_entry(actor, start.roles, start.action, None, start.state, comment, stored, history,
                                 None)]
        event = _event(ctx, workflow, doc, start.event, actor, start.notify(doc), data, stored)
        docs.append(doc)
        written.append(doc_with_events(doc, event))
    if not written:
        return []
    collection = ctx.store.collection(workflow.collection)
    if len(written) == 1:
        await collection.insert_one(written[0])
    else:
        await collection.insert_many(written)
    ctx.relay.wake(workflow.collection)
    return docs


async def apply(ctx: Context, workflow: Workflow, doc: Document, action: str, *, actor: Principal,
                outcome: str = "", comment: str | None = None, changes: Mapping[str, Mapping[str, Any]] | None = None,
                data: Mapping[str, Any] | None = None, recipients: Iterable[Recipient] = (),
                expected_version: int | None = None, history: Mapping[str, Any] | None = None,
                extension: Extension | None = None, events: Iterable[DomainEvent] = (),
                now: datetime | None = None) -> Document:
    """Apply ``action`` (with the declared ``outcome``) to ``doc`` as last read; return the
    document after it. ``changes`` are the action's own fields (an update document), ``data`` and
    ``recipients`` add to the declared event, ``events`` are further events written with it.
    ``now`` is the instant of the change when the caller computed something from it too."""
    now = now or ctx.clock.now()
    item, verdict = await authorize(ctx, workflow, doc, action, actor=actor, now=now)
    if expected_version is not None and expected_version != doc["version"]:
        raise VersionConflict(details={"current_version": doc["version"]})
    branch = item.branch(outcome)
    target = branch.target or doc["state"]
    stored = to_storage(now)
    change: dict[str, dict[str, Any]] = {op: dict(fields) for op, fields in (changes or {}).items()}
    sets = change.setdefault("$set", {})
    sets.update(state=target, updated_at=stored)
    preview = {k: copy.deepcopy(v) for k, v in doc.items() if k not in _NOT_PREVIEWED}
    apply_update(preview, change)
    if branch.deadline is not None:  # from the preview: a new clock's unit may be set by this very change
        sets["deadline"] = preview["deadline"] = _deadline_after(ctx, workflow, preview, branch.deadline,
                                                                 extension, now)
    sets["todo"] = preview["todo"] = _todo_items(workflow.holders_after(item, target), preview)
    # A quiet write must not hide a change of what the holders are to do: the to-do projection
    # takes only a newer version, and the holders should re-read the case.
    quiet = item.keeps_version and preview["todo"] == doc.get("todo")
    preview["version"] = doc["version"] if quiet else doc["version"] + 1
    change.setdefault("$inc", {})[QUIET_VERSION if quiet else "version"] = 1
    change.setdefault("$push", {})["history"] = _entry(actor, item.roles, action, doc["state"], target, comment,
                                                        stored, history, verdict.on_behalf_of)
    written = list(events)
    event_type = item.event_for(outcome)
    if event_type:
        told = (*item.notify_for(outcome)(preview), *recipients)
        written.insert(0, _event(ctx, workflow, preview, event_type, actor, told, data, stored))
    if written:
        change = with_event(change, *written)
    expected = {"_id": doc["_id"], "state": doc["state"], "version": doc["version"]}
    if quiet:
        expected[QUIET_VERSION] = doc.get(QUIET_VERSION)
    after = await ctx.store.collection(workflow.collection).find_one_and_update(expected, change)
    if after is None:
        raise VersionConflict()
    if written:
        ctx.relay.wake(workflow.collection)
    return after


async def authorize(ctx: Context, workflow: Workflow, doc: Document, action: str, *, actor: Principal,
                    now: datetime | None = None) -> tuple[Transition, Verdict]:
    """Raise what ``apply`` would refuse with (the state, the roles, the guard), writing nothing:
    for a use case that must do other work (make copies, call WeChat) only if the action is allowed."""
    item = workflow.find(doc["state"], action)
    if item is None:
        raise InvalidTransition(details={"state": doc["state"], "action": action})
    if not item.roles & set(actor.roles):
        raise ActionForbidden(details={"action": action})
    verdict = await judge(ctx, item, doc, actor, now or ctx.clock.now())
    if not verdict.allowed:
        raise (verdict.error or Forbidden)()
    return item, verdict


async def judge(ctx: Context, item: Transition, doc: Document, actor: Principal, now: datetime) -> Verdict:
    if item.guard is None:
        return Verdict(True)
    return await item.guard.judge(GuardInput(ctx, doc, actor, now))


async def available_actions(ctx: Context, workflow: Workflow, doc: Document, actor: Principal) -> list[str]:
    """What ``actor`` may do to ``doc`` now: roles and guards both allow it."""
    now = ctx.clock.now()
    allowed = []
    for action in workflow.actions(doc["state"], actor.roles):
        item = workflow.find(doc["state"], action)
        if item is not None and (await judge(ctx, item, doc, actor, now)).allowed:
            allowed.append(action)
    return allowed


async def mark_level(ctx: Context, workflow: Workflow, doc: Document, level: str) -> bool:
    """Record a worse warning level and emit the workflow's warning event, leaving ``version``
    alone. False if the case or its clock changed since it was read (the next run looks again)."""
    deadline = doc["deadline"]
    stored = ctx.clock.stored()
    change: dict[str, Any] = {
        "$set": {"deadline.level": level},
        "$push": {"history": {"at": stored, "by": SYSTEM_ACTOR, "role": SYSTEM_ACTOR, "action": "warn",
                              "from": doc["state"], "to": doc["state"], "comment": _WARNING_TEXT[level],
                              "level": level}},
    }
    if workflow.warning:
        data = {"level": level, "level_label": _WARNING_LABELS[level], "level_text": _WARNING_TEXT[level],
                "due_at": deadline["due_at"]}
        event = _event(ctx, workflow, doc, workflow.warning, None, workflow.warning_notify(doc), data, stored)
        change = with_event(change, event)
    written = await ctx.store.collection(workflow.collection).update_one(
        {"_id": doc["_id"], "version": doc["version"], "deadline.level": deadline["level"],
         "deadline.due_at": deadline["due_at"]}, change)
    if written and workflow.warning:
        ctx.relay.wake(workflow.collection)
    return written


_WARNING_LABELS = {"yellow": "即将到期预警", "red": "今日到期预警", "overdue": "超期预警"}
_WARNING_TEXT = {"yellow": "即将到期", "red": "今日到期", "overdue": "已超期"}


def todo_of(workflow: Workflow, doc: Document) -> Todo:
    """The case's to-do as the projection stores it."""
    deadline = doc.get("deadline") or {}
    return Todo(module=workflow.module, version=doc["version"], state=doc["state"], title=workflow.title(doc),
                due_at=deadline.get("due_at") if deadline.get("running") else None,
                items=tuple((item["actor"], item["label"], item.get("kind", "handle")) for item in doc.get("todo", [])))


def _todo_items(holdings: tuple[Holding, ...], doc: Document) -> list[dict[str, str]]:
    items: dict[str, Holding] = {}
    for holding in holdings:
        for recipient in holding.party(doc):
            items.setdefault(recipient.key, holding)
    return [{"actor": actor, "label": held.label, "kind": held.kind} for actor, held in items.items()]


def _deadline_after(ctx: Context, workflow: Workflow, doc: Document, effect: DeadlineEffect,
                    extension: Extension | None, now: datetime) -> dict[str, Any] | None:
    current = doc.get("deadline")
    if effect.effect is Effect.START:
        policy = workflow.policy(effect.policy)
        assert policy is not None  # checked when the workflow was declared
        return clock.started(policy, ctx.settings, doc, now)
    if not current:
        return current
    policy = workflow.policy(current["policy"])
    if policy is None:
        raise ValueError(f"{workflow.name}: the stored clock {current['policy']} is no longer declared")
    if effect.effect is Effect.RESTART:
        return clock.started(policy, ctx.settings, doc, now)
    if effect.effect is Effect.PAUSE:
        return clock.paused(current, now)
    if effect.effect is Effect.RESUME:
        return clock.resumed(current, policy, now)
    if effect.effect is Effect.EXTEND:
        if extension is None:
            raise ValueError(f"{workflow.name}: an extension needs its days and reason")
        return clock.extended(current, policy, extension, now)
    return clock.stopped(current, now)


def _entry(actor: Principal, roles: frozenset[str], action: str, source: str | None, target: str,
           comment: str | None, at: str, extra: Mapping[str, Any] | None, on_behalf_of: str | None) -> dict[str, Any]:
    role = next((r for r in actor.roles if r in roles), actor.roles[0] if actor.roles else "")
    entry = {"at": at, "by": actor.user_id, "role": role, "action": action, "from": source, "to": target,
             "comment": comment, **(extra or {})}
    if on_behalf_of and on_behalf_of != actor.user_id:
        entry["on_behalf_of"] = on_behalf_of
    return entry


def _event(ctx: Context, workflow: Workflow, doc: Document, event_type: str, actor: Principal | None,
           recipients: Iterable[Recipient], data: Mapping[str, Any] | None, at: str) -> DomainEvent:
    return new_event(event_type, collection=workflow.collection, subject_id=doc["_id"],
                     actor=actor.user_id if actor else None, recipients=tuple(dict.fromkeys(recipients)),
                     data={**workflow.event_data(doc), **(data or {})}, todo=todo_of(workflow, doc), at=at)
