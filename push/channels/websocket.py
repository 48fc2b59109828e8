"""The live channel: messages for apps that are online, through Redis pub/sub (``fanout.py``).

Unlike the WeChat channels it has no stream, retries or send records: the inbox entry is the
durable copy, written before the live message is published, and a client that was offline (or
missed a message while its process reconnected to Redis) replays from the inbox on reconnect.
Publishing therefore happens in the expander's enqueue script, right after the inbox write.
"""

from __future__ import annotations

from typing import Any

import orjson


def live_message(notification: dict[str, Any]) -> bytes:
    """What a connected client receives for a new inbox entry (the same shape as the inbox API)."""
    return orjson.dumps({"type": "notification", "notification": notification})


def topic_message(topic: str, event: dict[str, Any]) -> bytes:
    """What the subscribers of a department or role topic see of an event: which object
    changed and how, so their screens refresh. No content: they fetch it with their own rights."""
    return orjson.dumps({"type": "event", "topic": topic, "event": {
        "id": event.get("id"), "type": event.get("type"), "subject": event.get("subject"),
        "occurred_at": event.get("occurred_at")}})


def resync_message(reason: str) -> bytes:
    """Tells a client that live messages may have been lost: reload the inbox."""
    return orjson.dumps({"type": "resync", "reason": reason})
