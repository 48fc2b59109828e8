"""The module list is the one registry: what a module declares is what the app, the relay and
push use, and declarations that cannot work fail here rather than silently in production."""

from __future__ import annotations

import pytest

from backend.cases.parties import role
from backend.cases.workflow import Workflow, creation, hold, transition
from backend.modules import (
    MODULES,
    all_workflows,
    declared_events,
    notification_rule,
    outbox_collections,
    silent_events,
)
from tests.conftest import Harness


def test_every_state_a_case_can_reach_has_a_way_out_for_someone() -> None:
    for workflow in all_workflows():
        assert workflow.dead_states() == [], workflow.name
        for state in workflow.reachable() - workflow.terminal:
            roles = {r for action, _ in workflow.exits(state) for r in workflow.find(state, action).roles}
            assert roles, (workflow.name, state)


def test_a_dead_state_is_found() -> None:
    stuck = Workflow(name="stuck", module="x", collection="x", states=("new", "limbo", "done"),
                     title=lambda d: "", event_data=lambda d: {}, terminal=frozenset({"done"}),
                     holders={"new": (hold(role("staff"), "处理"),)},
                     create=creation("create", "new", roles={"staff"}, event="x.created"),
                     transitions=[transition("park", "new", "limbo", roles={"staff"}, event="x.parked"),
                                  transition("finish", "new", "done", roles={"staff"}, event="x.done")])
    assert stuck.dead_states() == ["limbo"]
    with pytest.raises(ValueError):
        Workflow(name="bad", module="x", collection="x", states=("new",), title=lambda d: "",
                 event_data=lambda d: {}, terminal=frozenset(), holders={},
                 create=creation("create", "new", roles={"staff"}, event="x.created"),
                 transitions=[transition("go", "new", "nowhere", roles={"staff"})])


def test_every_event_type_has_a_rule_or_is_silent() -> None:
    silent = silent_events()
    for event_type in sorted(declared_events()):
        assert notification_rule(event_type) is not None or event_type in silent, f"{event_type}: no rule, not silent"
    for module in MODULES:
        for event_type in (module.notifications.rules if module.notifications else {}):
            assert event_type in declared_events(), f"a rule for {event_type}, which nothing emits"


def test_every_collection_that_carries_events_is_relayed() -> None:
    relayed = set(outbox_collections())
    for workflow in all_workflows():
        assert workflow.collection in relayed, workflow.name
    names = [spec.name for module in MODULES for spec in module.collections]
    assert len(names) == len(set(names)), "a collection declared twice"


async def test_the_running_relay_reads_every_outbox_collection(harness: Harness) -> None:
    assert set(outbox_collections()) <= set(harness.ctx.relay._collections)  # noqa: SLF001 - what it really reads
