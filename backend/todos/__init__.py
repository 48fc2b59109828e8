"""To-dos (我的待办): everything waiting for a person across modules, kept from domain events."""

from backend.registry import Module, Worker, collection, index
from backend.todos.counts import TODO_COUNTS
from backend.todos.projection import TODO_CASES, TODOS, run_projector

MODULE = Module(
    name="todos", label="我的待办",
    collections=(
        collection(TODOS, index("actor", "sort_due", "_id"), index("actor", "module", "sort_due", "_id"),
                   index("case", "case_version")),
        collection(TODO_CASES),
        collection(TODO_COUNTS),
    ),
    workers=(Worker("todo-projection", run_projector),),
)
