"""Domain events, written through an outbox inside the document they describe.

An event is a typed value (``DomainEvent``) that names its recipients (``Recipient``): who is told
is a security decision of the use case (or of the transition that declares it), never of push.
It is added to the same atomic write as the state change (``with_event`` for an update,
``doc_with_events`` for an insert), so a crash can never separate the two. The relay
(``backend/outbox.py``) later moves pending events to the Redis stream ``yzt:events``; delivery
is at least once, so consumers deduplicate by the event's ``id``.

Only the case kernel's write path (``backend/cases/engine.py``) and ``backend/*/use_cases.py`` may
call these (a test enforces it).

Wire form (JSON in the outbox and on the stream)::

    {"id", "type": "<noun>.<past participle>", "occurred_at", "subject": {"collection", "id"},
     "actor", "recipients": [{"kind": "user", "id"} | {"kind": "department", "code"} |
     {"kind": "role", "role"}], "data": {...}, "todo": {...} | null}

``todo`` is the case's to-do after the change (who must act next), for the to-do projection.
``data`` carries every label a message needs, so push never imports a module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from backend.clock import now_stored
from backend.ids import new_id

EVENT_STREAM = "yzt:events"
OUTBOX_FIELD = "_outbox"
PENDING_FIELD = "_outbox_pending"
SEQUENCE_FIELD = "_outbox_seq"  # bumped with every event, so the relay clears the flag only if none arrived since

RecipientKind = Literal["user", "department", "role"]
_VALUE_KEY: dict[str, str] = {"user": "id", "department": "code", "role": "role"}


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone an event is for: a person, the staff of one department (not its subtree), or the
    holders of a role. ``key`` (``user:<id>``, ``department:<code>``, ``role:<role>``) is also how
    to-dos name who must act."""

    kind: RecipientKind
    value: str

    @classmethod
    def user(cls, user_id: str) -> "Recipient":
        return cls("user", user_id)

    @classmethod
    def department(cls, code: str) -> "Recipient":
        return cls("department", code)

    @classmethod
    def role(cls, role: str) -> "Recipient":
        return cls("role", str(role))

    @classmethod
    def from_key(cls, key: str) -> "Recipient":
        kind, _, value = key.partition(":")
        if kind not in _VALUE_KEY or not value:
            raise ValueError(f"not a recipient key: {key!r}")
        return cls(kind, value)  # type: ignore[arg-type]  # checked against _VALUE_KEY above

    @classmethod
    def from_json(cls, raw: Any) -> "Recipient | None":
        """None for an entry this version does not understand (it is skipped, not fatal)."""
        if not isinstance(raw, Mapping):
            return None
        kind = raw.get("kind")
        value = raw.get(_VALUE_KEY.get(str(kind), ""))
        if kind not in _VALUE_KEY or not isinstance(value, str) or not value:
            return None
        return cls(kind, value)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, _VALUE_KEY[self.kind]: self.value}


@dataclass(frozen=True, slots=True)
class Subject:
    collection: str
    id: str

    def to_json(self) -> dict[str, str]:
        return {"collection": self.collection, "id": self.id}


@dataclass(frozen=True, slots=True)
class Todo:
    """Who must act next on a case, as of its ``version``: each item is a recipient key, what that
    one must do (待分办, 补充材料 …) and its kind (approve, read …); no items means nothing waits."""

    module: str
    version: int
    state: str
    title: str
    due_at: str | None
    items: tuple[tuple[str, str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {"module": self.module, "version": self.version, "state": self.state, "title": self.title,
                "due_at": self.due_at, "items": [{"actor": actor, "label": label, "kind": kind}
                                                for actor, label, kind in self.items]}

    @classmethod
    def from_json(cls, raw: Any) -> "Todo | None":
        if not isinstance(raw, Mapping):
            return None
        try:
            items = tuple((str(item["actor"]), str(item["label"]), str(item.get("kind", "handle")))
                          for item in raw["items"])
            return cls(module=str(raw["module"]), version=int(raw["version"]), state=str(raw["state"]),
                       title=str(raw["title"]), due_at=raw.get("due_at"), items=items)
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class DomainEvent:
    type: str
    subject: Subject
    actor: str | None
    recipients: tuple[Recipient, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)
    todo: Todo | None = None
    occurred_at: str = field(default_factory=now_stored)
    id: str = field(default_factory=new_id)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "occurred_at": self.occurred_at, "subject": self.subject.to_json(),
                "actor": self.actor, "recipients": [r.to_json() for r in self.recipients], "data": dict(self.data),
                "todo": self.todo.to_json() if self.todo else None}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> "DomainEvent":
        """Raises ValueError for what is not an event at all; unknown recipients are skipped."""
        try:
            subject = raw["subject"]
            recipients = (Recipient.from_json(r) for r in raw.get("recipients") or [])
            return cls(type=str(raw["type"]), subject=Subject(str(subject["collection"]), str(subject["id"])),
                       actor=raw.get("actor"), recipients=tuple(r for r in recipients if r is not None),
                       data=dict(raw.get("data") or {}), todo=Todo.from_json(raw.get("todo")),
                       occurred_at=str(raw["occurred_at"]), id=str(raw["id"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a domain event: {exc}") from None


def new_event(event_type: str, *, collection: str, subject_id: str, actor: str | None,
              recipients: list[Recipient] | tuple[Recipient, ...] = (), data: Mapping[str, Any] | None = None,
              todo: Todo | None = None, at: str | None = None) -> DomainEvent:
    """``event_type`` is ``<noun>.<past participle>``, e.g. ``letter.replied``."""
    return DomainEvent(type=event_type, subject=Subject(collection, subject_id), actor=actor,
                       recipients=tuple(recipients), data=dict(data or {}), todo=todo,
                       **({"occurred_at": at} if at else {}))


def with_event(update: dict[str, Any], *events: DomainEvent) -> dict[str, Any]:
    """Return ``update`` extended so that the same write appends ``events`` to the outbox."""
    merged = {op: dict(fields) for op, fields in update.items()}
    pushes = merged.setdefault("$push", {})
    if OUTBOX_FIELD in pushes:
        raise ValueError("with_event called twice on one update")
    encoded = [event.to_json() for event in events]
    pushes[OUTBOX_FIELD] = {"$each": encoded} if len(encoded) > 1 else encoded[0]
    merged.setdefault("$set", {})[PENDING_FIELD] = True
    merged.setdefault("$inc", {})[SEQUENCE_FIELD] = 1
    return merged


def doc_with_events(doc: dict[str, Any], *events: DomainEvent) -> dict[str, Any]:
    return {**doc, OUTBOX_FIELD: [event.to_json() for event in events], PENDING_FIELD: True, SEQUENCE_FIELD: 1}


def without_outbox(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in (OUTBOX_FIELD, PENDING_FIELD, SEQUENCE_FIELD)}
