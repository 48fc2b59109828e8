"""Staff side of the mailbox: the centre's inbox and decisions, departments' handling,
statistics. Each handler parses, calls one use case or query, and returns its result."""

from __future__ import annotations

from typing import Any

from backend.http.endpoint import endpoint
from backend.http.routes import FILE_ID, ID, Route
from backend.mailbox import queries, statistics, use_cases
from backend.mailbox.permissions import MailboxPermission
from backend.mailbox.schemas import (
    DecisionIn,
    DisclosureIn,
    DisclosureOut,
    DispatchIn,
    ExtensionIn,
    InfoRequestIn,
    LetterListOut,
    LetterOut,
    MergeIn,
    OpinionIn,
    ReasonIn,
    ReleaseIn,
    ReplyIn,
    ReturnIn,
    StaffLetterQuery,
    StatisticsOut,
    StatisticsQuery,
)
from handlers.base import StaffHandler

TAGS = ("mailbox",)
CENTER = MailboxPermission.STAFF_LETTER_CENTER
HANDLE = MailboxPermission.STAFF_LETTER_HANDLE
ACTION_ERRORS = (403, 404, 409)


class LettersHandler(StaffHandler):
    @endpoint(permission=MailboxPermission.STAFF_LETTER_READ, summary="信件列表（信箱中心：全部；部门：本部门主办）",
              query=StaffLetterQuery, response=LetterListOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        q = self.query
        return await queries.list_staff_letters(self.ctx, self.principal, states=q.state, department=q.department,
                                                overdue=q.overdue, co_handled=q.co_handled, limit=q.limit,
                                                cursor=q.cursor)


class LetterHandler(StaffHandler):
    @endpoint(permission=MailboxPermission.STAFF_LETTER_READ, summary="信件详情（含疑似重复件）", response=LetterOut,
              errors=(404,), tags=TAGS)
    async def get(self, letter_id: str) -> dict[str, Any]:
        doc = await queries.access_letter_for_staff(self.ctx.store, self.principal, letter_id)
        return await queries.letter_for_staff(self.ctx, doc, viewer=self.principal)


class LetterFileHandler(StaffHandler):
    @endpoint(permission=MailboxPermission.STAFF_LETTER_READ,
              summary="下载信件的文件：来信附件、补充材料、答复附件（?thumbnail=1：图片缩略图）", download=True, tags=TAGS)
    async def get(self, letter_id: str, file_id: str) -> dict[str, Any]:
        doc = await queries.access_letter_for_staff(self.ctx.store, self.principal, letter_id)
        return queries.letter_file_for_staff(doc, file_id)


class DispatchHandler(StaffHandler):
    @endpoint(permission=CENTER, summary="分办：主办部门及协办部门", body=DispatchIn, response=LetterOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_dispatch_letter(self.ctx, letter_id, self.body, acting_user=self.principal,
                                                  expected_version=self.if_match_version())


class AnswerHandler(StaffHandler):
    @endpoint(permission=CENTER, summary="信箱中心直接答复", body=ReplyIn, response=LetterOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_answer_letter(self.ctx, letter_id, self.body, acting_user=self.principal,
                                                expected_version=self.if_match_version())


class RejectHandler(StaffHandler):
    @endpoint(permission=CENTER, summary="不予受理（须说明理由）", body=ReasonIn, response=LetterOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_reject_letter(self.ctx, letter_id, self.body, acting_user=self.principal,
                                                expected_version=self.if_match_version())


class MergeHandler(StaffHandler):
    @endpoint(permission=CENTER, summary="并单：标记为另一封信件的重复件", body=MergeIn, response=LetterOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_merge_letter(self.ctx, letter_id, self.body, acting_user=self.principal,
                                               expected_version=self.if_match_version())


class ReviewHandler(StaffHandler):
    @endpoint(permission=CENTER, summary="审核部门答复：通过或退回修改", body=DecisionIn, response=LetterOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_review_reply(self.ctx, letter_id, self.body, acting_user=self.principal,
                                               expected_version=self.if_match_version())


class ExtensionDecisionHandler(StaffHandler):
    @endpoint(permission=CENTER, summary="审批延期申请", body=DecisionIn, response=LetterOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_decide_extension(self.ctx, letter_id, self.body, acting_user=self.principal,
                                                   expected_version=self.if_match_version())


class AcceptHandler(StaffHandler):
    @endpoint(permission=HANDLE, summary="部门受理", response=LetterOut, errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_accept_letter(self.ctx, letter_id, acting_user=self.principal,
                                                expected_version=self.if_match_version())


class ReturnHandler(StaffHandler):
    @endpoint(permission=HANDLE, summary="退回信箱中心（须写明责任主体）", body=ReturnIn, response=LetterOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_return_letter(self.ctx, letter_id, self.body, acting_user=self.principal,
                                                expected_version=self.if_match_version())


class InfoRequestHandler(StaffHandler):
    @endpoint(permission=HANDLE, summary="请写信人补充材料（办理时限暂停）", body=InfoRequestIn, response=LetterOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_request_info(self.ctx, letter_id, self.body, acting_user=self.principal,
                                               expected_version=self.if_match_version())


class ReplyHandler(StaffHandler):
    @endpoint(permission=HANDLE, summary="部门答复（提交信箱中心审核）", body=ReplyIn, response=LetterOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_reply_letter(self.ctx, letter_id, self.body, acting_user=self.principal,
                                               expected_version=self.if_match_version())


class OpinionHandler(StaffHandler):
    @endpoint(permission=HANDLE, summary="协办部门提交协办意见（主办部门答复前须收齐）", body=OpinionIn,
              response=LetterOut, errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_give_opinion(self.ctx, letter_id, self.body, acting_user=self.principal,
                                               expected_version=self.if_match_version())


class DisclosureHandler(StaffHandler):
    @endpoint(permission=CENTER, summary="公开前的信件文本（自动隐去个人信息，待人工核对）", response=DisclosureOut,
              errors=(404,), tags=TAGS)
    async def get(self, letter_id: str) -> dict[str, Any]:
        doc = await queries.access_letter_for_staff(self.ctx.store, self.principal, letter_id)
        return await queries.disclosure_for_staff(self.ctx, doc)

    @endpoint(permission=CENTER, summary="核对隐私处理后公开信件及答复", body=DisclosureIn, response=DisclosureOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_publish_letter(self.ctx, letter_id, self.body, acting_user=self.principal,
                                                 expected_version=self.if_match_version())


class UnpublishHandler(StaffHandler):
    @endpoint(permission=CENTER, summary="撤回已公开的信件", body=ReasonIn, response=DisclosureOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_unpublish_letter(self.ctx, letter_id, self.body, acting_user=self.principal,
                                                   expected_version=self.if_match_version())


class ReleaseHandler(StaffHandler):
    @endpoint(permission=CENTER, summary="放行被内容审核暂扣的信件、补充材料或评价", body=ReleaseIn,
              response=LetterOut, errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_release_content(self.ctx, letter_id, self.body, acting_user=self.principal,
                                                  expected_version=self.if_match_version())


class ExtensionHandler(StaffHandler):
    @endpoint(permission=HANDLE, summary="申请延期", body=ExtensionIn, response=LetterOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_request_extension(self.ctx, letter_id, self.body, acting_user=self.principal,
                                                    expected_version=self.if_match_version())


class StatisticsHandler(StaffHandler):
    @endpoint(permission=MailboxPermission.STAFF_STATISTICS_READ, summary="信件统计：按部门及全市概况",
              query=StatisticsQuery, response=StatisticsOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await statistics.statistics_for(self.ctx.store, self.principal, start=self.query.start,
                                               end=self.query.end, department=self.query.department)


class StatisticsCsvHandler(StaffHandler):
    @endpoint(permission=MailboxPermission.STAFF_STATISTICS_READ, summary="信件统计导出（CSV）",
              query=StatisticsQuery, media_type="text/csv", tags=TAGS)
    async def get(self) -> str:
        figures = await statistics.statistics_for(self.ctx.store, self.principal, start=self.query.start,
                                                  end=self.query.end, department=self.query.department)
        names = {row["department"]: await self.ctx.department_names.get(row["department"])
                 for row in figures["items"] if row["department"]}
        self.set_header("Content-Disposition", f'attachment; filename="mailbox-statistics-{self.query.start}-'
                                               f'{self.query.end}.csv"')
        return statistics.as_csv(figures, names)


LETTER = ID.format("letter_id")

ROUTES = [
    Route(r"/api/v1/letters", LettersHandler),
    Route(rf"/api/v1/letters/{LETTER}", LetterHandler),
    Route(rf"/api/v1/letters/{LETTER}/files/{FILE_ID}", LetterFileHandler),
    Route(rf"/api/v1/letters/{LETTER}/dispatch", DispatchHandler),
    Route(rf"/api/v1/letters/{LETTER}/answer", AnswerHandler),
    Route(rf"/api/v1/letters/{LETTER}/reject", RejectHandler),
    Route(rf"/api/v1/letters/{LETTER}/merge", MergeHandler),
    Route(rf"/api/v1/letters/{LETTER}/accept", AcceptHandler),
    Route(rf"/api/v1/letters/{LETTER}/return", ReturnHandler),
    Route(rf"/api/v1/letters/{LETTER}/info-request", InfoRequestHandler),
    Route(rf"/api/v1/letters/{LETTER}/opinion", OpinionHandler),
    Route(rf"/api/v1/letters/{LETTER}/reply", ReplyHandler),
    Route(rf"/api/v1/letters/{LETTER}/review", ReviewHandler),
    Route(rf"/api/v1/letters/{LETTER}/moderation/release", ReleaseHandler),
    Route(rf"/api/v1/letters/{LETTER}/extension", ExtensionHandler),
    Route(rf"/api/v1/letters/{LETTER}/extension/decision", ExtensionDecisionHandler),
    Route(rf"/api/v1/letters/{LETTER}/disclosure", DisclosureHandler),
    Route(rf"/api/v1/letters/{LETTER}/disclosure/withdrawal", UnpublishHandler),
    Route(r"/api/v1/mailbox/statistics", StatisticsHandler),
    Route(r"/api/v1/mailbox/statistics/export", StatisticsCsvHandler),
]
