"""The kernel alone: a probe workflow (a document under an approval route, with a clock and
lead/co-units) on a real SQLite store, with a context that records what it was asked to relay."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from backend.auth.tokens import Principal
from backend.cases.approvals import CURRENT_SIGNERS, IS_SIGNER
from backend.cases.assignment import CO_UNITS, LEAD_UNIT, OPINIONS_IN, PENDING_CO_UNITS
from backend.cases.deadline import EXTEND, PAUSE, RESTART, RESUME, STOP, DeadlinePolicy, start
from backend.cases.delegation import DELEGATIONS
from backend.cases.parties import role, user_at
from backend.cases.workflow import STAY, Branch, Workflow, creation, hold, member_of, transition
from backend.clock import Clock
from backend.config import load_settings
from backend.context import Context
from backend.events import OUTBOX_FIELD
from backend.store.sqlite import SQLiteStore

PROBES = "probes"
DRAFTER = user_at("drafter", "drafter")
CLERKS = role("staff")
IS_DRAFTER = member_of(DRAFTER)
IS_LEAD = member_of(LEAD_UNIT)
IS_CO = member_of(CO_UNITS)
STAFF = {"staff"}

APPROVAL = DeadlinePolicy("probe.approval", "审批时限", 5, unit=lambda settings, doc: doc.get("unit"))

PROBE = Workflow(
    name="probe", module="probes", collection=PROBES, states=("draft", "in_approval", "approved", "handling",
                                                             "waiting", "done"),
    title=lambda doc: doc["title"], event_data=lambda doc: {"title": doc["title"]},
    policies=(APPROVAL,), terminal=frozenset({"done"}), warning="probe.warned", warning_notify=DRAFTER,
    holders={"draft": (hold(DRAFTER, "修改并提交"),), "in_approval": (hold(CURRENT_SIGNERS, "审批"),),
             "approved": (hold(LEAD_UNIT, "办理"), hold(PENDING_CO_UNITS, "协办意见")),
             "handling": (hold(LEAD_UNIT, "办理"),), "waiting": (hold(DRAFTER, "补充"),)},
    create=creation("create", "draft", roles=STAFF, event="probe.created", notify=DRAFTER),
    transitions=[
        transition("submit", "draft", "in_approval", roles=STAFF, guard=IS_DRAFTER, deadline=start(APPROVAL.name),
                   event="probe.submitted", notify=CURRENT_SIGNERS),
        transition("approve", "in_approval", roles=STAFF, guard=IS_SIGNER, event="probe.approved", branches={
            "pending": Branch(), "advanced": Branch(notify=CURRENT_SIGNERS),
            "completed": Branch("approved", deadline=STOP, notify=DRAFTER)}),
        transition("reject", "in_approval", roles=STAFF, guard=IS_SIGNER, event="probe.rejected", branches={
            "rejected_to_step": Branch(notify=CURRENT_SIGNERS),
            "returned_to_drafter": Branch("draft", deadline=PAUSE, notify=DRAFTER)}),
        transition("resubmit", "draft", "in_approval", roles=STAFF, guard=IS_DRAFTER, deadline=RESUME,
                   event="probe.submitted", notify=CURRENT_SIGNERS),
        transition("change_signers", "in_approval", roles=STAFF, guard=IS_DRAFTER, event="probe.signers_changed",
                   branches={"pending": Branch(), "advanced": Branch(), "completed": Branch("approved", deadline=STOP)}),
        transition("opine", "approved", STAY, roles=STAFF, guard=IS_CO, event="probe.opined", notify=LEAD_UNIT),
        transition("handle", "approved", "handling", roles=STAFF, guard=IS_LEAD & OPINIONS_IN,
                   deadline=start(APPROVAL.name), event="probe.handled"),
        transition("ask", "handling", "waiting", roles=STAFF, guard=IS_LEAD, deadline=PAUSE, event="probe.asked"),
        transition("answer", "waiting", "handling", roles=STAFF, guard=IS_DRAFTER, deadline=RESUME,
                   event="probe.answered"),
        transition("nudge", "handling", STAY, roles=STAFF, event="probe.nudged", notify=LEAD_UNIT, keeps_version=True),
        transition("extend", "handling", STAY, roles=STAFF, guard=IS_LEAD, deadline=EXTEND, event="probe.extended"),
        transition("again", "handling", STAY, roles=STAFF, guard=IS_LEAD, deadline=RESTART, event="probe.again"),
        transition("finish", {"handling"}, "done", roles=STAFF, guard=IS_LEAD, deadline=STOP, event="probe.finished"),
    ],
)


@dataclass
class RecordingRelay:
    wakes: int = 0

    def wake(self, collection: str | None = None) -> None:
        self.wakes += 1


@dataclass
class Kernel:
    ctx: Context
    relay: RecordingRelay
    people: dict[str, Principal] = field(default_factory=dict)

    def person(self, name: str, department: str | None = "qd-office") -> Principal:
        if name not in self.people:
            self.people[name] = Principal(user_id=f"u-{name}", audience="staff", roles=("staff",), department=department,
                                          family="", jti="", issued_at=0.0, expires_at=float("inf"))
        return self.people[name]

    async def stored(self, case_id: str) -> dict[str, Any]:
        doc = await self.ctx.store.collection(PROBES).find_one({"_id": case_id})
        assert doc is not None
        return doc

    async def events(self, case_id: str) -> list[dict[str, Any]]:
        return (await self.stored(case_id)).get(OUTBOX_FIELD, [])


@pytest.fixture
async def kernel(tmp_path: Path) -> AsyncIterator[Kernel]:
    settings = load_settings({"YZT_DATA_DIR": str(tmp_path)})
    store = SQLiteStore(tmp_path / "kernel.sqlite3")
    await store.open()
    await store.collection(DELEGATIONS).create_index([("deputy", 1), ("ends_at", 1)])
    relay = RecordingRelay()
    ctx = Context(settings=settings, store=store, clock=Clock(), search=None, files=None, relay=relay,  # type: ignore[arg-type]  # the kernel uses neither
                  department_names=None, tokens=None, wechat=None, personal_data=None)  # type: ignore[arg-type]
    yield Kernel(ctx, relay)
    await store.close()
