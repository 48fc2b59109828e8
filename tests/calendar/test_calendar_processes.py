"""A holiday table saved through one ``yzt serve`` applies in another serving the same data
directory within ``YZT_CALENDAR_RELOAD_SECONDS`` (1 s here), without a restart.

The two servers are separate processes on one data directory (as ``--processes N`` children or
two services on one machine are): the second uses the first's redis-server. Deadlines are made
long (365 working days for a consultation) so that a letter dispatched today, whatever the date,
ends beyond next year, whose table the test loads; the expected due times are computed here with
the same table and without it.
"""

from __future__ import annotations

import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from backend import workdays
from backend.clock import CHINA, to_api
from backend.wechat.fake_server import FakeWeChat
from tests.conftest import ApiClient
from tests.faults.conftest import Server, citizen_token, eventually, fake_settings, redis_servers_under, staff_token
from tests.mailbox.conftest import LETTER

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

DAYS = 365


def next_years_table(year: int) -> dict[str, Any]:
    """Every weekday of January off, and the first Saturday of February worked."""
    january = [date(year, 1, 1) + timedelta(days=n) for n in range(31)]
    saturday = next(date(year, 2, 1) + timedelta(days=n) for n in range(7) if date(year, 2, 1 + n).weekday() == 5)
    return {"days": [*({"date": d.isoformat(), "kind": "holiday"} for d in january if d.weekday() < 5),
                     {"date": saturday.isoformat(), "kind": "workday"}]}


def expected_due(day: date, table: dict[str, Any] | None, year: int) -> str:
    """The due time of a letter dispatched on ``day`` (Beijing), as this process computes it."""
    if table is not None:
        off = frozenset(date.fromisoformat(d["date"]) for d in table["days"] if d["kind"] == "holiday")
        worked = frozenset(date.fromisoformat(d["date"]) for d in table["days"] if d["kind"] == "workday")
        workdays.set_holiday_tables([workdays.HolidayTable(year, off, worked)])
    try:
        return str(to_api(workdays.add_workdays(datetime.combine(day, datetime.min.time(), CHINA), DAYS)))
    finally:
        workdays.set_holiday_tables([])


def today() -> date:
    return datetime.now(CHINA).date()


async def test_a_table_saved_in_one_process_applies_in_another(
        tmp_path: Path, fake_wechat: FakeWeChat, demo_data_dir: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(demo_data_dir, data_dir)
    settings = fake_settings(data_dir, fake_wechat)
    env = {"YZT_CALENDAR_RELOAD_SECONDS": "1", "YZT_LETTER_DEADLINES": f"consult={DAYS}"}
    first, second = Server(settings, env=env), Server(settings, env=env)
    try:
        await first.start().wait_ready()
        await second.start().wait_ready()
        assert len(redis_servers_under(data_dir)) == 1  # the second uses the first's
        year = today().year + 1
        table = next_years_table(year)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
            a, b = ApiClient(first.base, session), ApiClient(second.base, session)
            center = a.as_(await staff_token(a, "center"))
            citizen = a.as_(await citizen_token(a, fake_wechat, "calendar"))
            admin = b.as_(await staff_token(b, "admin"))

            async def due_in_first() -> tuple[str, set[date]]:
                began = today()
                written = await citizen.post("/mp/v1/letters", {**LETTER, "type": "consult"})
                assert written.status == 201, written.body
                dispatched = await center.post(f"/api/v1/letters/{written.body['id']}/dispatch",
                                               {"lead_department": "qd-housing"})
                assert dispatched.status == 200, dispatched.body
                return dispatched.body["due_at"], {began, today()}

            due, days = await due_in_first()
            assert due in {expected_due(d, None, year) for d in days}

            saved = await admin.put(f"/api/v1/calendar/{year}", table)
            assert saved.status == 200, saved.body
            saved_at = time.monotonic()

            async def applied() -> bool:
                due, days = await due_in_first()
                return due in {expected_due(d, table, year) for d in days}
            await eventually(applied, 10, "the first process uses the table saved through the second", interval=0.2)
            took = time.monotonic() - saved_at
            assert {expected_due(d, table, year) for d in days}.isdisjoint({expected_due(d, None, year) for d in days})
            # And the first process shows it.
            shown = await a.as_(await staff_token(a, "admin")).get(f"/api/v1/calendar/{year}")
            assert shown.body["source"] == "table" and shown.body["version"] == 1, shown.body
        print(f"\nthe table saved through one process applied in the other {took:.2f} s later")
        assert second.terminate() == 0, second.log_tail()
        assert first.terminate() == 0, first.log_tail()
    finally:
        second.cleanup()
        first.cleanup()
