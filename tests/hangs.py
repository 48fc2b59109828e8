"""When pytest-timeout stops a test, show where each asyncio task of the test's loop was waiting.

pytest-timeout's signal method shows the main thread only, and for an async test that is the event
loop's ``select``: it says the loop was idle, not which ``await`` never finished. This prints every
task's suspended coroutine chain first, then lets pytest-timeout fail the test as usual."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import pytest


def _await_chain(task: asyncio.Task[Any]) -> list[str]:
    """The task's suspended coroutines, outermost first, and what the innermost awaits
    (``Task.print_stack`` shows only the outermost frame of a coroutine)."""
    lines = [repr(task)]
    awaited: Any = task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            lines.append(f"    waiting for {awaited!r}")
            break
        lines.append(f'  File "{frame.f_code.co_filename}", line {frame.f_lineno}, in {frame.f_code.co_name}')
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return lines


def _task_stacks() -> str:
    try:
        loop = asyncio.get_running_loop()  # the handler runs on the loop's thread, inside its select
    except RuntimeError:  # a synchronous test
        return ""
    return "\n".join("\n".join(_await_chain(task)) for task in asyncio.all_tasks(loop)) + "\n"


@pytest.hookimpl(hookwrapper=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> Any:
    yield
    if settings.method != "signal":
        return
    timed_out = signal.getsignal(signal.SIGALRM)
    if not callable(timed_out):
        return

    def show_tasks_then_fail(signum: int, frame: Any) -> None:
        stacks = _task_stacks()
        if stacks:
            terminal = item.config.get_terminal_writer()
            terminal.sep("+", title="asyncio tasks at the timeout")
            terminal.write(stacks)
        timed_out(signum, frame)

    signal.signal(signal.SIGALRM, show_tasks_then_fail)
