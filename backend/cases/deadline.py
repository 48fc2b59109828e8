"""The case clock: a deadline in Chinese working days, from one policy per workflow and clock.

A case document carries at most one running clock in its ``deadline`` sub-document::

    {"policy": "letter.handling", "unit": "qd-housing", "days": 15,
     "started_at", "due_at", "paused_at": None, "extensions": [{"days", "reason", "by", "at"}],
     "level": "normal" | "yellow" | "red" | "overdue", "running": True,
     "stopped_at": None, "met": None, "workdays": None}

Transitions declare an effect on it (``Effect``); the engine applies the effect with these pure
functions, so every module's clock pauses, resumes, extends and warns the same way. Levels come
from one place, ``DeadlinePolicy.level``: yellow within ``yellow_within`` working days of the
due time, red within ``red_within`` (0: on the due day itself), overdue after it. A paused clock
keeps its level and is not warned about; its due time moves on by the pause when it resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import lru_cache
from typing import Any, Callable

from backend.clock import CHINA, from_storage, to_storage
from backend.config import Settings
from backend.errors import Conflict
from backend.store.interface import Document
from backend.workdays import add_workdays, extend_for_pause, on_tables_changed, workdays_between

LEVELS = ("normal", "yellow", "red", "overdue")
WARNING_LEVELS = ("yellow", "red", "overdue")


class Effect(StrEnum):
    START = "start"      # a new clock from now (the previous one, if any, is replaced)
    PAUSE = "pause"      # waiting on someone outside (the citizen): time stops counting
    RESUME = "resume"    # the due time moves later by the working days paused
    RESTART = "restart"  # the same policy again from now (e.g. a second round after a bad rating)
    EXTEND = "extend"    # later by the extension's working days, with its reason
    STOP = "stop"        # done: record whether it was met and the working days it took


@dataclass(frozen=True)
class DeadlineEffect:
    effect: Effect
    policy: str | None = None  # START names the clock it starts


def start(policy: str) -> DeadlineEffect:
    return DeadlineEffect(Effect.START, policy)


PAUSE = DeadlineEffect(Effect.PAUSE)
RESUME = DeadlineEffect(Effect.RESUME)
RESTART = DeadlineEffect(Effect.RESTART)
EXTEND = DeadlineEffect(Effect.EXTEND)
STOP = DeadlineEffect(Effect.STOP)


@dataclass(frozen=True)
class Extension:
    days: int
    reason: str
    by: str


# Where a workflow asks for an extension and someone decides on it (the mailbox, supervision tasks).
class ExtensionPending(Conflict):
    code = "extension_pending"
    message = "已有待审批的延期申请"


class NoExtensionPending(Conflict):
    code = "no_extension_pending"
    message = "没有待审批的延期申请"


@dataclass(frozen=True)
class DeadlinePolicy:
    """One clock of a workflow. ``days`` may depend on the settings and the case (a letter's
    type); ``unit`` says which department answers for it (supervision counts it there)."""

    name: str
    label: str
    days: int | Callable[[Settings, Document], int]
    unit: Callable[[Settings, Document], str | None]
    yellow_within: int = 2
    red_within: int = 0

    def days_for(self, settings: Settings, doc: Document) -> int:
        return self.days(settings, doc) if callable(self.days) else self.days

    def level(self, due_at: str, now: datetime) -> str:
        """The traffic light at ``now`` (stored due times compare as strings)."""
        return Moment(now).level(due_at, self)

    def horizon(self, now: datetime) -> str:
        """Deadlines up to this (stored form) are yellow or worse at ``now``."""
        return _horizon(now.astimezone(CHINA).date(), max(self.yellow_within, self.red_within))


@lru_cache(maxsize=64)
def _horizon(today: date, within: int) -> str:
    # The end of the Nth working day after today (Beijing): it depends on the date only, and on
    # the holiday tables, so a newly loaded table forgets the cached ones.
    return to_storage(add_workdays(datetime.combine(today, time(12), tzinfo=CHINA), within))


on_tables_changed(_horizon.cache_clear)


class Moment:
    """One instant, for the levels of many clocks at once (a page of a list): the stored form and
    the Beijing date are computed once, the horizons come from a cache by date."""

    __slots__ = ("stored", "today")

    def __init__(self, now: datetime) -> None:
        self.stored = to_storage(now)
        self.today = now.astimezone(CHINA).date()

    def level(self, due_at: str, policy: DeadlinePolicy) -> str:
        if self.stored > due_at:
            return "overdue"
        if due_at <= _horizon(self.today, policy.red_within):
            return "red"
        if due_at <= _horizon(self.today, policy.yellow_within):
            return "yellow"
        return "normal"

    def display(self, deadline: dict[str, Any] | None, policy: DeadlinePolicy | None) -> str | None:
        """What a list shows: the live level of a running clock, ``paused``, or None (no clock)."""
        if not deadline or not deadline.get("running") or policy is None:
            return None
        if deadline.get("paused_at"):
            return "paused"
        return self.level(deadline["due_at"], policy)


def display_level(deadline: dict[str, Any] | None, policy: DeadlinePolicy | None, now: datetime) -> str | None:
    return Moment(now).display(deadline, policy)


# --- effects: the new ``deadline`` sub-document (None: no clock) ---------------------------

def started(policy: DeadlinePolicy, settings: Settings, doc: Document, now: datetime) -> dict[str, Any]:
    days = policy.days_for(settings, doc)
    due = to_storage(add_workdays(now, days))
    return {"policy": policy.name, "unit": policy.unit(settings, doc), "days": days, "started_at": to_storage(now),
            "due_at": due, "paused_at": None, "extensions": [], "level": policy.level(due, now),
            "running": True, "stopped_at": None, "met": None, "workdays": None}


def paused(deadline: dict[str, Any], now: datetime) -> dict[str, Any]:
    if not deadline.get("running") or deadline.get("paused_at"):
        return deadline
    return {**deadline, "paused_at": to_storage(now)}


def resumed(deadline: dict[str, Any], policy: DeadlinePolicy, now: datetime) -> dict[str, Any]:
    if not deadline.get("running") or not deadline.get("paused_at"):
        return deadline
    due = to_storage(extend_for_pause(from_storage(deadline["due_at"]), from_storage(deadline["paused_at"]), now))
    return {**deadline, "due_at": due, "paused_at": None, "level": policy.level(due, now)}


def extended(deadline: dict[str, Any], policy: DeadlinePolicy, extension: Extension, now: datetime) -> dict[str, Any]:
    if not deadline.get("running"):
        return deadline
    due = to_storage(add_workdays(from_storage(deadline["due_at"]), extension.days))
    record = {"days": extension.days, "reason": extension.reason, "by": extension.by, "at": to_storage(now)}
    return {**deadline, "due_at": due, "extensions": [*deadline.get("extensions", []), record],
            "level": deadline["level"] if deadline.get("paused_at") else policy.level(due, now)}


def stopped(deadline: dict[str, Any], now: datetime) -> dict[str, Any]:
    if not deadline.get("running"):
        return deadline
    moment = deadline.get("paused_at") or to_storage(now)  # a clock stopped while paused stopped at the pause
    return {**deadline, "running": False, "paused_at": None, "stopped_at": to_storage(now),
            "met": moment <= deadline["due_at"],
            "workdays": round(workdays_between(from_storage(deadline["started_at"]), from_storage(moment)), 2)}
