"""The case kernel alone: the one write path, guards, approval routes, delegation, co-units,
the clock across the National Day holiday, warnings and concurrency."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from typing import Any

import pytest

from backend.auth.tokens import Principal
from backend.cases import steps
from backend.cases.approvals import signer_for
from backend.cases.assignment import CoOpinionsPending, assigned, opinion
from backend.cases.deadline import Extension
from backend.cases.delegation import DELEGATIONS
from backend.cases.engine import apply, create_case
from backend.cases.steps import NotASigner, StepSpec
from backend.cases.workflow import GuardInput, transition
from backend.clock import CHINA, to_api, to_storage
from backend.errors import ActionForbidden, Forbidden, InvalidTransition, VersionConflict
from backend.supervision.warnings import warn_due_cases
from tests.cases.conftest import PROBE, PROBES, Kernel


def signer(kernel: Kernel, name: str) -> dict[str, str]:
    return {"user_id": kernel.person(name).user_id, "name": name, "department": "qd-office"}


async def draft(kernel: Kernel, *route: StepSpec, case_id: str = "p1", **fields: Any) -> dict[str, Any]:
    return await create_case(kernel.ctx, PROBE, {"title": "关于加强夜间施工管理的通知", "drafter": "u-drafter",
                                                 "route": steps.new_route(route), **fields},
                             actor=kernel.person("drafter"), case_id=case_id)


async def decide(kernel: Kernel, doc: dict[str, Any], name: str, decision: str = "approve",
                 to_step: str | None = None, opinion_text: str = "同意") -> dict[str, Any]:
    """What an office use case does: fill the actor's slot on the route, then apply the outcome."""
    actor = kernel.person(name)
    now = kernel.ctx.clock.now()
    slot = await signer_for(GuardInput(kernel.ctx, doc, actor, now)) or actor.user_id
    route, outcome = steps.decide(doc["route"], signer=slot, by=actor.user_id, decision=decision,  # type: ignore[arg-type]
                                  opinion=opinion_text, at=to_storage(now), to_step=to_step)
    if outcome == "returned_to_drafter":
        route = steps.restart(route) | {"current": None}
    return await apply(kernel.ctx, PROBE, doc, decision, actor=actor, outcome=outcome, comment=opinion_text,
                       changes={"$set": {"route": route}}, now=now)


async def handled(kernel: Kernel, lead: Principal) -> dict[str, Any]:
    """A probe signed off and taken up by ``lead`` for qd-housing: in ``handling``, its clock running."""
    doc = await draft(kernel, StepSpec("sign", "签发", [signer(kernel, "e")]), assignment=assigned("qd-housing"))
    doc = await apply(kernel.ctx, PROBE, doc, "submit", actor=kernel.person("drafter"))
    doc = await decide(kernel, doc, "e")
    return await apply(kernel.ctx, PROBE, doc, "handle", actor=lead)


def todo_actors(doc: dict[str, Any]) -> list[str]:
    return [item["actor"] for item in doc["todo"]]


async def test_create_writes_the_whole_case_in_one_insert(kernel: Kernel) -> None:
    doc = await draft(kernel, StepSpec("review", "核稿", [signer(kernel, "a")]))
    stored = await kernel.stored("p1")
    assert stored["state"] == "draft" and stored["version"] == 1
    assert [h["action"] for h in stored["history"]] == ["create"]
    assert stored["todo"] == [{"actor": "user:u-drafter", "label": "修改并提交", "kind": "handle"}]
    (event,) = await kernel.events("p1")
    assert event["type"] == "probe.created" and event["recipients"] == [{"kind": "user", "id": "u-drafter"}]
    assert event["todo"]["version"] == 1
    assert event["todo"]["items"] == [{"actor": "user:u-drafter", "label": "修改并提交", "kind": "handle"}]
    assert kernel.relay.wakes == 1 and doc["_id"] == "p1"


