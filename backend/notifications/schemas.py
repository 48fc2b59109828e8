"""Request and response models of the inbox, preferences, subscribe-message consent and push admin."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from backend.schemas import ApiModel, PageQuery, ResponseModel


class Channel(StrEnum):
    """How a notification reaches someone. ``inbox`` and ``websocket`` are in-app and always on;
    the others are outside the app and may be switched off (``OPTIONAL_CHANNELS``)."""

    INBOX = "inbox"
    WEBSOCKET = "websocket"
    SUBSCRIBE = "subscribe"  # mini-program subscribe message (订阅消息)
    TEMPLATE = "template"    # Official Account template message (模板消息)
    WECOM = "wecom"          # WeCom app message (企业微信应用消息)


# Which channels a person can switch off, by audience ("mp" citizens, "staff").
OPTIONAL_CHANNELS: dict[str, tuple[Channel, ...]] = {
    "mp": (Channel.SUBSCRIBE, Channel.TEMPLATE),
    "staff": (Channel.WECOM,),
}


class ChannelState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"  # confirmed by a WeChat receipt (or written, for the inbox)
    FAILED = "failed"        # a permanent answer such as 43101 / 43004: not retried, not dead-lettered
    DEAD = "dead"            # retries exhausted or an error someone must look at: in the dead-letter stream
    SKIPPED = "skipped"      # not attempted: opted out, no quota, not a follower, …


class SubscribeResult(StrEnum):
    """``wx.requestSubscribeMessage``'s answer per template."""

    ACCEPT = "accept"
    REJECT = "reject"
    BAN = "ban"        # the template was banned by WeChat
    FILTER = "filter"  # filtered by WeChat (e.g. a duplicate title)


TemplateId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class NotificationQuery(PageQuery):
    unread: bool = False


class NotificationOut(ResponseModel):
    id: str
    type: str
    title: str
    body: str
    link: str | None
    subject: dict[str, str] | None
    read_at: str | None
    created_at: str
    channels: dict[str, dict[str, str | None]]
    version: int


class NotificationListOut(ResponseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class ReadAllOut(ResponseModel):
    updated: int


class PreferencesIn(ApiModel):
    channels: dict[Channel, bool] = Field(max_length=5)


class MandatoryEventOut(ResponseModel):
    type: str
    title: str


class PreferencesOut(ResponseModel):
    id: str
    channels: dict[str, bool]
    mandatory: list[MandatoryEventOut]
    version: int


class SubscriptionResultsIn(ApiModel):
    results: dict[TemplateId, SubscribeResult] = Field(min_length=1, max_length=10)


class SubscriptionOut(ResponseModel):
    template_id: str
    title: str | None
    long_term: bool
    remaining: int
    last_result: str | None


class SubscriptionsOut(ResponseModel):
    items: list[SubscriptionOut]


class ChannelStatisticsOut(ResponseModel):
    queued: int
    retrying: int
    sent: int
    failed: int
    dead: int
    skipped: int


class PushStatisticsOut(ResponseModel):
    channels: dict[str, ChannelStatisticsOut]
    dead_letters: int
    events_pending: int


class RedriveIn(ApiModel):
    channel: Channel | None = None
    limit: int = Field(1000, ge=1, le=10_000)


class RedriveOut(ResponseModel):
    redriven: int
