"""The city's holiday tables through HTTP: loaded by an administrator, applied to the mailbox's
deadlines, validated, kept in the data directory, and warned about in ``/healthz`` and the log.

The 2027 table here is a plausible test table, not the official one: the State Council's notice
for 2027 could not be checked from this machine. Spring Festival 6–12 February 2027 (Saturday to
Friday) off, with Sunday 31 January and Saturday 20 February as adjusted working days (调休), and
New Year's Day, Friday 1 January 2027, off.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date, datetime
from typing import Any

import pytest

from backend import workdays
from backend.clock import CHINA
from tests.conftest import ApiClient, Harness
from tests.faults.conftest import eventually
from tests.mailbox.conftest import dispatch, write_letter

TABLE_2027 = {"days": [
    {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
    {"date": "2027-01-31", "kind": "workday", "name": "春节调休上班"},
    *({"date": f"2027-02-{d:02d}", "kind": "holiday", "name": "春节"} for d in range(6, 13)),
    {"date": "2027-02-20", "kind": "workday", "name": "春节调休上班"},
]}


@pytest.fixture
def travel(harness: Harness):
    yield lambda *when: harness.ctx.clock.travel(datetime(*when, tzinfo=CHINA))
    harness.ctx.clock.travel_back()


async def due_of_a_consultation(harness: Harness, center: ApiClient) -> str:
    """A consultation (5 working days) written and dispatched now: its due time."""
    letter = await write_letter(await harness.citizen("li_si"), type="consult")
    return (await dispatch(center, letter["id"], "qd-housing"))["due_at"]


async def test_a_deadline_across_spring_festival_2027_follows_the_loaded_table(
        harness: Harness, center: ApiClient, travel: Any, caplog: pytest.LogCaptureFixture) -> None:
    admin = await harness.staff("admin")
    travel(2026, 12, 31, 10)  # Thursday; chinese_calendar has no 2027 data
    assert (await admin.get("/api/v1/calendar/2027")).body == {
        "year": 2027, "source": "none", "days": [], "version": None, "updated_at": None, "updated_by": None}

    # Without a table New Year's Day 2027 counts as a working day, and /healthz and the log say so.
    caplog.set_level(logging.WARNING, logger="backend.workdays")
    workdays._fallback_warned.discard(2027)
    assert await due_of_a_consultation(harness, center) == "2027-01-07T23:59:59+08:00"
    assert any("no holiday table for 2027" in r.getMessage() for r in caplog.records)
    health = (await harness.client.get("/healthz")).body
    assert health["status"] == "ok" and health["parts"]["calendar"] == "warning", health
    assert health["calendar"] == {"state": "warning", "missing_years": [2027], "checked_years": [2026, 2027]}

    saved = await admin.put("/api/v1/calendar/2027", TABLE_2027)
    assert saved.status == 200, saved.body
    assert saved.body["source"] == "table" and saved.body["version"] == 1
    assert saved.body["updated_by"] == (await admin.get("/api/v1/me")).body["id"]
    assert [d["date"] for d in saved.body["days"]] == sorted(d["date"] for d in TABLE_2027["days"])
    stored = harness.ctx.settings.data_dir / "holidays" / "2027.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert json.loads(stored.read_text(encoding="utf-8"))["days"] == saved.body["days"]
    health = (await harness.client.get("/healthz")).body
    assert health["parts"]["calendar"] == "ok" and health["calendar"]["missing_years"] == [], health

    # Deadlines computed from now on follow it (the one computed before keeps its due time).
    assert await due_of_a_consultation(harness, center) == "2027-01-08T23:59:59+08:00"  # 1 January off
    travel(2027, 2, 5, 10)  # Friday before the festival: 6-12 off, 13-14 weekend, 15-19 count
    assert await due_of_a_consultation(harness, center) == "2027-02-19T23:59:59+08:00"
    travel(2027, 2, 16, 10)  # Tuesday after: 17, 18, 19, Saturday 20 (调休), Monday 22
    assert await due_of_a_consultation(harness, center) == "2027-02-22T23:59:59+08:00"
    travel(2027, 1, 29, 10)  # Friday: Sunday 31 January is worked, then 1-4 February
    assert await due_of_a_consultation(harness, center) == "2027-02-04T23:59:59+08:00"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"days": [{"date": "2028-01-01", "kind": "holiday"}]}, 422, "holiday_table_invalid"),
    ({"days": [{"date": "2027-01-01", "kind": "holiday"}, {"date": "2027-01-01", "kind": "holiday"}]},
     422, "holiday_table_invalid"),
    ({"days": [{"date": "2027-02-22", "kind": "workday"}]}, 422, "holiday_table_invalid"),  # a Monday
    ({"days": [{"date": "2027-01-01", "kind": "vacation"}]}, 400, "validation_failed"),
    ({"days": [{"date": "2027-02-30", "kind": "holiday"}]}, 400, "validation_failed"),
    ({"days": [{"date": "2027-01-01", "kind": "holiday", "name": "节" * 51}]}, 400, "validation_failed"),
    ({"days": [{"date": "2027-01-01", "kind": "holiday", "color": "red"}]}, 400, "validation_failed"),
    ({"days": []}, 400, "validation_failed"),
    ({}, 400, "validation_failed"),
])
async def test_bad_tables_are_refused_and_nothing_is_stored(harness: Harness, body: Any, status: int,
                                                           code: str) -> None:
    admin = await harness.staff("admin")
    resp = await admin.put("/api/v1/calendar/2027", body)
    assert resp.status == status and resp.error_code == code, resp.body
    assert set(resp.body["error"]) == {"code", "message", "details"} and resp.body["error"]["message"]
    if status == 422:
        problem = resp.body["error"]["details"]["problems"][0]
        assert set(problem) == {"date", "message"} and problem["message"], problem
    else:
        assert resp.body["error"]["details"]["fields"], resp.body
    assert (await admin.get("/api/v1/calendar/2027")).body["source"] == "none"
    assert not (harness.ctx.settings.data_dir / "holidays" / "2027.json").exists()
    assert workdays.calendar_source(2027) is None


async def test_replacing_a_table_versions_and_access(harness: Harness, center: ApiClient) -> None:
    admin = await harness.staff("admin")
    assert (await center.put("/api/v1/calendar/2027", TABLE_2027)).status == 403
    assert (await center.get("/api/v1/calendar/2027")).status == 403
    assert (await admin.put("/api/v1/calendar/1999", TABLE_2027)).error_code == "year_out_of_range"

    first = await admin.put("/api/v1/calendar/2027", TABLE_2027)
    assert first.status == 200 and first.body["version"] == 1
    same = await admin.put("/api/v1/calendar/2027", TABLE_2027)  # nothing changed: nothing written
    assert same.body["version"] == 1 and same.body["updated_at"] == first.body["updated_at"]
    bad = await admin.put("/api/v1/calendar/2027", {"days": [{"date": "2027-03-01", "kind": "workday"}]})
    assert bad.status == 422  # and the stored table is untouched
    assert (await admin.get("/api/v1/calendar/2027")).body == first.body

    smaller = {"days": TABLE_2027["days"][:1]}
    stale = await admin.put("/api/v1/calendar/2027", smaller, headers={"If-Match": '"0"'})
    assert stale.status == 409 and stale.error_code == "version_conflict", stale.body
    second = await admin.put("/api/v1/calendar/2027", smaller, headers={"If-Match": '"1"'})
    assert second.status == 200 and second.body["version"] == 2 and len(second.body["days"]) == 1
    assert workdays.is_workday(date(2027, 2, 8))  # the festival is no longer in the table

    # A year chinese_calendar knows is shown from it, with Chinese names.
    known = (await admin.get("/api/v1/calendar/2026")).body
    assert known["source"] == "chinese_calendar"
    assert {"date": "2026-10-01", "kind": "holiday", "name": "国庆节"} in known["days"]
    assert {"date": "2026-10-10", "kind": "workday", "name": "国庆节"} in known["days"]


async def test_a_file_put_in_the_data_directory_is_loaded_and_a_broken_one_ignored(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """What another process's save looks like to this one: the reload worker reads the file."""
    # The worker reads the interval before each wait: 1 s after its current (default 5 s) one.
    harness.ctx.settings = harness.ctx.settings.replace(calendar_reload_seconds=1)
    directory = harness.ctx.settings.data_dir / "holidays"
    directory.mkdir(exist_ok=True)
    (directory / "2027.json").write_text(json.dumps(TABLE_2027, ensure_ascii=False), encoding="utf-8")
    await eventually(lambda: workdays.calendar_source(2027) == "table", 15,
                     "the reload worker loads a table file put in the data directory", interval=0.1)
    assert not workdays.is_workday(date(2027, 2, 8)) and workdays.is_workday(date(2027, 2, 20))

    caplog.set_level(logging.ERROR, logger="backend.calendar.tables")
    (directory / "2027.json").write_text('{"days": [{"date": "2027-02-22", "kind": "workday"}]}', encoding="utf-8")
    os.utime(directory / "2027.json", ns=(1, 1))  # a different mtime, whatever the clock's resolution
    await eventually(lambda: any("2027.json is not valid" in r.getMessage() for r in caplog.records), 15,
                     "the broken file is reported", interval=0.1)
    assert workdays.calendar_source(2027) == "table" and not workdays.is_workday(date(2027, 2, 8))  # kept

    (directory / "2027.json").unlink()
    await eventually(lambda: workdays.calendar_source(2027) is None, 15, "a removed file drops its table",
                     interval=0.1)
