"""Citizen side of the mailbox: write, follow, supply information, rate; the public disclosure."""

from __future__ import annotations

from typing import Any

from backend.auth.permissions import Permission
from backend.http.endpoint import endpoint
from backend.http.routes import FILE_ID, ID, Route
from backend.mailbox import queries, use_cases
from backend.mailbox.permissions import MailboxPermission
from backend.mailbox.schemas import (
    LetterIn,
    LetterListOut,
    LetterOut,
    MyLetterQuery,
    PublicLetterListOut,
    PublicLetterOut,
    PublicLetterQuery,
    RatingIn,
    SupplyInfoIn,
)
from miniprogram_api.base import CitizenHandler

TAGS = ("mailbox",)


class LettersHandler(CitizenHandler):
    @endpoint(permission=MailboxPermission.CITIZEN_LETTER_READ, summary="我的信件", query=MyLetterQuery,
              response=LetterListOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await queries.list_my_letters(self.ctx, self.principal, limit=self.query.limit,
                                             cursor=self.query.cursor)

    @endpoint(permission=MailboxPermission.CITIZEN_LETTER_WRITE, summary="写信（返回查询编号）", body=LetterIn,
              response=LetterOut, status=201, idempotent=True, errors=(404,), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_submit_letter(self.ctx, self.body, acting_user=self.principal,
                                                letter_id=self.new_object_id())


class LetterHandler(CitizenHandler):
    @endpoint(permission=MailboxPermission.CITIZEN_LETTER_READ, summary="我的信件详情及办理进度", response=LetterOut,
              errors=(404,), tags=TAGS)
    async def get(self, letter_id: str) -> dict[str, Any]:
        doc = await queries.access_letter_for_citizen(self.ctx.store, self.principal, letter_id)
        return await queries.letter_for_citizen(self.ctx, doc)


class LetterFileHandler(CitizenHandler):
    @endpoint(permission=MailboxPermission.CITIZEN_LETTER_READ,
              summary="下载我的信件的文件：本人附件、补充材料、已答复的答复附件（?thumbnail=1：图片缩略图）",
              download=True, tags=TAGS)
    async def get(self, letter_id: str, file_id: str) -> dict[str, Any]:
        doc = await queries.access_letter_for_citizen(self.ctx.store, self.principal, letter_id)
        return queries.letter_file_for_citizen(doc, file_id)


class SupplyInfoHandler(CitizenHandler):
    @endpoint(permission=MailboxPermission.CITIZEN_LETTER_WRITE, summary="补充材料", body=SupplyInfoIn, response=LetterOut,
              errors=(404, 409), tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_supply_info(self.ctx, letter_id, self.body, acting_user=self.principal)


class RatingHandler(CitizenHandler):
    @endpoint(permission=MailboxPermission.CITIZEN_LETTER_WRITE, summary="评价答复（五级）", body=RatingIn,
              response=LetterOut, errors=(404, 409), tags=TAGS)
    async def post(self, letter_id: str) -> dict[str, Any]:
        return await use_cases.do_rate_letter(self.ctx, letter_id, self.body, acting_user=self.principal)


class PublicLettersHandler(CitizenHandler):
    @endpoint(permission=Permission.PUBLIC, summary="公开信件（无需登录，个人信息已隐去）", query=PublicLetterQuery,
              response=PublicLetterListOut, tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await queries.list_public_letters(self.ctx, q=self.query.q, limit=self.query.limit,
                                                 cursor=self.query.cursor)


class PublicLetterHandler(CitizenHandler):
    @endpoint(permission=Permission.PUBLIC, summary="公开信件详情", response=PublicLetterOut, errors=(404,), tags=TAGS)
    async def get(self, letter_id: str) -> dict[str, Any]:
        return await queries.get_public_letter(self.ctx, letter_id)


LETTER = ID.format("letter_id")

ROUTES = [
    Route(r"/mp/v1/letters", LettersHandler),
    Route(rf"/mp/v1/letters/{LETTER}", LetterHandler),
    Route(rf"/mp/v1/letters/{LETTER}/files/{FILE_ID}", LetterFileHandler),
    Route(rf"/mp/v1/letters/{LETTER}/info", SupplyInfoHandler),
    Route(rf"/mp/v1/letters/{LETTER}/rating", RatingHandler),
    Route(r"/mp/v1/public/letters", PublicLettersHandler),
    Route(rf"/mp/v1/public/letters/{LETTER}", PublicLetterHandler),
]
