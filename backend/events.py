"""Domain events, written through an outbox inside the document they describe.

A use case adds its event to the same atomic write as the state change (``with_event`` for an
update, ``doc_with_events`` for an insert), so a crash can never separate the two. The relay
(``backend/outbox.py``) later moves pending events to the Redis stream ``yzt:events``; delivery
is at least once, so consumers deduplicate by the event's ``id``.

Only ``backend/*/use_cases.py`` may call these (a test enforces it). Each event names its
recipients: who is told is a security decision of the use case, not of push.
"""

from __future__ import annotations

from typing import Any

from backend.clock import now_stored
from backend.ids import new_id

EVENT_STREAM = "yzt:events"
OUTBOX_FIELD = "_outbox"
PENDING_FIELD = "_outbox_pending"
SEQUENCE_FIELD = "_outbox_seq"  # bumped with every event, so the relay clears the flag only if none arrived since


def new_event(event_type: str, *, collection: str, subject_id: str, actor: str | None,
              recipients: list[dict[str, str]] | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """``event_type`` is ``<noun>.<past participle>``, e.g. ``letter.replied``.

    ``recipients`` entries: ``{"kind": "user", "id": ...}`` or ``{"kind": "department", "code": ...}``.
    """
    return {
        "id": new_id(), "type": event_type, "occurred_at": now_stored(),
        "subject": {"collection": collection, "id": subject_id}, "actor": actor,
        "recipients": recipients or [], "data": data or {},
    }


def with_event(update: dict[str, Any], *events: dict[str, Any]) -> dict[str, Any]:
    """Return ``update`` extended so that the same write appends ``events`` to the outbox."""
    merged = {op: dict(fields) for op, fields in update.items()}
    pushes = merged.setdefault("$push", {})
    if OUTBOX_FIELD in pushes:
        raise ValueError("with_event called twice on one update")
    pushes[OUTBOX_FIELD] = {"$each": list(events)} if len(events) > 1 else events[0]
    merged.setdefault("$set", {})[PENDING_FIELD] = True
    merged.setdefault("$inc", {})[SEQUENCE_FIELD] = 1
    return merged


def doc_with_events(doc: dict[str, Any], *events: dict[str, Any]) -> dict[str, Any]:
    return {**doc, OUTBOX_FIELD: list(events), PENDING_FIELD: True, SEQUENCE_FIELD: 1}


def without_outbox(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in (OUTBOX_FIELD, PENDING_FIELD, SEQUENCE_FIELD)}
