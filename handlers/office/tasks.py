"""Supervision tasks for staff (``/api/v1/office/tasks``): the supervisor creates, decides
extensions and reviews; the lead unit and co-units report, give opinions, ask for more time and
report completion; leaders and supervisors read their board. Each handler parses, calls one use
case or query, and returns its result."""

from __future__ import annotations

from typing import Any

from backend.http.endpoint import endpoint
from backend.http.routes import FILE_ID, ID, Route
from backend.office.permissions import OfficePermission
from backend.office.tasks import queries, use_cases
from backend.office.tasks.schemas import (
    TaskBoardOut,
    TaskBoardQuery,
    TaskCompletionIn,
    TaskExtensionDecisionIn,
    TaskExtensionIn,
    TaskIn,
    TaskListOut,
    TaskListQuery,
    TaskOpinionIn,
    TaskOut,
    TaskReportIn,
    TaskReviewIn,
)
from handlers.base import StaffHandler

TAGS = ("office",)
USE = OfficePermission.STAFF_OFFICE_USE
ACTION_ERRORS = (403, 404, 409)


class TasksHandler(StaffHandler):
    @endpoint(permission=USE, summary="本部门的督办事项（主办 / 协办 / 督办）", query=TaskListQuery,
              response=TaskListOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        q = self.query
        return await queries.list_department_tasks(self.ctx, self.principal, scope=q.scope, states=q.state,
                                                   limit=q.limit, cursor=q.cursor)

    @endpoint(permission=USE, summary="立项督办事项（领导批示或公文；创建人为督办人）", body=TaskIn,
              response=TaskOut, status=201, idempotent=True, tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_create_task(self.ctx, self.body, acting_user=self.principal,
                                              task_id=self.new_object_id())


class BoardHandler(StaffHandler):
    @endpoint(permission=USE, summary="督查督办看板：本人作为交办领导或督办人的在办事项及各预警等级数量",
              query=TaskBoardQuery, response=TaskBoardOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await queries.board_for(self.ctx, self.principal, limit=self.query.limit, cursor=self.query.cursor)


class TaskHandler(StaffHandler):
    @endpoint(permission=USE, summary="督办事项详情", response=TaskOut, errors=(404,), tags=TAGS)
    async def get(self, task_id: str) -> dict[str, Any]:
        doc = await queries.access_task_for_staff(self.ctx, self.principal, task_id)
        return await queries.task_for_staff(self.ctx, doc, viewer=self.principal)


class TaskFileHandler(StaffHandler):
    @endpoint(permission=USE, summary="下载督办事项的文件：进展报送及办结报告的附件（?thumbnail=1：图片缩略图）",
              download=True, tags=TAGS)
    async def get(self, task_id: str, file_id: str) -> dict[str, Any]:
        doc = await queries.access_task_for_staff(self.ctx, self.principal, task_id)
        return queries.task_file(doc, file_id)


class OpinionHandler(StaffHandler):
    @endpoint(permission=USE, summary="协办单位提交协办意见", body=TaskOpinionIn, response=TaskOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, task_id: str) -> dict[str, Any]:
        return await use_cases.do_give_opinion(self.ctx, task_id, self.body, acting_user=self.principal,
                                               expected_version=self.if_match_version())


class ReportHandler(StaffHandler):
    @endpoint(permission=USE, summary="报送办理进展（主办单位可标记节点完成）", body=TaskReportIn, response=TaskOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, task_id: str) -> dict[str, Any]:
        return await use_cases.do_report_progress(self.ctx, task_id, self.body, acting_user=self.principal,
                                                  expected_version=self.if_match_version())


class ExtensionHandler(StaffHandler):
    @endpoint(permission=USE, summary="主办单位申请延期（须说明理由）", body=TaskExtensionIn, response=TaskOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, task_id: str) -> dict[str, Any]:
        return await use_cases.do_request_extension(self.ctx, task_id, self.body, acting_user=self.principal,
                                                    expected_version=self.if_match_version())


class ExtensionDecisionHandler(StaffHandler):
    @endpoint(permission=USE, summary="督办人审批延期申请", body=TaskExtensionDecisionIn, response=TaskOut,
              errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, task_id: str) -> dict[str, Any]:
        return await use_cases.do_decide_extension(self.ctx, task_id, self.body, acting_user=self.principal,
                                                   expected_version=self.if_match_version())


class CompletionHandler(StaffHandler):
    @endpoint(permission=USE, summary="主办单位提交办结报告（协办意见须已收齐）", body=TaskCompletionIn,
              response=TaskOut, errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, task_id: str) -> dict[str, Any]:
        return await use_cases.do_submit_completion(self.ctx, task_id, self.body, acting_user=self.principal,
                                                    expected_version=self.if_match_version())


class ReviewHandler(StaffHandler):
    @endpoint(permission=USE, summary="督办人审核办结报告：通过办结或退回（须说明理由）", body=TaskReviewIn,
              response=TaskOut, errors=ACTION_ERRORS, tags=TAGS)
    async def post(self, task_id: str) -> dict[str, Any]:
        return await use_cases.do_review_completion(self.ctx, task_id, self.body, acting_user=self.principal,
                                                    expected_version=self.if_match_version())


TASK = ID.format("task_id")

ROUTES = [
    Route(r"/api/v1/office/tasks", TasksHandler),
    Route(r"/api/v1/office/tasks/board", BoardHandler),
    Route(rf"/api/v1/office/tasks/{TASK}", TaskHandler),
    Route(rf"/api/v1/office/tasks/{TASK}/files/{FILE_ID}", TaskFileHandler),
    Route(rf"/api/v1/office/tasks/{TASK}/opinion", OpinionHandler),
    Route(rf"/api/v1/office/tasks/{TASK}/reports", ReportHandler),
    Route(rf"/api/v1/office/tasks/{TASK}/extension", ExtensionHandler),
    Route(rf"/api/v1/office/tasks/{TASK}/extension/decision", ExtensionDecisionHandler),
    Route(rf"/api/v1/office/tasks/{TASK}/completion", CompletionHandler),
    Route(rf"/api/v1/office/tasks/{TASK}/review", ReviewHandler),
]
