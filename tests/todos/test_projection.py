"""The to-do projection converges to the newest version of each case, whatever order the events
arrive in, however often, and however many projectors run at once."""

from __future__ import annotations

import asyncio
import itertools
import random

from backend.events import DomainEvent, Subject, Todo
from backend.todos.projection import TODO_CASES, TODOS, project, project_events
from tests.conftest import Harness


def event(case_id: str, version: int, *actors: str) -> DomainEvent:
    todo = Todo(module="probes", version=version, state=f"s{version}", title="案件", due_at=None,
                items=tuple((actor, f"第{version}步", "handle") for actor in actors))
    return DomainEvent(type="probe.moved", subject=Subject("probes", case_id), actor=None, todo=todo)


HISTORY = [("user:a",), ("department:x", "user:b"), ("user:b",), ("role:r", "user:c"), ()]


async def rows(harness: Harness, case_id: str) -> set[tuple[str, int]]:
    found = await harness.ctx.store.collection(TODOS).find({"case": f"probes:{case_id}"})
    return {(row["actor"], row["case_version"]) for row in found}


async def test_any_order_and_repeats_converge_to_the_newest(harness: Harness) -> None:
    events = [event("c1", version, *actors) for version, actors in enumerate(HISTORY[:4], start=1)]
    for order in list(itertools.permutations(events))[::5]:
        await harness.ctx.store.collection(TODOS).delete_many({})
        await harness.ctx.store.collection(TODO_CASES).delete_many({})
        for item in [*order, *order[:2]]:  # delivered out of order, some twice
            await project(harness.ctx, item)
        assert await rows(harness, "c1") == {("role:r", 4), ("user:c", 4)}


async def test_concurrent_projectors_and_batches_converge(harness: Harness) -> None:
    rng = random.Random(7)
    cases = [f"k{n}" for n in range(12)]
    events = [event(case, version, *actors) for case in cases for version, actors in enumerate(HISTORY, start=1)]
    rng.shuffle(events)
    batches = [events[i:i + 7] for i in range(0, len(events), 7)]
    await asyncio.gather(*(project_events(harness.ctx, batch) for batch in batches),
                         *(project(harness.ctx, e) for e in rng.sample(events, 20)))
    for case in cases:
        assert await rows(harness, case) == set()  # the last version names nobody
    assert {g["version"] for g in await harness.ctx.store.collection(TODO_CASES).find({})} == {len(HISTORY)}


async def test_a_batch_of_new_cases_is_written_in_bulk(harness: Harness) -> None:
    fresh = [event(f"n{n}", 1, f"user:u{n}") for n in range(50)]
    assert await project_events(harness.ctx, fresh) == 50
    assert await harness.ctx.store.collection(TODOS).count({"case": {"$in": [f"probes:n{n}" for n in range(50)]}}) == 50
    assert await project_events(harness.ctx, fresh) == 0  # delivered again: nothing moves