async def test_a_guard_refuses_and_nothing_changes(kernel: Kernel) -> None:
    doc = await draft(kernel, StepSpec("review", "核稿", [signer(kernel, "a")]))
    with pytest.raises(Forbidden):
        await apply(kernel.ctx, PROBE, doc, "submit", actor=kernel.person("stranger"))
    with pytest.raises(InvalidTransition):
        await apply(kernel.ctx, PROBE, doc, "finish", actor=kernel.person("drafter"))
    citizen = dataclasses.replace(kernel.person("citizen"), roles=("citizen",))
    with pytest.raises(ActionForbidden):
        await apply(kernel.ctx, PROBE, doc, "submit", actor=citizen)
    stored = await kernel.stored("p1")
    assert stored["version"] == 1 and len(stored["history"]) == 1 and len(await kernel.events("p1")) == 1


async def test_sequential_steps_and_countersign_rules(kernel: Kernel) -> None:
    doc = await draft(kernel,
                      StepSpec("review", "核稿", [signer(kernel, "a")]),
                      StepSpec("countersign", "会签", [signer(kernel, n) for n in ("b", "c", "d")], rule="quorum", quorum=2),
                      StepSpec("sign", "签发", [signer(kernel, n) for n in ("e", "f")], rule="any"))
    doc = await apply(kernel.ctx, PROBE, doc, "submit", actor=kernel.person("drafter"))
    assert doc["state"] == "in_approval" and todo_actors(doc) == ["user:u-a"]
    with pytest.raises(NotASigner):  # not on the active step
        await decide(kernel, doc, "b")
    doc = await decide(kernel, doc, "a")
    assert todo_actors(doc) == ["user:u-b", "user:u-c", "user:u-d"]
    doc = await decide(kernel, doc, "c")
    assert todo_actors(doc) == ["user:u-b", "user:u-d"] and doc["route"]["current"] == 1
    doc = await decide(kernel, doc, "b")  # 2 of 3: the quorum
    assert doc["route"]["current"] == 2 and todo_actors(doc) == ["user:u-e", "user:u-f"]
    doc = await decide(kernel, doc, "f")  # any one signs off
    assert doc["state"] == "approved" and doc["route"]["current"] is None
    assert doc["deadline"]["running"] is False and doc["deadline"]["met"] is True
    assert [o["user_id"] for o in doc["route"]["opinions"]] == ["u-a", "u-c", "u-b", "u-f"]
    assert [h["action"] for h in doc["history"]] == ["create", "submit", "approve", "approve", "approve", "approve"]


async def test_all_rule_add_and_remove_signers_mid_way(kernel: Kernel) -> None:
    doc = await draft(kernel, StepSpec("countersign", "会签", [signer(kernel, "b"), signer(kernel, "c")]),
                      StepSpec("sign", "签发", [signer(kernel, "e")]))
    doc = await apply(kernel.ctx, PROBE, doc, "submit", actor=kernel.person("drafter"))
    doc = await decide(kernel, doc, "b")
    # 加签: one more countersigner while the step is open; 减签 of c then leaves g to sign.
    route = steps.add_signer(doc["route"], "countersign", signer(kernel, "g"))
    doc = await apply(kernel.ctx, PROBE, doc, "change_signers", outcome="pending", actor=kernel.person("drafter"),
                      changes={"$set": {"route": route}})
    assert todo_actors(doc) == ["user:u-c", "user:u-g"]
    with pytest.raises(steps.SignerChangeRefused):  # b has decided: cannot be removed
        steps.remove_signer(doc["route"], "countersign", "u-b")
    route, outcome = steps.remove_signer(doc["route"], "countersign", "u-c")
    assert outcome == "pending"
    doc = await apply(kernel.ctx, PROBE, doc, "change_signers", outcome=outcome, actor=kernel.person("drafter"),
                      changes={"$set": {"route": route}})
    doc = await decide(kernel, doc, "g")
    assert doc["route"]["current"] == 1 and todo_actors(doc) == ["user:u-e"]
    # Removing the last undecided signer completes a step the others approved.
    route = steps.add_signer(doc["route"], "sign", signer(kernel, "h"))
    doc = await apply(kernel.ctx, PROBE, doc, "change_signers", outcome="pending", actor=kernel.person("drafter"),
                      changes={"$set": {"route": route}})
    doc = await decide(kernel, doc, "e")
    assert doc["state"] == "in_approval"  # all: h must sign too
    route, outcome = steps.remove_signer(doc["route"], "sign", "u-h")
    assert outcome == "completed"
    doc = await apply(kernel.ctx, PROBE, doc, "change_signers", outcome=outcome, actor=kernel.person("drafter"),
                      changes={"$set": {"route": route}})
    assert doc["state"] == "approved"


