"""What each part of the office (documents, notices, supervision tasks) contributes to the
module's declaration in ``backend/office/__init__.py``."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.cases.workflow import Workflow
from backend.notifications.rules import NotificationRules
from backend.registry import CollectionSpec, Job


@dataclass(frozen=True)
class Part:
    collections: tuple[CollectionSpec, ...] = ()
    workflows: tuple[Workflow, ...] = ()
    rules: NotificationRules = field(default_factory=lambda: NotificationRules(rules={}))
    jobs: tuple[Job, ...] = ()
    events: frozenset[str] = frozenset()
