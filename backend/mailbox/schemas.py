"""Request and response models of the mailbox."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from backend.attachments.schemas import AttachmentOut
from backend.moderation import refuse_controls, strip_controls
from backend.schemas import ApiModel, PageQuery, QueryModel, ResponseModel

# Short fields refuse control characters; long text has them stripped (backend/moderation).
Title = Annotated[str, StringConstraints(min_length=4, max_length=60), AfterValidator(refuse_controls)]
Content = Annotated[str, StringConstraints(min_length=10, max_length=5000), AfterValidator(strip_controls)]
Comment = Annotated[str, StringConstraints(min_length=2, max_length=2000), AfterValidator(strip_controls)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=30), AfterValidator(refuse_controls)]
ReplyText = Annotated[str, StringConstraints(min_length=10, max_length=10000)]
Phone = Annotated[str, StringConstraints(pattern=r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")]
UploadId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{20}$")]
LetterId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{20}$")]
DepartmentCode = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]

MAX_IMAGES = 9
# What a letter and its supplements may carry: photos and PDFs (of what uploads take).
LETTER_FILE_TYPES = ("image/*", "application/pdf")


class LetterType(StrEnum):
    CONSULT = "consult"      # 咨询
    HELP = "help"            # 求助
    SUGGEST = "suggest"      # 建议
    CRITICISE = "criticise"  # 批评
    COMPLAIN = "complain"    # 投诉


LETTER_TYPE_LABELS = {LetterType.CONSULT: "咨询", LetterType.HELP: "求助", LetterType.SUGGEST: "建议",
                      LetterType.CRITICISE: "批评", LetterType.COMPLAIN: "投诉"}


class AddresseeKind(StrEnum):
    MAYOR = "mayor"            # 市长信箱
    DEPARTMENT = "department"  # 部门信箱
    DISTRICT = "district"      # 区市信箱


class Rating(StrEnum):
    VERY_SATISFIED = "very_satisfied"            # 非常满意
    SATISFIED = "satisfied"                      # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"                # 不满意
    VERY_DISSATISFIED = "very_dissatisfied"      # 非常不满意


RATING_LABELS = {Rating.VERY_SATISFIED: "非常满意", Rating.SATISFIED: "满意", Rating.BASICALLY_SATISFIED: "基本满意",
                 Rating.DISSATISFIED: "不满意", Rating.VERY_DISSATISFIED: "非常不满意"}
BAD_RATINGS = frozenset({Rating.DISSATISFIED, Rating.VERY_DISSATISFIED})


class Addressee(ApiModel):
    kind: AddresseeKind
    code: DepartmentCode | None = None

    @model_validator(mode="after")
    def code_matches_kind(self) -> "Addressee":
        if (self.kind is AddresseeKind.MAYOR) != (self.code is None):
            raise ValueError("市长信箱不填写部门编码，部门或区市信箱必须填写")
        return self


class LetterIn(ApiModel):
    type: LetterType
    title: Title
    content: Content
    addressee: Addressee
    attachments: list[UploadId] = Field(default_factory=list, max_length=MAX_IMAGES)
    public: bool = False
    contact_phone: Phone | None = None
    writer_name: Name | None = None


class SupplyInfoIn(ApiModel):
    text: Comment
    attachments: list[UploadId] = Field(default_factory=list, max_length=MAX_IMAGES)


class RatingIn(ApiModel):
    level: Rating
    comment: Annotated[str, StringConstraints(max_length=500), AfterValidator(strip_controls)] | None = None


class DispatchIn(ApiModel):
    lead_department: DepartmentCode
    co_departments: list[DepartmentCode] = Field(default_factory=list, max_length=10)
    comment: Comment | None = None


class ReasonIn(ApiModel):
    reason: Comment


class ReturnIn(ApiModel):
    reason: Comment
    # 退回 because "not ours" must say whose it is.
    responsible_body: Annotated[str, StringConstraints(min_length=2, max_length=100)]


class MergeIn(ApiModel):
    original_id: LetterId
    comment: Comment | None = None


class InfoRequestIn(ApiModel):
    question: Comment


class ReplyIn(ApiModel):
    text: ReplyText
    attachments: list[UploadId] = Field(default_factory=list, max_length=MAX_IMAGES)


class ExtensionIn(ApiModel):
    reason: Comment
    days: int = Field(ge=1, le=30)


class ReleaseIn(ApiModel):
    """The centre has read a held text and lets it through: the letter itself, one of its
    supplements, or one of its ratings' comments (by index, as the staff view lists them)."""

    part: Literal["letter", "supplement", "rating"]
    index: int | None = Field(None, ge=0, le=100)

    @model_validator(mode="after")
    def which(self) -> "ReleaseIn":
        if (self.part == "letter") != (self.index is None):
            raise ValueError("放行补充材料或评价时须指明序号，放行信件本身时不填")
        return self