async def test_reject_back_to_a_named_step_and_to_the_drafter(kernel: Kernel) -> None:
    doc = await draft(kernel, StepSpec("review", "核稿", [signer(kernel, "a")]),
                      StepSpec("countersign", "会签", [signer(kernel, "b"), signer(kernel, "c")]),
                      StepSpec("sign", "签发", [signer(kernel, "e")]))
    doc = await apply(kernel.ctx, PROBE, doc, "submit", actor=kernel.person("drafter"))
    doc = await decide(kernel, doc, "a")
    doc = await decide(kernel, doc, "b")
    doc = await decide(kernel, doc, "c", "reject", to_step="review", opinion_text="请核实数据")
    assert doc["state"] == "in_approval" and doc["route"]["current"] == 0 and todo_actors(doc) == ["user:u-a"]
    with pytest.raises(steps.CannotRejectForward):
        steps.decide(doc["route"], signer="u-a", by="u-a", decision="reject", opinion=None, at="x", to_step="sign")
    doc = await decide(kernel, doc, "a")
    assert todo_actors(doc) == ["user:u-b", "user:u-c"]  # the countersign starts again: b signs again
    doc = await decide(kernel, doc, "b", "reject", opinion_text="退回拟稿人修改")
    assert doc["state"] == "draft" and todo_actors(doc) == ["user:u-drafter"]
    assert doc["deadline"]["paused_at"] is not None
    doc = await apply(kernel.ctx, PROBE, doc, "resubmit", actor=kernel.person("drafter"),
                      changes={"$set": {"route": steps.restart(doc["route"])}})
    assert todo_actors(doc) == ["user:u-a"] and doc["deadline"]["paused_at"] is None
    assert [(o["user_id"], o["decision"]) for o in doc["route"]["opinions"]] == [
        ("u-a", "approve"), ("u-b", "approve"), ("u-c", "reject"), ("u-a", "approve"), ("u-b", "reject")]


async def test_a_deputy_signs_for_the_leader_during_the_delegation(kernel: Kernel) -> None:
    leader, deputy = kernel.person("leader"), kernel.person("deputy")
    now = kernel.ctx.clock.now()
    await kernel.ctx.store.collection(DELEGATIONS).insert_one({
        "_id": "d1", "delegator": leader.user_id, "deputy": deputy.user_id, "revoked_at": None,
        "starts_at": to_storage(now.replace(year=now.year - 1)), "ends_at": to_storage(now.replace(year=now.year + 1))})
    doc = await draft(kernel, StepSpec("sign", "签发", [signer(kernel, "leader")]))
    doc = await apply(kernel.ctx, PROBE, doc, "submit", actor=kernel.person("drafter"))
    doc = await decide(kernel, doc, "deputy")
    assert doc["state"] == "approved"
    assert doc["history"][-1]["by"] == deputy.user_id and doc["history"][-1]["on_behalf_of"] == leader.user_id
    assert doc["route"]["opinions"][-1] | {"at": None} == {
        "step": "sign", "step_name": "签发", "user_id": leader.user_id, "by": deputy.user_id, "decision": "approve",
        "opinion": "同意", "at": None, "to_step": None}
    # Once the delegation ends the deputy is no one's signer.
    await kernel.ctx.store.collection(DELEGATIONS).update_one({"_id": "d1"}, {"$set": {"revoked_at": to_storage(now)}})
    doc2 = await draft(kernel, StepSpec("sign", "签发", [signer(kernel, "leader")]), case_id="p2")
    doc2 = await apply(kernel.ctx, PROBE, doc2, "submit", actor=kernel.person("drafter"))
    with pytest.raises(NotASigner):
        await apply(kernel.ctx, PROBE, doc2, "approve", outcome="completed", actor=deputy)


