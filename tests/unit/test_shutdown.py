"""Stopping background tasks: a retrying loop stops on the first cancel even when a client library
turns the cancel into its own error, and shutdown names a task that will not stop."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest

from backend import bootstrap
from backend.bootstrap import AppContext
from backend.tasks import raise_if_cancelling


async def masking_read() -> None:
    """What redis-py may do when cancelled in a blocking read: disconnect and raise its own error."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        raise ConnectionError("Connection closed by server.") from None


async def test_a_retrying_loop_stops_on_the_first_cancel_a_library_masked() -> None:
    attempts = 0
    given_up = False

    async def consume() -> None:
        nonlocal attempts
        while not given_up:
            attempts += 1
            try:
                await masking_read()
            except ConnectionError:
                raise_if_cancelling()
                await asyncio.sleep(0.01)  # retry: only the check can end this loop

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    task.cancel()
    try:
        await asyncio.wait({task}, timeout=2)
        assert task.cancelled() and attempts == 1
    finally:
        given_up = True  # a failing run must not leave the loop behind
        await asyncio.wait({task}, timeout=2)


async def test_shutdown_cancels_until_done_and_names_where_a_stubborn_task_waits(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(bootstrap, "STUCK_TASK_REPORT_SECONDS", 0.0)
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await masking_read()
            except ConnectionError:  # a loop without the check: each cancel is taken for an outage
                swallowed += 1
                if swallowed == 3:
                    return

    task = asyncio.create_task(stubborn(), name="stubborn-consumer")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="backend.bootstrap"):
        await asyncio.wait_for(AppContext.cancel_tasks(SimpleNamespace(_tasks={task})), timeout=10)  # type: ignore[arg-type]
    assert task.done() and swallowed == 3
    [report] = [r.getMessage() for r in caplog.records if "still running after cancel" in r.getMessage()]
    assert "stubborn-consumer" in report and "masking_read" in report
