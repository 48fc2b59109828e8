"""The to-do projection: one row per (case, actor) that must act, kept from domain events.

Every event the case kernel writes carries the case's to-do as of its version (``event.todo``):
who must act next and what each must do. The projection replaces the case's rows with it.
Delivery is at least once and several processes project concurrently, so the rows of a case
are gated by its version: a per-case gate (``todo_cases``) admits only newer versions, rows are
written with the version that wrote them, and finally every row older than the gate is removed.
Whatever order the events arrive in, the rows converge to those of the newest version.

Rows are scalar-keyed (``actor``, ``sort_due``) so that a person's list is an index seek per key
they act as (themselves, their department, their roles), merged by due date.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import orjson

from backend.context import Context
from backend.errors import DuplicateKey
from backend.events import EVENT_STREAM, DomainEvent
from backend.streams import Entry, StreamConsumer, consumer_name

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

log = logging.getLogger(__name__)

TODOS = "todos"
TODO_CASES = "todo_cases"
GROUP = "todos"
DEAD_LETTERS = "yzt:todos:dead"
NO_DUE = "9999-12-31T23:59:59.999999Z"  # sorts after every real due time


def case_key(collection: str, case_id: str) -> str:
    return f"{collection}:{case_id}"


async def project(ctx: Context, event: DomainEvent) -> bool:
    """Apply the to-do an event carries; False if a newer version was already projected."""
    todo = event.todo
    if todo is None:
        return False
    key = case_key(event.subject.collection, event.subject.id)
    gates = ctx.store.collection(TODO_CASES)
    try:
        admitted = await gates.find_one_and_update({"_id": key, "version": {"$lt": todo.version}},
                                                   {"$set": {"version": todo.version}}, upsert=True)
    except DuplicateKey:  # the gate exists with this version or a newer one
        admitted = None
    if admitted is None:
        return False
    rows = ctx.store.collection(TODOS)
    now = ctx.clock.stored()
    for actor, label, kind in todo.items:
        row = {"actor": actor, "case": key, "subject": event.subject.to_json(), "module": todo.module,
               "label": label, "kind": kind, "title": todo.title, "state": todo.state, "due_at": todo.due_at,
               "sort_due": todo.due_at or NO_DUE, "case_version": todo.version, "updated_at": now}
        try:
            await rows.update_one({"_id": f"{key}|{actor}", "case_version": {"$lt": todo.version}}, {"$set": row},
                                  upsert=True)
        except DuplicateKey:  # a newer version already wrote this row
            pass
    gate = await gates.find_one({"_id": key})
    newest = gate["version"] if gate else todo.version
    await rows.delete_many({"case": key, "case_version": {"$lt": newest}})
    return True


async def project_entries(ctx: Context, entries: list[Entry]) -> None:
    for entry_id, fields in entries:
        try:
            event = DomainEvent.from_json(orjson.loads(fields[b"event"]))
        except (KeyError, ValueError, orjson.JSONDecodeError):
            log.error("to-dos: unreadable event %s skipped", entry_id)
            continue
        await project(ctx, event)


class TodoProjector(StreamConsumer):
    """The events consumer of the ``todos`` group; run as an owned task in every serving process."""

    def __init__(self, ctx: "AppContext", *, consumer: str) -> None:
        super().__init__(ctx.redis, EVENT_STREAM, group=GROUP, dead_letters=DEAD_LETTERS, consumer=consumer,
                         batch=100, block_ms=1000, reclaim_interval=30.0, min_idle_ms=60_000, max_deliveries=10)
        self.ctx = ctx

    async def handle(self, entries: list[Entry]) -> list[bytes]:
        await project_entries(self.ctx, entries)
        return [entry_id for entry_id, _fields in entries]


async def run_projector(ctx: "AppContext") -> None:
    await TodoProjector(ctx, consumer=consumer_name("todos")).run()

