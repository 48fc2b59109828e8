"""The supervision task's domain events (``supervision_task.<past participle>``)."""

from __future__ import annotations

from enum import StrEnum


class TaskEvent(StrEnum):
    CREATED = "supervision_task.created"
    CO_OPINION_GIVEN = "supervision_task.co_opinion_given"
    PROGRESS_REPORTED = "supervision_task.progress_reported"
    REPORT_OVERDUE = "supervision_task.report_overdue"  # the reminder job: a progress report is late
    EXTENSION_REQUESTED = "supervision_task.extension_requested"
    EXTENSION_DECIDED = "supervision_task.extension_decided"
    COMPLETION_SUBMITTED = "supervision_task.completion_submitted"
    COMPLETION_SENT_BACK = "supervision_task.completion_sent_back"
    COMPLETED = "supervision_task.completed"
    OVERDUE_WARNING = "supervision_task.overdue_warning"  # the kernel's supervision job (yellow/red/overdue)
