"""A delivery job: one notification on one channel, carrying everything the send needs, so
that the channel workers never read the store on their way to WeChat."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class Job:
    notification_id: str
    user_id: str
    channel: str
    to: str                  # mini-program openid, Official Account openid, or WeCom userid
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)  # channel-specific, rendered
    attempt: int = 0         # retries so far

    def encode(self) -> bytes:
        return orjson.dumps({"notification_id": self.notification_id, "user_id": self.user_id,
                             "channel": self.channel, "to": self.to, "event_type": self.event_type,
                             "payload": self.payload, "attempt": self.attempt})

    @classmethod
    def decode(cls, raw: bytes | str) -> "Job":
        return cls(**orjson.loads(raw))

    def next_attempt(self) -> "Job":
        return dataclasses.replace(self, attempt=self.attempt + 1)
