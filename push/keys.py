"""Every Redis key push uses, in one place (``yzt:push:*`` for delivery, ``yzt:live:*`` for fan-out)."""

from __future__ import annotations

from backend.events import EVENT_STREAM

GROUP = "push"  # the consumer group on the event stream and on every channel stream
EVENTS = EVENT_STREAM
DEAD = "yzt:push:dead"
RECEIPTS_CURSOR = "yzt:push:receipts:last"
LIVE_PREFIX = "yzt:live:"


def stream(channel: str) -> str:
    return f"yzt:push:{channel}"


def retries(channel: str) -> str:
    """Sorted set of jobs waiting for their next attempt, scored by when (ms)."""
    return f"yzt:push:retry:{channel}"


def done(channel: str, notification_id: str) -> str:
    """The send record: ``sending:<entry>`` while one worker sends, then ``sent`` / ``failed`` / ``dead``."""
    return f"yzt:push:done:{channel}:{notification_id}"


def msg_id(channel: str, wechat_msg_id: str) -> str:
    """WeChat's msgid of a sent message → our notification id, until its receipt has had time to come."""
    return f"yzt:push:msgid:{channel}:{wechat_msg_id}"


MSG_ID_TTL = 3 * 86400


def bucket(channel: str) -> str:
    return f"yzt:push:rate:{channel}"


def stats(channel: str) -> str:
    return f"yzt:push:stats:{channel}"


def live_user(user_id: str) -> str:
    return f"{LIVE_PREFIX}user:{user_id}"


def live_topic(topic: str) -> str:
    return f"{LIVE_PREFIX}topic:{topic}"
