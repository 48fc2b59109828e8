"""The mailbox's domain events (``letter.<past participle>``)."""

from __future__ import annotations

from enum import StrEnum


class LetterEvent(StrEnum):
    SUBMITTED = "letter.submitted"
    DISPATCHED = "letter.dispatched"
    REJECTED = "letter.rejected"
    MERGED = "letter.merged"
    DUPLICATE_ABSORBED = "letter.duplicate_absorbed"
    ACCEPTED = "letter.accepted"
    RETURNED = "letter.returned"
    INFO_REQUESTED = "letter.info_requested"
    INFO_SUPPLIED = "letter.info_supplied"
    CO_OPINION_GIVEN = "letter.co_opinion_given"
    REPLY_SUBMITTED = "letter.reply_submitted"
    REPLY_SENT_BACK = "letter.reply_sent_back"
    REPLIED = "letter.replied"
    MERGED_REPLIED = "letter.merged_replied"  # to each follower, about their own merged letter
    EXTENSION_REQUESTED = "letter.extension_requested"
    EXTENSION_DECIDED = "letter.extension_decided"
    RATED = "letter.rated"
    REOPENED = "letter.reopened"
    PUBLISHED = "letter.published"
    UNPUBLISHED = "letter.unpublished"
    OVERDUE_WARNING = "letter.overdue_warning"
    CONTENT_RELEASED = "letter.content_released"
