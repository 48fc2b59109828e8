"""The notices' domain events: ``notice.<past participle>`` on the notice, ``notice_receipt.<…>``
on each person's receipt (silent for push: the notice's own events tell people, once each)."""

from __future__ import annotations

from enum import StrEnum


class NoticeEvent(StrEnum):
    DRAFTED = "notice.drafted"
    EDITED = "notice.edited"
    DISCARDED = "notice.discarded"
    DISTRIBUTION_STARTED = "notice.distribution_started"
    PUBLISHED = "notice.published"  # the one message to every recipient (departments and people)
    REMINDED = "notice.reminded"  # 催办: names exactly those who have not read
    WITHDRAWN = "notice.withdrawn"
    CLOSED = "notice.closed"
    SUBSTITUTE_NAMED = "notice.substitute_named"  # to the colleague sent to a meeting in someone's place


class ReceiptEvent(StrEnum):
    CREATED = "notice_receipt.created"
    READ = "notice_receipt.read"
    REPLIED = "notice_receipt.replied"
    LAPSED = "notice_receipt.lapsed"
    WITHDRAWN = "notice_receipt.withdrawn"