class OpinionIn(ApiModel):
    text: Comment


class DisclosureIn(ApiModel):
    """The text that goes public, as the centre edited the auto-masked draft."""

    title: Title
    content: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    reply: Annotated[str, StringConstraints(min_length=1, max_length=10000)]
    comment: Comment | None = None


class DecisionIn(ApiModel):
    approve: bool
    comment: Comment | None = None


class StaffLetterQuery(PageQuery):
    state: list[str] = Field(default_factory=list, max_length=10)
    department: DepartmentCode | None = None
    overdue: bool = False
    co_handled: bool = False  # the letters the department co-handles (协办) instead of those it leads


class MyLetterQuery(PageQuery):
    pass


class PublicLetterQuery(PageQuery):
    q: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None


class StatisticsQuery(QueryModel):
    start: date = Field(alias="from", ge=date(2000, 1, 1), le=date(2099, 12, 31))
    end: date = Field(alias="to", ge=date(2000, 1, 1), le=date(2099, 12, 31))
    department: DepartmentCode | None = None

    @model_validator(mode="after")
    def ordered(self) -> "StatisticsQuery":
        if self.end < self.start:
            raise ValueError("结束日期不能早于开始日期")
        if (self.end - self.start).days > 366 * 3:
            raise ValueError("统计区间不能超过三年")
        return self


class LetterOut(ResponseModel):
    id: str
    tracking_no: str
    type: LetterType
    title: str
    content: str
    state: str
    version: int
    created_at: str
    due_at: str | None = None
    warning_level: str | None = None
    attachments: list[AttachmentOut] = []


class LetterSummaryOut(ResponseModel):
    """A list item: what a list reads (no contents, no history)."""

    id: str
    tracking_no: str
    type: LetterType
    type_label: str
    title: str
    state: str
    state_label: str
    version: int
    created_at: str
    due_at: str | None = None
    warning_level: str | None = None
    thumbnail_url: str | None = None  # the first image attachment's thumbnail


class LetterListOut(ResponseModel):
    items: list[LetterSummaryOut]
    next_cursor: str | None


class DisclosureOut(ResponseModel):
    id: str
    state: str
    title: str
    content: str
    reply: str
    published_at: str | None = None


class PublicLetterOut(ResponseModel):
    id: str
    tracking_no: str
    type: LetterType
    type_label: str
    title: str
    writer: str
    created_at: str
    replied_at: str | None = None
    department: str | None = None  # the answering department's name (public pages show no codes)


class PublicLetterListOut(ResponseModel):
    items: list[PublicLetterOut]
    next_cursor: str | None


class StatisticsRow(ResponseModel):
    department: str | None
    received: int
    closed: int
    on_time_rate: float | None
    average_handling_workdays: float | None
    satisfaction_rate: float | None
    reopened: int


class StatisticsOut(ResponseModel):
    items: list[StatisticsRow]
    overview: StatisticsRow
    breakdowns: dict[str, list[dict[str, Any]]]  # type, state, channel, addressee: [{key, label?, count}]
