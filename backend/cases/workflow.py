"""Workflow declarations: a case kind's states and its transition table.

A transition declares everything about one action: the states it starts from, the roles that
may take it, a guard for what roles cannot say (the lead department, the writer, the current
signer), and for each outcome the target state and its effect on the deadline, plus the event
it emits and whom that event tells. Who holds the case afterwards comes from the target state's
declared holders (or the transition's own). The engine (``engine.py``) applies a transition;
nothing else writes a case, so nothing can skip a guard or a history entry.

Most transitions have one outcome. Some have several that the use case chooses between after
doing the domain work — an approval is ``pending`` (others must still sign) or ``completed``;
a rating reopens the case or closes it — and each outcome is declared, so the table still says
every state a case can reach and how.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Mapping

from backend.auth.tokens import Principal
from backend.cases.deadline import DeadlineEffect, DeadlinePolicy, Effect
from backend.cases.delegation import acting_for
from backend.cases.parties import NOBODY, Party
from backend.errors import Forbidden, ServiceError
from backend.store.interface import Document

if TYPE_CHECKING:
    from backend.context import Context

STAY = None  # a transition's target when the state does not change (a comment, an extension request)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    on_behalf_of: str | None = None  # set when the actor acts as someone's deputy
    error: type[ServiceError] | None = None  # what to raise instead of the guard's own error


@dataclass(frozen=True)
class GuardInput:
    ctx: "Context"
    doc: Document
    actor: Principal
    now: datetime


@dataclass(frozen=True)
class Guard:
    """A rule on the actor and the case beyond roles. Refusal raises ``error`` (403 by default:
    the actor may see the case but not do this to it)."""

    name: str
    check: Callable[[GuardInput], Awaitable[Verdict]]
    error: type[ServiceError] = Forbidden

    async def judge(self, given: GuardInput) -> Verdict:
        verdict = await self.check(given)
        return verdict if verdict.allowed or verdict.error else Verdict(False, error=self.error)

    def __and__(self, other: "Guard") -> "Guard":
        async def both(given: GuardInput) -> Verdict:
            first = await self.judge(given)
            if not first.allowed:
                return first
            second = await other.judge(given)
            return Verdict(second.allowed, second.on_behalf_of or first.on_behalf_of, second.error)

        return Guard(f"{self.name}&{other.name}", both, self.error)

    def __or__(self, other: "Guard") -> "Guard":
        async def either(given: GuardInput) -> Verdict:
            first = await self.judge(given)
            return first if first.allowed else await other.judge(given)

        return Guard(f"{self.name}|{other.name}", either, other.error)


def person_or_deputy(party: Party, error: type[ServiceError] = Forbidden) -> Guard:
    """The actor is one of the people of ``party``, or the deputy of one during a delegation
    (the verdict names whom they act for, so the history reads "X 代 Y")."""
    async def check(given: GuardInput) -> Verdict:
        people = [recipient.value for recipient in party(given.doc) if recipient.kind == "user"]
        whom = await acting_for(given.ctx.store, given.actor.user_id, people, given.now)
        return Verdict(whom is not None, on_behalf_of=whom)

    return Guard(party.name, check, error)


def member_of(party: Party, error: type[ServiceError] = Forbidden) -> Guard:
    """The actor is one of ``party`` (e.g. staff of the lead department, the letter's writer)."""
    async def check(given: GuardInput) -> Verdict:
        return Verdict(party.includes(given.actor, given.doc))

    return Guard(party.name, check, error)


@dataclass(frozen=True)
class Holding:
    """Who holds the case in a state, and what their to-do says: ``label`` for people, ``kind``
    (approve, sign_for, read, report, handle …) for the app's badge counts."""

    party: Party
    label: str
    kind: str = "handle"


def hold(party: Party, label: str, kind: str = "handle") -> Holding:
    return Holding(party, label, kind)


@dataclass(frozen=True)
class Branch:
    target: str | None = STAY
    deadline: DeadlineEffect | None = None
    event: str | None = None  # instead of the transition's event
    notify: Party | None = None  # instead of the transition's recipients


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    roles: frozenset[str]
    branches: Mapping[str, Branch]
    guard: Guard | None = None
    event: str | None = None
    notify: Party = NOBODY
    holders: tuple[Holding, ...] | None = None  # None: the target state's declared holders
    # A notice that changes nothing anyone acts on (a reminder): history and event, and no version
    # bump while the holders' to-dos stay as they were, so that their If-Match stays valid. It
    # stays in its state and leaves the clock alone.
    keeps_version: bool = False

    def branch(self, outcome: str) -> Branch:
        try:
            return self.branches[outcome]
        except KeyError:
            raise ValueError(f"{self.action}: undeclared outcome {outcome!r}") from None

    def event_for(self, outcome: str) -> str | None:
        return self.branch(outcome).event or self.event

    def notify_for(self, outcome: str) -> Party:
        return self.branch(outcome).notify or self.notify


def transition(action: str, sources: Iterable[str] | str, target: str | None = STAY, *, roles: Iterable[str],
               guard: Guard | None = None, deadline: DeadlineEffect | None = None, event: str | None = None,
               notify: Party = NOBODY, holders: Iterable[Holding] | None = None,
               branches: Mapping[str, Branch] | None = None, keeps_version: bool = False) -> Transition:
    """One row of the table. Give ``target``/``deadline`` for a single outcome, or ``branches``
    (outcome name → ``Branch``) when the use case decides between declared outcomes."""
    if branches is not None and (target is not STAY or deadline is not None):
        raise ValueError(f"{action}: give either target/deadline or branches")
    declared = dict(branches or {"": Branch(target, deadline)})
    if keeps_version and any(b.target is not STAY or b.deadline is not None for b in declared.values()):
        raise ValueError(f"{action}: a transition that keeps the version stays in its state and clock")
    return Transition(
        action=action, sources=frozenset([sources] if isinstance(sources, str) else sources),
        roles=frozenset(str(r) for r in roles), branches=declared,
        guard=guard, event=event, notify=notify, holders=tuple(holders) if holders is not None else None,
        keeps_version=keeps_version)


@dataclass(frozen=True)
class Creation:
    """How a case comes to be: the first history entry, state, clock and event."""

    action: str
    state: str
    roles: frozenset[str]
    event: str
    notify: Party = NOBODY
    deadline: DeadlineEffect | None = None


def creation(action: str, state: str, *, roles: Iterable[str], event: str, notify: Party = NOBODY,
             deadline: DeadlineEffect | None = None) -> Creation:
    return Creation(action, state, frozenset(str(r) for r in roles), event, notify, deadline)


@dataclass
class Workflow:
    """A case kind. ``title`` and ``event_data`` shape what its to-dos and events carry (labels
    included: push never imports a module); ``warning`` is the event the supervision job emits
    when the clock's level worsens, told to ``warning_notify``."""

    name: str
    module: str
    collection: str
    states: Iterable[str]
    create: Creation
    transitions: list[Transition]
    holders: Mapping[str, tuple[Holding, ...]]
    terminal: frozenset[str]
    title: Callable[[Document], str]
    event_data: Callable[[Document], dict[str, Any]]
    policies: tuple[DeadlinePolicy, ...] = ()
    warning: str | None = None
    warning_notify: Party = NOBODY
    _table: dict[tuple[str, str], Transition] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.states = frozenset(str(s) for s in self.states)
        self.terminal = frozenset(str(s) for s in self.terminal)
        policy_names = {policy.name for policy in self.policies}
        if len(policy_names) != len(self.policies):
            raise ValueError(f"{self.name}: two clocks with one name")
        if self.create.state not in self.states:
            raise ValueError(f"{self.name}: unknown initial state {self.create.state}")
        unknown = set(self.holders) - self.states
        if unknown:
            raise ValueError(f"{self.name}: holders for unknown states {sorted(unknown)}")
        effects = [self.create.deadline] if self.create.deadline else []
        for item in self.transitions:
            for source in item.sources:
                if source not in self.states:
                    raise ValueError(f"{self.name}: {item.action} from unknown state {source}")
                if (source, item.action) in self._table:
                    raise ValueError(f"{self.name}: {item.action} declared twice from {source}")
                self._table[(source, item.action)] = item
            for branch in item.branches.values():
                if branch.target is not None and branch.target not in self.states:
                    raise ValueError(f"{self.name}: {item.action} to unknown state {branch.target}")
                if branch.deadline:
                    effects.append(branch.deadline)
        for effect in effects:
            if effect.effect is Effect.START and effect.policy not in policy_names:
                raise ValueError(f"{self.name}: clock {effect.policy} is not declared")

    def find(self, state: str, action: str) -> Transition | None:
        return self._table.get((state, action))

    def policy(self, name: str | None) -> DeadlinePolicy | None:
        return next((policy for policy in self.policies if policy.name == name), None)

    def actions(self, state: str, roles: Iterable[str]) -> list[str]:
        """Actions the roles allow in ``state`` (guards aside)."""
        held = set(roles)
        return sorted(action for (source, action), item in self._table.items() if source == state and held & item.roles)

    def holders_after(self, item: Transition | None, state: str) -> tuple[Holding, ...]:
        if item is not None and item.holders is not None:
            return item.holders
        return self.holders.get(state, ())

    def event_types(self) -> set[str]:
        found = {self.create.event, *(t.event_for(name) for t in self.transitions for name in t.branches)}
        if self.warning:
            found.add(self.warning)
        return {name for name in found if name}

    def exits(self, state: str) -> list[tuple[str, str]]:
        """(action, target) pairs that leave ``state``."""
        return [(item.action, branch.target) for (source, _), item in self._table.items() if source == state
                for branch in item.branches.values() if branch.target not in (None, state)]

    def reachable(self) -> set[str]:
        seen, frontier = {self.create.state}, [self.create.state]
        while frontier:
            for _action, target in self.exits(frontier.pop()):
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        return seen

    def dead_states(self) -> list[str]:
        """Reachable states that are not terminal and that no action leaves, or that nobody
        holds: a case there would wait forever."""
        return sorted(state for state in self.reachable() - self.terminal
                      if not self.exits(state) or not self.holders.get(state))
