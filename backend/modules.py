"""The module list: the one place that names every module.

Everything that must know every module reads ``MODULES``: start-up (collections and indexes,
the outbox relay's collections, jobs and workers), both faces' route lists, push (notification
rules and templates), supervision and to-dos (the workflows), and the tests. To add a module,
write its package with a ``MODULE`` declaration (``backend/registry.py``) and add one line here.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from backend import (
    attachments,
    calendar,
    identity,
    mailbox,
    notifications,
    office,
    official_account,
    supervision,
    todos,
)
from backend.cases import delegation
from backend.cases.workflow import Workflow
from backend.jobs import run_every
from backend.notifications.rules import Rule, WeChatTemplate
from backend.personal_data import reseal_on_start
from backend.registry import CollectionSpec, Module, collection, index

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

# The kernel's own collection (read by every workflow's guards; its records carry the office's
# delegation events).
KERNEL = Module(name="cases", label="办件", collections=(
    collection(delegation.DELEGATIONS, index("deputy", "ends_at"), index("delegator", "ends_at"), outbox=True),))

MODULES: tuple[Module, ...] = (
    KERNEL,
    identity.MODULE,
    attachments.MODULE,
    notifications.MODULE,
    official_account.MODULE,
    mailbox.MODULE,
    office.MODULE,
    supervision.MODULE,
    todos.MODULE,
    calendar.MODULE,
)

# Every workflow collection gets these, for the warning job and the supervision overview.
_KERNEL_INDEXES = (index("deadline.running", "deadline.due_at"), index("deadline.stopped_at"),
                   index("deadline.unit"))


def module(name: str) -> Module:
    return next(m for m in MODULES if m.name == name)


def all_workflows() -> list[Workflow]:
    return [workflow for m in MODULES for workflow in m.workflows]


def workflow_labels() -> list[tuple[Workflow, str]]:
    return [(workflow, m.label) for m in MODULES for workflow in m.workflows]


def module_labels() -> dict[str, str]:
    return {m.name: m.label for m in MODULES}


def collections() -> list[CollectionSpec]:
    specs = [spec for m in MODULES for spec in m.collections]
    declared = {spec.name for spec in specs}
    for workflow in all_workflows():
        if workflow.collection not in declared:
            raise RuntimeError(f"workflow {workflow.name}: collection {workflow.collection} is not declared")
    return specs


def outbox_collections() -> list[str]:
    """Collections whose documents carry domain events: every workflow's, and those declared so."""
    names = [spec.name for spec in collections() if spec.outbox]
    names += [w.collection for w in all_workflows() if w.collection not in names]
    return names


@cache
def _rules() -> dict[str, Rule]:
    found: dict[str, Rule] = {}
    for m in MODULES:
        if m.notifications is not None:
            for event_type, rule in m.notifications.rules.items():
                if event_type in found:
                    raise RuntimeError(f"two rules for {event_type}")
                found[str(event_type)] = rule
    return found


def notification_rule(event_type: str) -> Rule | None:
    return _rules().get(event_type)


def silent_events() -> set[str]:
    return {str(e) for m in MODULES if m.notifications is not None for e in m.notifications.silent}


def declared_events() -> set[str]:
    return {str(e) for m in MODULES for e in m.event_types()}


@cache
def subscribe_templates() -> dict[str, WeChatTemplate]:
    return {t.key: t for m in MODULES if m.notifications for t in m.notifications.subscribe_templates}


@cache
def oa_templates() -> dict[str, WeChatTemplate]:
    return {t.key: t for m in MODULES if m.notifications for t in m.notifications.oa_templates}


async def register_modules(ctx: "AppContext") -> None:
    """Indexes of every declared collection; the relay reads every outbox collection."""
    kernel_indexed = {w.collection for w in all_workflows()}
    for spec in collections():
        target = ctx.store.collection(spec.name)
        indexes = (*spec.indexes, *(_KERNEL_INDEXES if spec.name in kernel_indexed else ()))
        for item in indexes:
            await target.create_index(list(item.keys), unique=item.unique, sparse=item.sparse)
    for name in outbox_collections():
        ctx.relay.register(name)
    for m in MODULES:
        if m.setup is not None:
            await m.setup(ctx)
    await reseal_on_start(ctx.store, ctx.personal_data, [field for m in MODULES for field in m.sealed])


def start_background(ctx: "AppContext") -> None:
    """Every module's periodic jobs and workers, owned by ``ctx``."""
    for m in MODULES:
        for job in m.jobs:
            ctx.spawn(run_every(job.every, _bound(job.run, ctx), job.name), name=job.name)
        for worker in m.workers:
            ctx.spawn(worker.run(ctx), name=worker.name)


def _bound(run: Any, ctx: "AppContext") -> Any:
    return lambda: run(ctx)