async def test_co_unit_opinions_come_before_the_lead_acts(kernel: Kernel) -> None:
    doc = await draft(kernel, StepSpec("sign", "签发", [signer(kernel, "e")]),
                      assignment=assigned("qd-housing", ["qd-env", "qd-urban"]))
    doc = await apply(kernel.ctx, PROBE, doc, "submit", actor=kernel.person("drafter"))
    doc = await decide(kernel, doc, "e")
    assert todo_actors(doc) == ["department:qd-housing", "department:qd-env", "department:qd-urban"]
    lead, env = kernel.person("lead", "qd-housing"), kernel.person("envclerk", "qd-env")
    with pytest.raises(CoOpinionsPending):
        await apply(kernel.ctx, PROBE, doc, "handle", actor=lead)
    with pytest.raises(Forbidden):  # the lead is not a co-unit
        await apply(kernel.ctx, PROBE, doc, "opine", actor=lead)
    for person, unit in ((env, "qd-env"), (kernel.person("urbanclerk", "qd-urban"), "qd-urban")):
        doc = await apply(kernel.ctx, PROBE, doc, "opine", actor=person, changes={
            "$push": {"assignment.opinions": opinion(unit, person.user_id, "同意", kernel.ctx.clock.stored())}})
    assert todo_actors(doc) == ["department:qd-housing"]
    doc = await apply(kernel.ctx, PROBE, doc, "handle", actor=lead)
    assert doc["state"] == "handling"


async def test_clock_pauses_extends_and_restarts_across_national_day(kernel: Kernel) -> None:
    clock, lead = kernel.ctx.clock, kernel.person("lead", "qd-housing")
    clock.travel(datetime(2026, 9, 29, 10, 0, tzinfo=CHINA))  # Tuesday; 1–7 October is the holiday, 10th a workday
    doc = await draft(kernel, StepSpec("sign", "签发", [signer(kernel, "e")]), assignment=assigned("qd-housing"),
                      unit="qd-housing")
    doc = await apply(kernel.ctx, PROBE, doc, "submit", actor=kernel.person("drafter"))
    doc = await decide(kernel, doc, "e")
    doc = await apply(kernel.ctx, PROBE, doc, "handle", actor=lead)
    # 5 working days: 30 Sep, 8, 9, 10 (Saturday, adjusted) and 12 October.
    assert to_api(doc["deadline"]["due_at"]) == "2026-10-12T23:59:59+08:00" and doc["deadline"]["unit"] == "qd-housing"
    clock.travel(datetime(2026, 9, 30, 9, 0, tzinfo=CHINA))
    doc = await apply(kernel.ctx, PROBE, doc, "ask", actor=lead)
    clock.travel(datetime(2026, 10, 9, 15, 0, tzinfo=CHINA))  # paused over the holiday, 8 and 9 October
    doc = await apply(kernel.ctx, PROBE, doc, "answer", actor=kernel.person("drafter"))
    assert to_api(doc["deadline"]["due_at"]) == "2026-10-14T23:59:59+08:00"
    doc = await apply(kernel.ctx, PROBE, doc, "extend", actor=lead, extension=Extension(3, "需要现场核查", lead.user_id))
    assert to_api(doc["deadline"]["due_at"]) == "2026-10-19T23:59:59+08:00"
    assert [e["days"] for e in doc["deadline"]["extensions"]] == [3]
    clock.travel(datetime(2026, 10, 20, 10, 0, tzinfo=CHINA))
    assert (await warn_due_cases(kernel.ctx, [PROBE])) == 1  # overdue since the 19th
    doc = await apply(kernel.ctx, PROBE, await kernel.stored("p1"), "again", actor=lead)
    assert to_api(doc["deadline"]["due_at"]) == "2026-10-27T23:59:59+08:00" and doc["deadline"]["level"] == "normal"
    clock.travel(datetime(2026, 10, 26, 16, 0, tzinfo=CHINA))
    doc = await apply(kernel.ctx, PROBE, doc, "finish", actor=lead)
    assert doc["deadline"]["running"] is False and doc["deadline"]["met"] is True
    assert 3 < doc["deadline"]["workdays"] < 5  # 20 Oct 10:00 → 26 Oct 16:00 in working days


