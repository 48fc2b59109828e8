"""Notices and meeting notices for staff (``/api/v1/office/notices``, ``/api/v1/office/groups``).
Each handler parses, calls one use case or query, and returns its result."""

from __future__ import annotations

from typing import Any

from backend.http.endpoint import endpoint
from backend.http.routes import ID, Route
from backend.office.notices import queries, use_cases
from backend.office.notices.schemas import (
    MeetingAttendanceOut,
    MeetingAttendanceQuery,
    MeetingReplyIn,
    NoticeIn,
    NoticeListOut,
    NoticeListQuery,
    NoticeOut,
    NoticeReceiptListOut,
    NoticeReceiptQuery,
    NoticeReceiptSummaryOut,
    NoticeReminderIn,
    NoticeReminderOut,
    NoticeWithdrawIn,
    OfficeGroupIn,
    OfficeGroupListOut,
    OfficeGroupOut,
    OfficeGroupQuery,
    OfficeGroupUpdateIn,
)
from backend.office.permissions import OfficePermission
from handlers.base import StaffHandler

TAGS = ("office",)
USE = OfficePermission.STAFF_OFFICE_USE
ACTION_ERRORS = (403, 404, 409)


class NoticesHandler(StaffHandler):
    @endpoint(permission=USE, summary="通知列表（收到的：本人回执；发出的：本部门发布的，含草稿）", query=NoticeListQuery,
              response=NoticeListOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        q = self.query
        return await queries.list_notices(self.ctx, self.principal, box=q.box, kind=q.kind, unread=q.unread,
                                          limit=q.limit, cursor=q.cursor)

    @endpoint(permission=USE, summary="起草通知或会议通知", body=NoticeIn, response=NoticeOut, status=201,
              idempotent=True, errors=(403,), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_create_notice(self.ctx, self.body, acting_user=self.principal,
                                                notice_id=self.new_object_id())


class NoticeHandler(StaffHandler):
    @endpoint(permission=USE, summary="通知详情（含本人回执；发文部门另见接收范围、阅读统计、催办记录）", response=NoticeOut,
              errors=(404,), tags=TAGS)
    async def get(self, notice_id: str) -> dict[str, Any]:
        doc, receipt = await queries.access_notice_for_staff(self.ctx.store, self.principal, notice_id)
        return await queries.notice_out(self.ctx, doc, viewer=self.principal, receipt=receipt)

    @endpoint(permission=USE, summary="修改草稿（整体替换）", body=NoticeIn, response=NoticeOut, errors=ACTION_ERRORS,
              tags=TAGS)
    async def put(self, notice_id: str) -> dict[str, Any]:
        return await use_cases.do_update_notice(self.ctx, notice_id, self.body, acting_user=self.principal,
                                                expected_version=self.if_match_version())


class PublishHandler(StaffHandler):
    @endpoint(permission=USE, summary="发布：按此刻的接收范围分发到人，每人一份回执", response=NoticeOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, notice_id: str) -> dict[str, Any]:
        return await use_cases.do_publish_notice(self.ctx, notice_id, acting_user=self.principal,
                                                 expected_version=self.if_match_version())


class DiscardHandler(StaffHandler):
    @endpoint(permission=USE, summary="删除草稿", response=NoticeOut, errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, notice_id: str) -> dict[str, Any]:
        return await use_cases.do_discard_notice(self.ctx, notice_id, acting_user=self.principal,
                                                 expected_version=self.if_match_version())


class ReadHandler(StaffHandler):
    @endpoint(permission=USE, summary="标记已读（重复提交不重复记录）", response=NoticeOut, errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, notice_id: str) -> dict[str, Any]:
        return await use_cases.do_read_notice(self.ctx, notice_id, acting_user=self.principal)


class ReplyHandler(StaffHandler):
    @endpoint(permission=USE, summary="回复会议通知：参会或请假（可派人替会），会议开始前可修改", body=MeetingReplyIn,
              response=NoticeOut, errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, notice_id: str) -> dict[str, Any]:
        return await use_cases.do_reply_meeting(self.ctx, notice_id, self.body, acting_user=self.principal)


class RemindHandler(StaffHandler):
    @endpoint(permission=USE, summary="催办：提醒尚未阅读（或回复）的人", body=NoticeReminderIn,
              response=NoticeReminderOut, errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, notice_id: str) -> dict[str, Any]:
        return await use_cases.do_remind_notice(self.ctx, notice_id, self.body, acting_user=self.principal)


class WithdrawHandler(StaffHandler):
    @endpoint(permission=USE, summary="撤回已发布的通知（须说明理由）", body=NoticeWithdrawIn, response=NoticeOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, notice_id: str) -> dict[str, Any]:
        return await use_cases.do_withdraw_notice(self.ctx, notice_id, self.body, acting_user=self.principal,
                                                  expected_version=self.if_match_version())


class CloseHandler(StaffHandler):
    @endpoint(permission=USE, summary="结束通知：不再统计阅读，未读者的待办撤销", response=NoticeOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, notice_id: str) -> dict[str, Any]:
        return await use_cases.do_close_notice(self.ctx, notice_id, acting_user=self.principal,
                                               expected_version=self.if_match_version())


class ReceiptsHandler(StaffHandler):
    @endpoint(permission=USE, summary="阅读回执：谁何时已读，谁未读（发文部门）", query=NoticeReceiptQuery,
              response=NoticeReceiptListOut, errors=(403, 404), tags=TAGS)
    async def get(self, notice_id: str) -> dict[str, Any]:
        doc = await queries.access_notice_for_issuer(self.ctx.store, self.principal, notice_id)
        q = self.query
        return await queries.list_receipts(self.ctx, doc, read=q.read, department=q.department, limit=q.limit,
                                           cursor=q.cursor)


class ReceiptSummaryHandler(StaffHandler):
    @endpoint(permission=USE, summary="阅读统计：按部门的已读、未读人数（发文部门）", response=NoticeReceiptSummaryOut,
              errors=(403, 404), tags=TAGS)
    async def get(self, notice_id: str) -> dict[str, Any]:
        doc = await queries.access_notice_for_issuer(self.ctx.store, self.principal, notice_id)
        return await queries.receipt_counts(self.ctx, doc)


class AttendanceHandler(StaffHandler):
    @endpoint(permission=USE, summary="参会名单：参会、请假及替会人员、未回复（会议组织部门）", query=MeetingAttendanceQuery,
              response=MeetingAttendanceOut, errors=(403, 404, 409), tags=TAGS)
    async def get(self, notice_id: str) -> dict[str, Any]:
        doc = await queries.access_notice_for_issuer(self.ctx.store, self.principal, notice_id)
        q = self.query
        return await queries.attendance_list(self.ctx, doc, reply=q.reply, limit=q.limit, cursor=q.cursor)


class GroupsHandler(StaffHandler):
    @endpoint(permission=USE, summary="本部门的通知分组", query=OfficeGroupQuery, response=OfficeGroupListOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await queries.list_office_groups(self.ctx, self.principal, limit=self.query.limit,
                                                cursor=self.query.cursor)

    @endpoint(permission=USE, summary="新建通知分组（本部门）", body=OfficeGroupIn, response=OfficeGroupOut, status=201,
              idempotent=True, errors=(403,), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_create_office_group(self.ctx, self.body, acting_user=self.principal,
                                                      group_id=self.new_object_id())


class GroupHandler(StaffHandler):
    @endpoint(permission=USE, summary="通知分组详情", response=OfficeGroupOut, errors=(404,), tags=TAGS)
    async def get(self, office_group_id: str) -> dict[str, Any]:
        doc = await queries.access_office_group(self.ctx.store, self.principal, office_group_id)
        return await queries.office_group_out(self.ctx, doc)

    @endpoint(permission=USE, summary="修改通知分组的名称或成员", body=OfficeGroupUpdateIn, response=OfficeGroupOut,
              errors=(404, 409), tags=TAGS)
    async def patch(self, office_group_id: str) -> dict[str, Any]:
        return await use_cases.do_update_office_group(self.ctx, office_group_id, self.body, acting_user=self.principal,
                                                      expected_version=self.if_match_version())


NOTICE = ID.format("notice_id")
GROUP = ID.format("office_group_id")

ROUTES = [
    Route(r"/api/v1/office/notices", NoticesHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}", NoticeHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}/publish", PublishHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}/read", ReadHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}/reply", ReplyHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}/receipts", ReceiptsHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}/receipts/summary", ReceiptSummaryHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}/attendance", AttendanceHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}/reminders", RemindHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}/close", CloseHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}/withdraw", WithdrawHandler),
    Route(rf"/api/v1/office/notices/{NOTICE}/discard", DiscardHandler),
    Route(r"/api/v1/office/groups", GroupsHandler),
    Route(rf"/api/v1/office/groups/{GROUP}", GroupHandler),
]
