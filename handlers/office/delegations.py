"""Delegation (委托) for staff: grant a deputy a period, list one's own, revoke."""

from __future__ import annotations

from typing import Any

from backend.http.endpoint import endpoint
from backend.http.routes import ID, Route
from backend.office.delegations import queries, use_cases
from backend.office.delegations.schemas import DelegationIn, DelegationListOut, DelegationOut
from backend.office.permissions import OfficePermission
from backend.schemas import PageQuery
from handlers.base import StaffHandler

TAGS = ("office",)
USE = OfficePermission.STAFF_OFFICE_USE


class DelegationsHandler(StaffHandler):
    @endpoint(permission=USE, summary="我的委托（委托他人的与受托的）", query=PageQuery, response=DelegationListOut,
              tags=TAGS)
    async def get(self) -> dict[str, Any]:
        return await queries.list_delegations(self.ctx, self.principal, limit=self.query.limit,
                                              cursor=self.query.cursor)

    @endpoint(permission=USE, summary="委托他人在一段时间内代为审批", body=DelegationIn, response=DelegationOut,
              status=201, idempotent=True, errors=(404, 409), tags=TAGS)
    async def post(self) -> dict[str, Any]:
        return await use_cases.do_grant_delegation(self.ctx, self.body, acting_user=self.principal,
                                                   delegation_id=self.new_object_id())


class DelegationHandler(StaffHandler):
    @endpoint(permission=USE, summary="取消委托", response=DelegationOut, errors=(404,), tags=TAGS)
    async def delete(self, delegation_id: str) -> dict[str, Any]:
        return await use_cases.do_revoke_delegation(self.ctx, delegation_id, acting_user=self.principal)


ROUTES = [
    Route(r"/api/v1/office/delegations", DelegationsHandler),
    Route(rf"/api/v1/office/delegations/{ID.format('delegation_id')}", DelegationHandler),
]
