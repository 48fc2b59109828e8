"""Official documents for staff: drafting, approval and distribution (发文), and incoming copies
from signing for them to their result (收文). Each handler parses, calls one use case or query,
and returns its result."""

from __future__ import annotations

from typing import Any

from backend.http.endpoint import endpoint
from backend.http.routes import CODE, FILE_ID, ID, Route
from backend.office.documents import queries, use_cases
from backend.office.documents.schemas import (
    CommentIn,
    DecisionIn,
    DocumentIn,
    DocumentListOut,
    DocumentOut,
    DocumentPatch,
    DocumentQuery,
    IncomingInstructionIn,
    IncomingListOut,
    IncomingOut,
    IncomingQuery,
    InstructionIn,
    LeaderIn,
    PrefixIn,
    ReasonIn,
    ResultIn,
    SignerChangeIn,
)
from backend.office.permissions import OfficePermission
from handlers.base import StaffHandler

TAGS = ("office",)
USE = OfficePermission.STAFF_OFFICE_USE
ACTION_ERRORS = (403, 404, 409)


class DocumentsHandler(StaffHandler):
    @endpoint(permission=USE, summary="本部门发文（named=true：本人拟稿或审批的）", query=DocumentQuery,
              response=DocumentListOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        q = self.query
        return await queries.list_documents(self.ctx, self.principal, state=q.state, named=q.named, limit=q.limit,
                                            cursor=q.cursor)

    @endpoint(permission=USE, summary="拟稿：标题、文种、缓急、密级、正文、附件、主送抄送、审批流程",
              body=DocumentIn, response=DocumentOut, status=201, idempotent=True, errors=(403, 404), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_draft_document(self.ctx, self.body, acting_user=self.principal,
                                                 document_id=self.new_object_id())


class DocumentHandler(StaffHandler):
    @endpoint(permission=USE, summary="公文详情：审批流程、意见（含代签）、批示、文号、分发与签收情况",
              response=DocumentOut, errors=(404,), tags=TAGS)
    async def get(self, document_id: str) -> dict[str, Any]:
        doc = await queries.access_document(self.ctx, self.principal, document_id)
        return await queries.document_out(self.ctx, doc, viewer=self.principal)

    @endpoint(permission=USE, summary="修改草稿（签发后正文冻结，不能再改）", body=DocumentPatch, response=DocumentOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def patch(self, document_id: str) -> dict[str, Any]:
        return await use_cases.do_edit_document(self.ctx, document_id, self.body, acting_user=self.principal,
                                                expected_version=self.if_match_version())


class DocumentFileHandler(StaffHandler):
    @endpoint(permission=USE, summary="下载公文的文件：正文（签发后为定稿）及附件（?thumbnail=1：图片缩略图）",
              download=True, tags=TAGS)
    async def get(self, document_id: str, file_id: str) -> dict[str, Any]:
        doc = await queries.access_document(self.ctx, self.principal, document_id)
        return queries.document_file(doc, file_id)


def _document_action(name: str, summary: str, body: Any, use_case: Any) -> type[StaffHandler]:
    """A POST on one document that calls ``use_case`` with the parsed body and If-Match."""
    class Action(StaffHandler):
        @endpoint(permission=USE, summary=summary, body=body, response=DocumentOut, errors=ACTION_ERRORS, tags=TAGS)
        async def post(self, document_id: str) -> dict[str, Any]:
            return await use_case(self.ctx, document_id, self.body, acting_user=self.principal,
                                  expected_version=self.if_match_version())

    Action.__name__ = Action.__qualname__ = name  # OpenAPI's operationId comes from it
    return Action


def _incoming_action(name: str, summary: str, body: Any, use_case: Any) -> type[StaffHandler]:
    """A POST on one incoming copy that calls ``use_case`` with the parsed body and If-Match."""
    class Action(StaffHandler):
        @endpoint(permission=USE, summary=summary, body=body, response=IncomingOut, errors=ACTION_ERRORS, tags=TAGS)
        async def post(self, incoming_id: str) -> dict[str, Any]:
            return await use_case(self.ctx, incoming_id, self.body, acting_user=self.principal,
                                  expected_version=self.if_match_version())

    Action.__name__ = Action.__qualname__ = name
    return Action


SubmitHandler = _document_action("SubmitHandler", "提交审批（退回修改后再次提交亦同）", CommentIn, use_cases.do_submit_document)
DecisionHandler = _document_action("DecisionHandler", "审批：同意，或退回至指定步骤 / 拟稿人（须写意见）", DecisionIn,
                                   use_cases.do_decide_document)
SignersHandler = _document_action("SignersHandler", "加签 / 减签（当前或后续步骤）", SignerChangeIn, use_cases.do_change_signers)
InstructionsHandler = _document_action("InstructionsHandler", "领导批示（即时通知拟稿人）", InstructionIn, use_cases.do_instruct_document)
DistributionHandler = _document_action("DistributionHandler", "分发至主送、抄送单位", CommentIn, use_cases.do_distribute_document)
WithdrawalHandler = _document_action("WithdrawalHandler", "撤回（草稿或审批中）", ReasonIn, use_cases.do_withdraw_document)


class IncomingListHandler(StaffHandler):
    @endpoint(permission=USE, summary="本部门收文及交本部门承办的公文", query=IncomingQuery, response=IncomingListOut,
              tags=TAGS)
    async def get(self) -> dict[str, Any]:
        q = self.query
        return await queries.list_incoming(self.ctx, self.principal, state=q.state, limit=q.limit, cursor=q.cursor)


class IncomingHandler(StaffHandler):
    @endpoint(permission=USE, summary="收文详情：拟办意见、传阅阅读情况、办理结果", response=IncomingOut, errors=(404,),
              tags=TAGS)
    async def get(self, incoming_id: str) -> dict[str, Any]:
        doc = await queries.access_incoming(self.ctx, self.principal, incoming_id)
        return await queries.incoming_out(self.ctx, doc, viewer=self.principal)


class IncomingFileHandler(StaffHandler):
    @endpoint(permission=USE, summary="下载收文的文件：定稿正文、随文附件、办理结果附件（?thumbnail=1：图片缩略图）",
              download=True, tags=TAGS)
    async def get(self, incoming_id: str, file_id: str) -> dict[str, Any]:
        doc = await queries.access_incoming(self.ctx, self.principal, incoming_id)
        return queries.incoming_file(doc, file_id)


class ReadHandler(StaffHandler):
    @endpoint(permission=USE, summary="传阅：本人已阅", response=IncomingOut, errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, incoming_id: str) -> dict[str, Any]:
        return await use_cases.do_read_incoming(self.ctx, incoming_id, acting_user=self.principal)


SignForHandler = _incoming_action("SignForHandler", "签收", CommentIn, use_cases.do_sign_for_incoming)
ReturnHandler = _incoming_action("ReturnHandler", "退回（须说明理由）", ReasonIn, use_cases.do_return_incoming)
RegistrationHandler = _incoming_action("RegistrationHandler", "登记（生成收文号）", CommentIn, use_cases.do_register_incoming)
LeaderHandler = _incoming_action("LeaderHandler", "呈送领导拟办", LeaderIn, use_cases.do_submit_incoming_to_leader)
IncomingInstructionHandler = _incoming_action("IncomingInstructionHandler", "拟办/批办：交承办单位办理，或传阅", IncomingInstructionIn,
                                              use_cases.do_instruct_incoming)
HandBackHandler = _incoming_action("HandBackHandler", "承办单位退回领导重新拟办", ReasonIn, use_cases.do_hand_back_incoming)
ResultHandler = _incoming_action("ResultHandler", "上传办理结果", ResultIn, use_cases.do_attach_result)
CloseHandler = _incoming_action("CloseHandler", "办结（须已上传办理结果）", CommentIn, use_cases.do_close_incoming)


class NumberPrefixHandler(StaffHandler):
    @endpoint(permission=OfficePermission.STAFF_OFFICE_MANAGE, summary="设置部门发文代字（如 青政发）", body=PrefixIn,
              errors=(403, 404), tags=TAGS)
    async def put(self, code: str) -> dict[str, Any]:
        return await use_cases.do_set_number_prefix(self.ctx, code, self.body, acting_user=self.principal)


DOCUMENT = ID.format("document_id")
INCOMING = ID.format("incoming_id")

ROUTES = [
    Route(r"/api/v1/office/documents", DocumentsHandler),
    Route(rf"/api/v1/office/documents/{DOCUMENT}", DocumentHandler),
    Route(rf"/api/v1/office/documents/{DOCUMENT}/files/{FILE_ID}", DocumentFileHandler),
    Route(rf"/api/v1/office/documents/{DOCUMENT}/submit", SubmitHandler),
    Route(rf"/api/v1/office/documents/{DOCUMENT}/decision", DecisionHandler),
    Route(rf"/api/v1/office/documents/{DOCUMENT}/signers", SignersHandler),
    Route(rf"/api/v1/office/documents/{DOCUMENT}/instructions", InstructionsHandler),
    Route(rf"/api/v1/office/documents/{DOCUMENT}/distribution", DistributionHandler),
    Route(rf"/api/v1/office/documents/{DOCUMENT}/withdrawal", WithdrawalHandler),
    Route(r"/api/v1/office/incoming", IncomingListHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}", IncomingHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}/files/{FILE_ID}", IncomingFileHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}/sign-for", SignForHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}/return", ReturnHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}/registration", RegistrationHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}/leader", LeaderHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}/instruction", IncomingInstructionHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}/read", ReadHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}/hand-back", HandBackHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}/result", ResultHandler),
    Route(rf"/api/v1/office/incoming/{INCOMING}/close", CloseHandler),
    Route(rf"/api/v1/office/number-prefixes/{CODE.format('code')}", NumberPrefixHandler),
]
