"""Request and response models of notices, meeting notices and groups.

Model names carry their part's words (``Notice…``, ``Meeting…``, ``OfficeGroup…``): the office's
parts share one OpenAPI document and one test kit, both keyed by model name.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator, model_validator

from backend.schemas import ApiModel, PageQuery, ResponseModel

NoticeTitle = Annotated[str, StringConstraints(min_length=2, max_length=100)]
NoticeBody = Annotated[str, StringConstraints(min_length=1, max_length=20000)]
Place = Annotated[str, StringConstraints(min_length=2, max_length=100)]
Reason = Annotated[str, StringConstraints(min_length=2, max_length=500)]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=30)]
GroupName = Annotated[str, StringConstraints(min_length=2, max_length=30)]
ObjectId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{20}$")]
DepartmentCode = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]

MAX_ATTACHMENTS = 20
MAX_DEPARTMENTS = 200
MAX_GROUPS = 20
MAX_PEOPLE = 500
MAX_GROUP_MEMBERS = 500
MAX_MEETING_HOURS = 7 * 24


class NoticeKind(StrEnum):
    NOTICE = "notice"    # 通知公告
    MEETING = "meeting"  # 会议通知


KIND_LABELS = {NoticeKind.NOTICE: "通知公告", NoticeKind.MEETING: "会议通知"}


class Attendance(StrEnum):
    ATTEND = "attend"  # 参会
    LEAVE = "leave"    # 请假


ATTENDANCE_LABELS = {Attendance.ATTEND: "参会", Attendance.LEAVE: "请假"}


class NoticeBox(StrEnum):
    RECEIVED = "received"  # sent to me (my receipts)
    ISSUED = "issued"      # issued by my department


class AttendanceFilter(StrEnum):
    ATTENDING = "attending"
    ON_LEAVE = "on_leave"
    NO_REPLY = "no_reply"


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class NoticeAudienceIn(ApiModel):
    """Who receives it: every staff member of each department (that department exactly, not its
    subtree), the members of the issuing department's groups, and people named one by one."""

    departments: list[DepartmentCode] = Field(default_factory=list, max_length=MAX_DEPARTMENTS)
    groups: list[ObjectId] = Field(default_factory=list, max_length=MAX_GROUPS)
    people: list[ObjectId] = Field(default_factory=list, max_length=MAX_PEOPLE)

    @field_validator("departments", "groups", "people")
    @classmethod
    def once_each(cls, values: list[str]) -> list[str]:
        return _unique(values)

    @model_validator(mode="after")
    def someone(self) -> "NoticeAudienceIn":
        if not (self.departments or self.groups or self.people):
            raise ValueError("请至少选择一个接收部门、分组或人员")
        return self


class NoticeIn(ApiModel):
    """A draft (created, or replaced whole while it is a draft)."""

    kind: NoticeKind = NoticeKind.NOTICE
    title: NoticeTitle
    body: NoticeBody
    attachments: list[ObjectId] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    audience: NoticeAudienceIn
    starts_at: AwareDatetime | None = None  # meetings only
    ends_at: AwareDatetime | None = None
    place: Place | None = None
    # 催办: remind those who have not read this many hours after publishing (null: no automatic reminder).
    remind_after_hours: int | None = Field(24, ge=1, le=720)

    @model_validator(mode="after")
    def meeting_fields(self) -> "NoticeIn":
        meeting = (self.starts_at, self.ends_at, self.place)
        if self.kind is NoticeKind.MEETING:
            if self.starts_at is None or self.ends_at is None or self.place is None:
                raise ValueError("会议通知须填写开始时间、结束时间和地点")
            if self.ends_at <= self.starts_at:
                raise ValueError("会议结束时间应晚于开始时间")
            if (self.ends_at - self.starts_at).total_seconds() > MAX_MEETING_HOURS * 3600:
                raise ValueError("会议时长不能超过 7 天")
        elif any(value is not None for value in meeting):
            raise ValueError("只有会议通知可以填写会议时间和地点")
        return self


class NoticeWithdrawIn(ApiModel):
    reason: Reason


class NoticeReminderIn(ApiModel):
    comment: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class MeetingSubstituteIn(ApiModel):
    """Who goes instead: a colleague by account, or a name as free text."""

    user_id: ObjectId | None = None
    name: PersonName | None = None

    @model_validator(mode="after")
    def one_of(self) -> "MeetingSubstituteIn":
        if (self.user_id is None) == (self.name is None):
            raise ValueError("替会人员请选择同事或填写姓名（二选一）")
        return self


