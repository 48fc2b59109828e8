"""Module declarations: what a module is, said once, in its package's ``__init__.py``.

Every module exposes ``MODULE = Module(...)``: its collections (indexes, and whether documents
carry an outbox), its case workflows, periodic jobs and background workers, its notification
rules, and extra event types it emits outside its workflows. ``backend/modules.py`` lists the
modules; the app (indexes, jobs, route lists of both faces), the outbox relay, push, supervision,
to-dos and the tests all read that list, so adding a module edits nothing else.

The faces find a module's routes by name: ``handlers/<name>.py`` and ``miniprogram_api/<name>.py``
each expose ``ROUTES`` when the module has that face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Literal, Mapping

if TYPE_CHECKING:
    from backend.cases.workflow import Workflow
    from backend.context import Context
    from backend.notifications.rules import NotificationRules
    from backend.personal_data import SealedField


@dataclass(frozen=True)
class Index:
    keys: tuple[tuple[str, Literal[1, -1]], ...]
    unique: bool = False
    sparse: bool = False


def index(*keys: tuple[str, Literal[1, -1]] | str, unique: bool = False, sparse: bool = False) -> Index:
    """``index("citizen_id", ("_id", -1))``: a bare name is ascending."""
    return Index(tuple((k, 1) if isinstance(k, str) else k for k in keys), unique, sparse)


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    indexes: tuple[Index, ...] = ()
    outbox: bool = False  # its documents carry domain events: the relay must read it


def collection(name: str, *indexes: Index, outbox: bool = False) -> CollectionSpec:
    return CollectionSpec(name, tuple(indexes), outbox)


@dataclass(frozen=True)
class Job:
    """A periodic job: ``run(ctx)`` every ``every`` seconds, in every serving process (jobs must
    be safe to run concurrently: each write is a compare-and-set)."""

    name: str
    every: float
    run: Callable[["Context"], Awaitable[Any]]


@dataclass(frozen=True)
class Worker:
    """A long-running background task (a stream consumer), started with the app's context."""

    name: str
    run: Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Module:
    name: str
    label: str
    collections: tuple[CollectionSpec, ...] = ()
    workflows: tuple["Workflow", ...] = ()
    jobs: tuple[Job, ...] = ()
    workers: tuple[Worker, ...] = ()
    notifications: "NotificationRules | None" = None
    events: frozenset[str] = frozenset()  # types emitted outside the workflows' declarations
    sealed: tuple["SealedField", ...] = ()  # fields holding sealed personal data: indexed, re-sealed at start
    grants: Mapping[str, frozenset[str]] = field(default_factory=dict)  # role → the module's permissions it holds
    setup: Callable[["Context"], Awaitable[None]] | None = None  # anything indexes cannot say
    extra: Mapping[str, Any] = field(default_factory=dict)

    def event_types(self) -> set[str]:
        found = set(self.events)
        for workflow in self.workflows:
            found |= workflow.event_types()
        return found

    def outbox_collections(self) -> list[str]:
        return [spec.name for spec in self.collections if spec.outbox]


def workflows_of(modules: Iterable[Module]) -> list["Workflow"]:
    return [workflow for module in modules for workflow in module.workflows]
