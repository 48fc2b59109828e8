"""The badge counts are never trusted stale: whatever interleaving of projectors and readers, and
after a projector died between its writes and its bump, a read gives the rows' true counts."""

from __future__ import annotations

import asyncio
import random

import pytest

from backend.events import DomainEvent, Subject, Todo
from backend.todos import counts
from backend.todos.counts import TODO_COUNTS, counts_by_key, total
from backend.todos.projection import TODOS, project_events
from tests.conftest import Harness

KEYS = ["department:x", "user:a", "user:b"]


def event(case_id: str, version: int, *items: tuple[str, str]) -> DomainEvent:
    todo = Todo(module="probes", version=version, state=f"s{version}", title="案件", due_at=None,
                items=tuple((actor, "办理", kind) for actor, kind in items))
    return DomainEvent(type="probe.moved", subject=Subject("probes", case_id), actor=None, todo=todo)


async def counts_for(store: object, rows: str, keys: list[str]) -> dict[tuple[str, str], int]:
    return total(key.counts for key in (await counts_by_key(store, rows, keys)).values())  # type: ignore[arg-type]


async def truth(harness: Harness) -> dict[tuple[str, str], int]:
    groups = await harness.ctx.store.collection(TODOS).group_count({"actor": {"$in": KEYS}}, by=["module", "kind"])
    return {(g["key"]["module"], g["key"]["kind"]): g["count"] for g in groups}


async def test_counts_follow_projection_under_interleaved_readers(harness: Harness) -> None:
    rng = random.Random(11)
    events = []
    for n in range(30):
        versions = [[("department:x", "handle")], [("user:a", "confirm"), ("user:b", "handle")], []]
        events += [event(f"c{n}", v, *items) for v, items in enumerate(versions[:rng.randint(1, 3)], start=1)]
    rng.shuffle(events)
    batches = [events[i:i + 5] for i in range(0, len(events), 5)]
    readers = [counts_for(harness.ctx.store, TODOS, KEYS) for _ in range(len(batches))]
    await asyncio.gather(*(project_events(harness.ctx, batch) for batch in batches), *readers)
    expected = await truth(harness)
    assert expected  # the shuffle left some open
    assert await counts_for(harness.ctx.store, TODOS, KEYS) == expected
    cached = await harness.ctx.store.collection(TODO_COUNTS).find({})
    assert all(doc["counted"] == doc["generation"] for doc in cached)  # the next read counts nothing


async def test_a_crash_before_the_bump_is_made_good_by_the_redelivery(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    await project_events(harness.ctx, [event("k1", 1, ("department:x", "handle"))])
    assert await counts_for(harness.ctx.store, TODOS, KEYS) == {("probes", "handle"): 1}  # cached

    moved_on = event("k1", 2, ("user:a", "confirm"))

    async def crash(*args: object) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(counts, "touched", crash)
    with pytest.raises(RuntimeError):
        await project_events(harness.ctx, [moved_on])  # rows moved, counts not told
    monkeypatch.undo()
    await project_events(harness.ctx, [moved_on])  # delivered again: nothing moves, the keys are bumped
    assert await counts_for(harness.ctx.store, TODOS, KEYS) == {("probes", "confirm"): 1} == await truth(harness)
