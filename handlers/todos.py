"""My to-dos for staff: everything waiting for the caller across modules."""

from __future__ import annotations

from typing import Any

from backend.auth.permissions import Permission
from backend.http.endpoint import endpoint
from backend.http.routes import Route
from backend.modules import module_labels
from backend.todos.queries import list_todos
from backend.todos.schemas import TodoListOut, TodoQuery
from handlers.base import StaffHandler


class TodosHandler(StaffHandler):
    @endpoint(permission=Permission.AUTHENTICATED, summary="我的待办（各模块，按期限排序；首页含各模块数量）",
              query=TodoQuery, response=TodoListOut, tags=("todos",))
    async def get(self) -> dict[str, Any]:
        q = self.query
        return await list_todos(self.ctx, self.principal, labels=module_labels(), limit=q.limit, cursor=q.cursor,
                                module=q.module)


ROUTES = [Route(r"/api/v1/todos", TodosHandler)]
