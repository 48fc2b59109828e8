"""The mailbox's permissions (granted in ``backend/mailbox/__init__.py``)."""

from enum import StrEnum


class MailboxPermission(StrEnum):
    CITIZEN_LETTER_READ = "mp:letter:read"
    CITIZEN_LETTER_WRITE = "mp:letter:write"
    STAFF_LETTER_CENTER = "staff:letter:center"
    STAFF_LETTER_HANDLE = "staff:letter:handle"
    STAFF_LETTER_READ = "staff:letter:read"
    STAFF_STATISTICS_READ = "staff:statistics:read"
