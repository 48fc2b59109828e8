"""Request and response models of official documents."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from backend.office.documents.workflow import DocumentType, Secrecy, Urgency
from backend.schemas import ApiModel, PageQuery, ResponseModel

Title = Annotated[str, StringConstraints(min_length=4, max_length=100)]
Opinion = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Reason = Annotated[str, StringConstraints(min_length=2, max_length=1000)]
ObjectId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{20}$")]
DepartmentCode = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
StepId = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z0-9_\-]+$")]
Prefix = Annotated[str, StringConstraints(min_length=1, max_length=12)]


class StepKind(StrEnum):
    REVIEW = "review"            # 核稿
    COUNTERSIGN = "countersign"  # 会签
    SIGN = "sign"                # 签发


STEP_NAMES = {StepKind.REVIEW: "核稿", StepKind.COUNTERSIGN: "会签", StepKind.SIGN: "签发"}


class StepIn(ApiModel):
    kind: StepKind
    name: Annotated[str, StringConstraints(min_length=1, max_length=20)] | None = None
    signers: list[ObjectId] = Field(min_length=1, max_length=20)
    rule: Literal["all", "any", "quorum"] = "all"
    quorum: int | None = Field(None, ge=1, le=20)

    @model_validator(mode="after")
    def consistent(self) -> "StepIn":
        if len(set(self.signers)) != len(self.signers):
            raise ValueError("同一步骤的审批人不能重复")
        if (self.rule == "quorum") != (self.quorum is not None):
            raise ValueError("按人数通过时须填写通过人数（quorum），其他规则不填")
        if self.quorum is not None and self.quorum > len(self.signers):
            raise ValueError("通过人数不能多于审批人数")
        return self


class DocumentIn(ApiModel):
    title: Title
    doc_type: DocumentType
    urgency: Urgency = Urgency.NORMAL
    secrecy: Secrecy = Secrecy.INTERNAL
    main_text: ObjectId  # the upload of the main text (正文)
    attachments: list[ObjectId] = Field(default_factory=list, max_length=20)
    main_recipients: list[DepartmentCode] = Field(min_length=1, max_length=100)  # 主送
    copy_recipients: list[DepartmentCode] = Field(default_factory=list, max_length=100)  # 抄送
    route: list[StepIn] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def a_route_that_ends_in_sign_off(self) -> "DocumentIn":
        if self.route[-1].kind is not StepKind.SIGN or sum(s.kind is StepKind.SIGN for s in self.route) != 1:
            raise ValueError("审批流程须以唯一的签发步骤结束")
        if set(self.main_recipients) & set(self.copy_recipients):
            raise ValueError("同一单位不能既主送又抄送")
        return self


class DocumentPatch(ApiModel):
    """Changes to a draft (only a draft can change: after sign-off the text is frozen)."""

    title: Title | None = None
    urgency: Urgency | None = None
    secrecy: Secrecy | None = None
    main_text: ObjectId | None = None
    attachments: list[ObjectId] | None = Field(None, max_length=20)
    main_recipients: list[DepartmentCode] | None = Field(None, min_length=1, max_length=100)
    copy_recipients: list[DepartmentCode] | None = Field(None, max_length=100)
    route: list[StepIn] | None = Field(None, min_length=1, max_length=10)


class DecisionIn(ApiModel):
    decision: Literal["approve", "reject"]
    opinion: Opinion | None = None
    # Where a rejection sends the document: an earlier step's id, or "drafter" (the default).
    to_step: StepId | None = None

    @model_validator(mode="after")
    def reasons(self) -> "DecisionIn":
        if self.decision == "reject" and not self.opinion:
            raise ValueError("退回须写明意见")
        if self.decision == "approve" and self.to_step:
            raise ValueError("同意时不填写退回步骤")
        return self


class SignerChangeIn(ApiModel):
    step: StepId
    add: list[ObjectId] = Field(default_factory=list, max_length=20)  # 加签
    remove: list[ObjectId] = Field(default_factory=list, max_length=20)  # 减签

    @model_validator(mode="after")
    def something(self) -> "SignerChangeIn":
        if not self.add and not self.remove:
            raise ValueError("请指定要加签或减签的人员")
        if set(self.add) & set(self.remove):
            raise ValueError("同一人不能既加签又减签")
        return self


class InstructionIn(ApiModel):
    text: Annotated[str, StringConstraints(min_length=2, max_length=1000)]  # 批示


class ReasonIn(ApiModel):
    reason: Reason


class CommentIn(ApiModel):
    comment: Opinion | None = None


class LeaderIn(ApiModel):
    leader: ObjectId
    comment: Opinion | None = None


class IncomingInstructionIn(ApiModel):
    """拟办/批办: assign to a handling unit, or circulate to named readers (传阅)."""

    opinion: Opinion
    handling_unit: DepartmentCode | None = None
    readers: list[ObjectId] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def one_way(self) -> "IncomingInstructionIn":
        if (self.handling_unit is None) == (not self.readers):
            raise ValueError("请指定承办单位，或指定传阅人员（二选一）")
        if len(set(self.readers)) != len(self.readers):
            raise ValueError("传阅人员不能重复")
        return self


class ResultIn(ApiModel):
    text: Annotated[str, StringConstraints(min_length=4, max_length=5000)]  # 办理结果
    attachments: list[ObjectId] = Field(default_factory=list, max_length=20)


class PrefixIn(ApiModel):
    prefix: Prefix  # 发文代字, e.g. 青政发


class DocumentQuery(PageQuery):
    state: str | None = Field(None, max_length=32)
    named: bool = False  # the documents the caller drafted or signs, not the department's


class IncomingQuery(PageQuery):
    state: str | None = Field(None, max_length=32)


class DocumentOut(ResponseModel):
    id: str
    title: str
    state: str
    version: int
    number: str | None = None


class DocumentListOut(ResponseModel):
    items: list[DocumentOut]
    next_cursor: str | None


class IncomingOut(ResponseModel):
    id: str
    document_id: str
    title: str
    state: str
    version: int


class IncomingListOut(ResponseModel):
    items: list[IncomingOut]
    next_cursor: str | None
