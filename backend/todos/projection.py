"""The to-do projection: one row per (case, actor) that must act, kept from domain events.

Every event the case kernel writes carries the case's to-do as of its version (``event.todo``):
who must act next and what each must do. The projection replaces the case's rows with it.
Delivery is at least once and several processes project concurrently, so each case has a gate
(``todo_cases``: the newest version projected and its actors) moved by compare-and-set: only a
newer version passes, its rows are written with that version, the rows of actors it no longer
names are removed (the gate keeps the actors of the version before as ``was``), and a projector
that finds the gate moved past it afterwards removes every row older than the gate. Then the
counts of every key involved go stale (``counts.touched``). Whatever order the events arrive
in, the rows converge to those of the newest version.

Events are projected a stream batch at a time: the gates of the batch are read at once, only the
newest event of each case counts, and new cases (the common event: a letter written, a notice's
receipts) are written with two bulk inserts instead of one write per row.

Rows are scalar-keyed (``actor``, ``sort_due``) so that a person's list is an index seek per key
they act as (themselves, their department, their roles), merged by due date.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from backend.context import Context
from backend.errors import DuplicateKey
from backend.events import EVENT_STREAM, DomainEvent, Todo
from backend.streams import Entry, StreamConsumer, consumer_name
from backend.todos import counts

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

log = logging.getLogger(__name__)

TODOS = "todos"
TODO_CASES = "todo_cases"
GROUP = "todos"
DEAD_LETTERS = "yzt:todos:dead"
NO_DUE = "9999-12-31T23:59:59.999999Z"  # sorts after every real due time
_RETRIES = 5


def case_key(collection: str, case_id: str) -> str:
    return f"{collection}:{case_id}"


def _rows(key: str, event: DomainEvent, todo: Todo, now: str) -> list[dict[str, Any]]:
    return [{"_id": f"{key}|{actor}", "actor": actor, "case": key, "subject": event.subject.to_json(),
             "module": todo.module, "label": label, "kind": kind, "title": todo.title, "state": todo.state,
             "due_at": todo.due_at, "sort_due": todo.due_at or NO_DUE, "case_version": todo.version,
             "updated_at": now} for actor, label, kind in todo.items]


async def project(ctx: Context, event: DomainEvent) -> bool:
    """Apply the to-do one event carries; False if it was not newer than what is projected."""
    return await project_events(ctx, [event]) == 1


async def project_events(ctx: Context, events: list[DomainEvent]) -> int:
    """Apply the to-dos of a batch of events; returns how many cases moved."""
    newest: dict[str, tuple[DomainEvent, Todo]] = {}
    for event in events:
        todo = event.todo
        if todo is None:
            continue
        key = case_key(event.subject.collection, event.subject.id)
        if key not in newest or newest[key][1].version < todo.version:
            newest[key] = (event, todo)
    if not newest:
        return 0
    gates = ctx.store.collection(TODO_CASES)
    known = {gate["_id"]: gate for gate in await gates.find({"_id": {"$in": sorted(newest)}})}
    # Every key these events name, and every key their gates name now or named before, may have
    # had rows written: even an event that moves nothing (delivered again after a crash that
    # came between the writes and the bump) bumps them.
    touched: set[str] = set()
    for key, (_event, todo) in newest.items():
        touched.update(actor for actor, _label, _kind in todo.items)
        touched.update(known.get(key, {}).get("actors", ()))
        touched.update(known.get(key, {}).get("was", ()))
    fresh = [(key, event, todo) for key, (event, todo) in newest.items() if key not in known]
    moved = await _insert_fresh(ctx, fresh, touched)
    for key, (event, todo) in newest.items():
        if key in known and known[key]["version"] < todo.version:
            moved += await _advance(ctx, key, event, todo, known[key], touched)
    await counts.touched(ctx.store, touched)
    return moved


async def _insert_fresh(ctx: Context, fresh: list[tuple[str, DomainEvent, Todo]], touched: set[str]) -> int:
    """Cases never projected: their gates, then their rows, each in one bulk insert. A gate
    another projector made meanwhile sends every case of the batch the one-by-one way."""
    if not fresh:
        return 0
    now = ctx.clock.stored()
    gate_docs = [{"_id": key, "version": todo.version, "actors": [a for a, _l, _k in todo.items], "was": []}
                 for key, _event, todo in fresh]
    try:
        await ctx.store.collection(TODO_CASES).insert_many(gate_docs)
    except DuplicateKey:  # rolled back as a whole: take each case on its own
        moved = 0
        for key, event, todo in fresh:
            gate = await ctx.store.collection(TODO_CASES).find_one({"_id": key})
            moved += await _advance(ctx, key, event, todo, gate or {"version": 0, "actors": []}, touched)
        return moved
    rows = [row for key, event, todo in fresh for row in _rows(key, event, todo, now)]
    if rows:
        try:
            await ctx.store.collection(TODOS).insert_many(rows)
        except DuplicateKey:  # a newer version of one of them got there first: row by row
            for key, event, todo in fresh:
                await _write_rows(ctx, key, event, todo, now)
    await _settle_many(ctx, {key: todo.version for key, _event, todo in fresh})
    return len(fresh)


async def _advance(ctx: Context, key: str, event: DomainEvent, todo: Todo, gate: dict[str, Any],
                   touched: set[str]) -> int:
    gates = ctx.store.collection(TODO_CASES)
    actors = [actor for actor, _label, _kind in todo.items]
    for _attempt in range(_RETRIES):
        touched.update(gate.get("actors", ()))
        if gate["version"] >= todo.version:
            return 0
        try:
            passed = await gates.find_one_and_update({"_id": key, "version": gate["version"]},
                                                     {"$set": {"version": todo.version, "actors": actors,
                                                               "was": gate.get("actors", [])}},
                                                     upsert=gate["version"] == 0)
        except DuplicateKey:  # made meanwhile by another projector
            passed = None
        if passed is not None:
            break
        gate = await gates.find_one({"_id": key}) or {"version": 0, "actors": []}
    else:
        return 0
    await _write_rows(ctx, key, event, todo, ctx.clock.stored())
    gone = [f"{key}|{actor}" for actor in gate.get("actors", ()) if actor not in actors]
    if gone:
        await ctx.store.collection(TODOS).delete_many({"_id": {"$in": gone}, "case_version": {"$lt": todo.version}})
    await _settle(ctx, key, todo.version)
    return 1


async def _write_rows(ctx: Context, key: str, event: DomainEvent, todo: Todo, now: str) -> None:
    rows = ctx.store.collection(TODOS)
    for row in _rows(key, event, todo, now):
        row_id = row.pop("_id")
        try:
            await rows.update_one({"_id": row_id, "case_version": {"$lt": todo.version}}, {"$set": row}, upsert=True)
        except DuplicateKey:  # a newer version already wrote this row
            pass


async def _settle(ctx: Context, key: str, version: int) -> None:
    await _settle_many(ctx, {key: version})


async def _settle_many(ctx: Context, written: dict[str, int]) -> None:
    """If a newer version passed a gate while these rows were written, they may have landed
    after its clean-up: remove every row of that case older than the gate."""
    gates = await ctx.store.collection(TODO_CASES).find({"_id": {"$in": sorted(written)}}, projection=["version"])
    for gate in gates:
        if gate["version"] > written[gate["_id"]]:
            await ctx.store.collection(TODOS).delete_many({"case": gate["_id"], "case_version": {"$lt": gate["version"]}})


async def project_entries(ctx: Context, entries: list[Entry]) -> None:
    events = []
    for entry_id, fields in entries:
        try:
            events.append(DomainEvent.from_json(orjson.loads(fields[b"event"])))
        except (KeyError, ValueError, orjson.JSONDecodeError):
            log.error("to-dos: unreadable event %s skipped", entry_id)
    await project_events(ctx, events)


class TodoProjector(StreamConsumer):
    """The events consumer of the ``todos`` group; run as an owned task in every serving process."""

    def __init__(self, ctx: "AppContext", *, consumer: str) -> None:
        super().__init__(ctx.redis, EVENT_STREAM, group=GROUP, dead_letters=DEAD_LETTERS, consumer=consumer,
                         batch=200, block_ms=1000, reclaim_interval=30.0, min_idle_ms=60_000, max_deliveries=10,
                         linger=0.05)  # a to-do 50 ms later is still at once for a person
        self.ctx = ctx

    async def handle(self, entries: list[Entry]) -> list[bytes]:
        await project_entries(self.ctx, entries)
        return [entry_id for entry_id, _fields in entries]


async def run_projector(ctx: "AppContext") -> None:
    await TodoProjector(ctx, consumer=consumer_name("todos")).run()
