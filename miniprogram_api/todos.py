"""My to-dos for citizens: information to supply, replies to rate, and so on."""

from __future__ import annotations

from typing import Any

from backend.auth.permissions import Permission
from backend.http.endpoint import endpoint
from backend.http.routes import Route
from backend.modules import module_labels
from backend.todos.queries import list_todos
from backend.todos.schemas import TodoListOut, TodoQuery
from miniprogram_api.base import CitizenHandler


class TodosHandler(CitizenHandler):
    @endpoint(permission=Permission.AUTHENTICATED, summary="我的待办：需要补充材料、评价答复等",
              query=TodoQuery, response=TodoListOut, tags=("todos",))
    async def get(self) -> dict[str, Any]:
        q = self.query
        return await list_todos(self.ctx, self.principal, labels=module_labels(), limit=q.limit, cursor=q.cursor,
                                module=q.module)


ROUTES = [Route(r"/mp/v1/todos", TodosHandler)]
