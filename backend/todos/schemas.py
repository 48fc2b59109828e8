"""Request and response models of the to-do list."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from backend.schemas import PageQuery, ResponseModel


class TodoQuery(PageQuery):
    module: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z_]+$")] | None = None


class TodoOut(ResponseModel):
    id: str
    module: str
    module_label: str
    subject: dict[str, str]
    title: str
    label: str
    kind: str | None = None
    state: str
    due_at: str | None
    overdue: bool
    on_behalf_of: str | None


class TodoListOut(ResponseModel):
    items: list[TodoOut]
    next_cursor: str | None
    counts: dict[str, int] | None = None  # per module, on the first page
    kinds: dict[str, int] | None = None  # per kind (approve, sign_for, read, report, handle …), for the badge
    total: int | None = None
