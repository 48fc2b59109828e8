"""Electronic supervision for staff: the overview per department and module."""

from __future__ import annotations

from typing import Any

from backend.http.endpoint import endpoint
from backend.http.routes import Route
from backend.modules import workflow_labels
from backend.supervision.permissions import SupervisionPermission
from backend.supervision.queries import overview_for
from backend.supervision.schemas import OverviewOut, OverviewQuery
from handlers.base import StaffHandler


class OverviewHandler(StaffHandler):
    @endpoint(permission=SupervisionPermission.STAFF_SUPERVISION_READ, summary="电子监察概况：各部门各模块的在办、预警、超期与按期办结",
              query=OverviewQuery, response=OverviewOut, tags=("supervision",))
    async def get(self) -> dict[str, Any]:
        q = self.query
        return await overview_for(self.ctx, self.principal, workflow_labels(), start=q.start, end=q.end,
                                  department=q.department)


ROUTES = [Route(r"/api/v1/supervision/overview", OverviewHandler)]
