"""Request and response models of supervision tasks (督查督办). Every name starts with ``Task``:
the office's parts share one OpenAPI document and one test kit keyed by model name."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import Field, StringConstraints, model_validator

from backend.schemas import ApiModel, PageQuery, ResponseModel

Title = Annotated[str, StringConstraints(min_length=4, max_length=100)]
Requirement = Annotated[str, StringConstraints(min_length=10, max_length=5000)]
Comment = Annotated[str, StringConstraints(min_length=2, max_length=2000)]
ReportText = Annotated[str, StringConstraints(min_length=2, max_length=5000)]
CompletionText = Annotated[str, StringConstraints(min_length=10, max_length=10000)]
ObjectId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{20}$")]
DepartmentCode = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
MilestoneId = Annotated[str, StringConstraints(pattern=r"^m[0-9]{1,2}$")]

MAX_ATTACHMENTS = 9
MAX_MILESTONES = 20


class TaskState(StrEnum):
    IN_PROGRESS = "in_progress"              # 办理中
    COMPLETION_REVIEW = "completion_review"  # 办结审核中
    DONE = "done"                            # 已办结


STATE_LABELS = {TaskState.IN_PROGRESS: "办理中", TaskState.COMPLETION_REVIEW: "办结审核中", TaskState.DONE: "已办结"}


class TaskSourceKind(StrEnum):
    INSTRUCTION = "instruction"  # 领导批示
    DOCUMENT = "document"        # 公文


SOURCE_LABELS = {TaskSourceKind.INSTRUCTION: "领导批示", TaskSourceKind.DOCUMENT: "公文"}


class TaskInstructionSource(ApiModel):
    """A leader's instruction (批示): its text and the leader, a named staff account."""

    kind: Literal["instruction"]
    text: Comment
    leader_id: ObjectId


class TaskDocumentSource(ApiModel):
    """An official document, by reference (the documents part owns it); the leader who assigned
    it, if one did, gets the task on their board."""

    kind: Literal["document"]
    document_id: ObjectId
    document_title: Annotated[str, StringConstraints(min_length=2, max_length=200)]
    leader_id: ObjectId | None = None


TaskSource = Annotated[Union[TaskInstructionSource, TaskDocumentSource], Field(discriminator="kind")]


class TaskMilestoneIn(ApiModel):
    name: Annotated[str, StringConstraints(min_length=2, max_length=60)]
    due_on: date = Field(ge=date(2000, 1, 1), le=date(2099, 12, 31))  # a calendar date (Beijing)


class TaskIn(ApiModel):
    title: Title
    requirement: Requirement
    source: TaskSource
    lead_department: DepartmentCode
    co_departments: list[DepartmentCode] = Field(default_factory=list, max_length=10)
    # 督查室: the department that supervises; defaults to the supervisor's (the creator's) own.
    supervising_office: DepartmentCode | None = None
    deadline_days: int = Field(ge=1, le=250)  # working days
    report_every_days: int = Field(ge=1, le=60)  # working days between progress reports
    milestones: list[TaskMilestoneIn] = Field(default_factory=list, max_length=MAX_MILESTONES)

    @model_validator(mode="after")
    def consistent(self) -> "TaskIn":
        if self.lead_department in self.co_departments:
            raise ValueError("主办单位不能同时是协办单位")
        if self.report_every_days > self.deadline_days:
            raise ValueError("汇报周期不能超过办理时限")
        return self


class TaskOpinionIn(ApiModel):
    text: Comment


class TaskReportIn(ApiModel):
    text: ReportText
    attachments: list[ObjectId] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    milestones_done: list[MilestoneId] = Field(default_factory=list, max_length=MAX_MILESTONES)


class TaskExtensionIn(ApiModel):
    reason: Comment
    days: int = Field(ge=1, le=60)


class TaskExtensionDecisionIn(ApiModel):
    approve: bool
    comment: Comment | None = None


class TaskCompletionIn(ApiModel):
    text: CompletionText
    attachments: list[ObjectId] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class TaskReviewIn(ApiModel):
    accept: bool
    reason: Comment | None = None  # required to send back

    @model_validator(mode="after")
    def reason_to_send_back(self) -> "TaskReviewIn":
        if not self.accept and self.reason is None:
            raise ValueError("退回须说明理由")
        return self


# The tasks the caller's department leads (主办), co-handles (协办) or supervises (督查室). Query
# values are literals, not enums: a query schema is inlined into OpenAPI, without components.
TaskScope = Literal["lead", "co", "office"]
StateName = Literal["in_progress", "completion_review", "done"]


class TaskListQuery(PageQuery):
    scope: TaskScope = "lead"
    state: list[StateName] = Field(default_factory=list, max_length=3)


class TaskBoardQuery(PageQuery):
    pass


class TaskSummaryOut(ResponseModel):
    id: str
    title: str
    state: str
    state_label: str
    lead_department: str
    due_at: str | None = None
    level: str | None = None
    next_report_due_at: str | None = None
    version: int


class TaskOut(TaskSummaryOut):
    requirement: str
    source: dict
    co_departments: list[str]
    supervising_office: str
    milestones: list[dict]
    reports: list[dict]
    history: list[dict]
    actions: list[str]


class TaskListOut(ResponseModel):
    items: list[TaskSummaryOut]
    next_cursor: str | None


class TaskBoardCounts(ResponseModel):
    normal: int
    yellow: int
    red: int
    overdue: int
    paused: int
    done: int


class TaskBoardOut(ResponseModel):
    items: list[TaskSummaryOut]
    next_cursor: str | None
    counts: TaskBoardCounts | None = None
    total: int | None = None