class MeetingReplyIn(ApiModel):
    """参会, or 请假 with a reason and, if someone goes instead, the substitute."""

    attendance: Attendance
    substitute: MeetingSubstituteIn | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def leave_needs_reason(self) -> "MeetingReplyIn":
        if self.attendance is Attendance.LEAVE and self.reason is None:
            raise ValueError("请假须说明原因")
        if self.attendance is Attendance.ATTEND and (self.substitute is not None or self.reason is not None):
            raise ValueError("参会时不填写替会人员和请假原因")
        return self


class OfficeGroupIn(ApiModel):
    name: GroupName
    members: list[ObjectId] = Field(min_length=1, max_length=MAX_GROUP_MEMBERS)

    @field_validator("members")
    @classmethod
    def once_each(cls, values: list[str]) -> list[str]:
        return _unique(values)


class OfficeGroupUpdateIn(ApiModel):
    name: GroupName | None = None
    members: list[ObjectId] | None = Field(None, min_length=1, max_length=MAX_GROUP_MEMBERS)

    @field_validator("members")
    @classmethod
    def once_each(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _unique(values)


# --- queries ---------------------------------------------------------------------------------

# Query models use literals, not the enums: the OpenAPI generator inlines a query model's
# properties and would leave an enum's ``$ref`` pointing nowhere.
class NoticeListQuery(PageQuery):
    box: Literal["received", "issued"] = "received"  # NoticeBox
    kind: Literal["notice", "meeting"] | None = None  # NoticeKind
    unread: bool = False  # received: only those I have not read yet


class NoticeReceiptQuery(PageQuery):
    read: bool | None = None  # false: who has not read
    department: DepartmentCode | None = None


class MeetingAttendanceQuery(PageQuery):
    reply: Literal["attending", "on_leave", "no_reply"] | None = None  # AttendanceFilter


class OfficeGroupQuery(PageQuery):
    pass


# --- responses -------------------------------------------------------------------------------

class NoticeMeetingOut(ResponseModel):
    starts_at: str
    ends_at: str
    place: str


class NoticeSummaryOut(ResponseModel):
    id: str
    kind: NoticeKind
    kind_label: str
    title: str
    state: str
    state_label: str
    department: str
    department_name: str | None = None
    published_at: str | None = None
    meeting: NoticeMeetingOut | None = None
    my_receipt: dict[str, Any] | None = None
    version: int


class NoticeOut(NoticeSummaryOut):
    body: str
    attachments: list[dict[str, Any]]
    author_id: str
    created_at: str
    updated_at: str
    actions: list[str]


class NoticeListOut(ResponseModel):
    items: list[NoticeSummaryOut]
    next_cursor: str | None


class NoticeReceiptOut(ResponseModel):
    user_id: str
    name: str | None = None
    department: str | None = None
    department_name: str | None = None
    state: str
    read: bool
    read_at: str | None = None


class NoticeReceiptListOut(ResponseModel):
    items: list[NoticeReceiptOut]
    next_cursor: str | None


class NoticeDepartmentCount(ResponseModel):
    department: str | None
    department_name: str | None = None
    total: int
    read: int
    unread: int


class NoticeReceiptSummaryOut(ResponseModel):
    total: int
    read: int
    unread: int
    departments: list[NoticeDepartmentCount]


class NoticeReminderOut(ResponseModel):
    notice_id: str
    reminded: int
    at: str


class MeetingAttendanceItem(ResponseModel):
    user_id: str
    name: str | None = None
    department: str | None = None
    department_name: str | None = None
    reply: str
    reply_label: str
    substitute: dict[str, Any] | None = None
    reason: str | None = None
    replied_at: str | None = None


class MeetingAttendanceOut(ResponseModel):
    counts: dict[str, int]
    items: list[MeetingAttendanceItem]
    next_cursor: str | None


class OfficeGroupOut(ResponseModel):
    id: str
    name: str
    department: str
    members: list[dict[str, Any]]
    version: int
    created_at: str
    updated_at: str


class OfficeGroupListOut(ResponseModel):
    items: list[OfficeGroupOut]
    next_cursor: str | None
