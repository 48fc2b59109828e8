"""State transitions: one declared table per stateful object, one way to apply a transition.

A transition is one atomic compare-and-set on (``_id``, ``state``, ``version``) that also bumps
``version``, appends the history entry (who, when, what, comment) and the outbox events. Of two
concurrent actors exactly one wins; the other gets 409 and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from backend.auth.tokens import Principal
from backend.clock import now_stored
from backend.errors import Forbidden, InvalidTransition, VersionConflict
from backend.events import with_event
from backend.store.interface import Collection


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str | None  # None: the state stays as it is (e.g. a comment, an extension request)
    roles: frozenset[str]


def transition(action: str, sources: Iterable[str] | str, target: str | None, roles: Iterable[str]) -> Transition:
    return Transition(action, frozenset([sources] if isinstance(sources, str) else sources), target, frozenset(roles))


class Workflow:
    """A transition table. ``(state, action)`` pairs are unique."""

    def __init__(self, name: str, states: Iterable[str], transitions: Iterable[Transition]) -> None:
        self.name = name
        self.states = frozenset(states)
        self._table: dict[tuple[str, str], Transition] = {}
        for item in transitions:
            for source in item.sources:
                if source not in self.states or (item.target and item.target not in self.states):
                    raise ValueError(f"{name}: unknown state in {item}")
                if (source, item.action) in self._table:
                    raise ValueError(f"{name}: {item.action} declared twice from {source}")
                self._table[(source, item.action)] = item

    @property
    def transitions(self) -> list[tuple[str, Transition]]:
        return [(source, item) for (source, _action), item in self._table.items()]

    def find(self, state: str, action: str) -> Transition | None:
        return self._table.get((state, action))

    def actions(self, state: str, roles: Iterable[str]) -> list[str]:
        held = set(roles)
        return sorted(action for (source, action), item in self._table.items()
                      if source == state and held & item.roles)


async def apply_transition(collection: Collection, doc: dict[str, Any], *, workflow: Workflow, action: str,
                           actor: Principal, comment: str | None = None, set_fields: dict[str, Any] | None = None,
                           update: dict[str, Any] | None = None, events: Iterable[dict[str, Any]] = (),
                           expected_version: int | None = None, history: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply ``action`` to ``doc`` (as last read) for ``actor``; return the document after it.

    ``set_fields``/``update`` carry the action's own changes; ``history`` extra fields for the
    history entry. Raises InvalidTransition (409) when the state does not allow the action,
    Forbidden when the actor's roles do not, VersionConflict when the document changed since
    it was read (or ``expected_version`` from If-Match is stale).
    """
    item = workflow.find(doc["state"], action)
    if item is None:
        raise InvalidTransition(details={"state": doc["state"], "action": action})
    if not item.roles & set(actor.roles):
        raise Forbidden()
    if expected_version is not None and expected_version != doc["version"]:
        raise VersionConflict(details={"current_version": doc["version"]})
    now = now_stored()
    target = item.target or doc["state"]
    entry = {"at": now, "by": actor.user_id, "role": _acting_role(actor, item), "action": action,
             "from": doc["state"], "to": target, "comment": comment, **(history or {})}
    change: dict[str, Any] = {op: dict(fields) for op, fields in (update or {}).items()}
    change.setdefault("$set", {}).update({**(set_fields or {}), "state": target, "updated_at": now})
    change.setdefault("$inc", {})["version"] = 1
    change.setdefault("$push", {})["history"] = entry
    events = list(events)
    if events:
        change = with_event(change, *events)
    after = await collection.find_one_and_update(
        {"_id": doc["_id"], "state": doc["state"], "version": doc["version"]}, change)
    if after is None:
        raise VersionConflict()
    return after


def _acting_role(actor: Principal, item: Transition) -> str:
    return next((role for role in actor.roles if role in item.roles), actor.roles[0] if actor.roles else "")