async def test_warnings_leave_if_match_valid(kernel: Kernel) -> None:
    clock, lead = kernel.ctx.clock, kernel.person("lead", "qd-housing")
    clock.travel(datetime(2026, 11, 2, 9, 0, tzinfo=CHINA))  # Monday
    doc = await handled(kernel, lead)  # due Monday 9 November
    seen = doc["version"]
    levels = []
    for day in (6, 9, 10):  # yellow within 2 working days, red on the day, overdue after
        clock.travel(datetime(2026, 11, day, 9, 0, tzinfo=CHINA))
        assert await warn_due_cases(kernel.ctx, [PROBE]) == 1
        assert await warn_due_cases(kernel.ctx, [PROBE]) == 0  # once per level
        levels.append((await kernel.stored("p1"))["deadline"]["level"])
    assert levels == ["yellow", "red", "overdue"]
    stored = await kernel.stored("p1")
    assert stored["version"] == seen
    warned = [e for e in stored["_outbox"] if e["type"] == "probe.warned"]
    assert [e["data"]["level"] for e in warned] == levels and warned[0]["recipients"] == [{"kind": "user", "id": "u-drafter"}]
    # The clerk's If-Match, read before the warnings, still holds.
    done = await apply(kernel.ctx, PROBE, stored, "finish", actor=lead, expected_version=seen)
    assert done["state"] == "done" and done["deadline"]["met"] is False
    with pytest.raises(VersionConflict):  # and a second clerk with the same read loses
        await apply(kernel.ctx, PROBE, stored, "ask", actor=lead, expected_version=seen)


async def test_a_reminder_leaves_if_match_valid_and_two_reminders_do_not_both_pass(kernel: Kernel) -> None:
    lead, clerk = kernel.person("lead", "qd-housing"), kernel.person("clerk")
    doc = await handled(kernel, lead)
    seen = doc["version"]
    results = await asyncio.gather(apply(kernel.ctx, PROBE, doc, "nudge", actor=clerk, comment="请抓紧办理"),
                                   apply(kernel.ctx, PROBE, doc, "nudge", actor=clerk), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["VersionConflict", "dict"]  # two jobs: one reminder
    stored = await kernel.stored("p1")
    assert stored["version"] == seen and stored["history"][-1]["action"] == "nudge"
    nudged = [e for e in stored["_outbox"] if e["type"] == "probe.nudged"]
    assert len(nudged) == 1 and nudged[0]["recipients"] == [{"kind": "department", "code": "qd-housing"}]
    # The lead's If-Match, read before the reminder, still holds.
    done = await apply(kernel.ctx, PROBE, stored, "finish", actor=lead, expected_version=seen)
    assert done["state"] == "done" and done["version"] == seen + 1


async def test_a_reminder_that_changes_whom_the_case_waits_for_bumps_the_version(kernel: Kernel) -> None:
    lead = kernel.person("lead", "qd-housing")
    doc = await handled(kernel, lead)
    after = await apply(kernel.ctx, PROBE, doc, "nudge", actor=lead, changes={"$set": {"assignment.lead": "qd-env"}})
    assert after["version"] == doc["version"] + 1 and todo_actors(after) == ["department:qd-env"]
    with pytest.raises(ValueError):
        transition("nudge", "handling", "done", roles=["staff"], keeps_version=True)


async def test_two_concurrent_actors_one_wins(kernel: Kernel) -> None:
    lead = kernel.person("lead", "qd-housing")
    doc = await handled(kernel, lead)
    results = await asyncio.gather(apply(kernel.ctx, PROBE, doc, "finish", actor=lead),
                                   apply(kernel.ctx, PROBE, doc, "ask", actor=lead), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["VersionConflict", "dict"]
    stored = await kernel.stored("p1")
    assert stored["version"] == doc["version"] + 1 and len(stored["history"]) == len(doc["history"]) + 1
    assert len(stored["_outbox"]) == len(doc["_outbox"]) + 1


def test_the_probe_table_is_whole() -> None:
    assert PROBE.dead_states() == []
    assert PROBES == PROBE.collection
