"""My to-dos through HTTP, with the mailbox as the first source: each step of a letter moves it
from one person's (or department's, or role's) list to the next one's."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import pytest

from backend.clock import CHINA
from backend.todos import pages, queries
from tests.conftest import ApiClient, Harness
from tests.mailbox.conftest import dispatch, write_letter


async def todos(harness: Harness, client: ApiClient, face: str = "api", **params) -> dict:
    await harness.settle()
    resp = await client.get(f"/{face}/v1/todos", params=params or None)
    assert resp.status == 200, resp.body
    return resp.body


def labels(body: dict) -> list[tuple[str, str]]:
    return [(item["subject"]["id"], item["label"]) for item in body["items"]]


async def test_a_letter_moves_through_everyones_list(harness: Harness, center) -> None:
    citizen = await harness.citizen("li_si")
    letter = (await write_letter(citizen))["id"]
    first = await todos(harness, center)
    assert labels(first) == [(letter, "分办信件")] and first["counts"] == {"mailbox": 1} and first["total"] == 1
    assert first["kinds"] == {"dispatch": 1} and first["items"][0]["kind"] == "dispatch"
    assert first["items"][0]["module_label"] == "政府信箱" and first["items"][0]["due_at"]

    await dispatch(center, letter, "qd-housing", co_departments=["qd-env"])
    housing, env = await harness.staff("housing"), await harness.staff("env")
    assert (await todos(harness, center))["items"] == []
    assert labels(await todos(harness, housing)) == [(letter, "受理交办信件")]
    await housing.post(f"/api/v1/letters/{letter}/accept")
    assert labels(await todos(harness, env)) == [(letter, "提交协办意见")]
    # The lead cannot reply before the co-department's opinion, which it then sees.
    early = await housing.post(f"/api/v1/letters/{letter}/reply", {"text": "经核查已经处理完毕，特此答复。"})
    assert early.status == 409 and early.error_code == "co_opinions_pending"
    assert (await env.post(f"/api/v1/letters/{letter}/opinion", {"text": "建议联合执法"})).status == 200
    assert (await todos(harness, env))["items"] == []
    seen = (await housing.get(f"/api/v1/letters/{letter}")).body
    assert [o["text"] for o in seen["co_opinions"]] == ["建议联合执法"] and seen["co_opinions"][0]["at"].endswith("+08:00")

    await housing.post(f"/api/v1/letters/{letter}/info-request", {"question": "请提供工地的具体位置"})
    assert (await todos(harness, housing))["items"] == []
    mine = await todos(harness, citizen, "mp")
    assert labels(mine) == [(letter, "补充材料")] and mine["counts"] == {"mailbox": 1}
    await citizen.post(f"/mp/v1/letters/{letter}/info", {"text": "工地位于江西路18号"})
    assert (await todos(harness, citizen, "mp"))["items"] == []
    await housing.post(f"/api/v1/letters/{letter}/reply", {"text": "经核查已经处理完毕，特此答复。"})
    assert labels(await todos(harness, center)) == [(letter, "审核答复")]
    await center.post(f"/api/v1/letters/{letter}/review", {"approve": True})
    assert labels(await todos(harness, citizen, "mp")) == [(letter, "评价答复")]
    await citizen.post(f"/mp/v1/letters/{letter}/rating", {"level": "satisfied"})
    for client, face in ((citizen, "mp"), (center, "api"), (housing, "api"), (env, "api")):
        assert (await todos(harness, client, face))["items"] == []


async def test_sorted_by_due_date_with_one_cursor(harness: Harness, center) -> None:
    harness.ctx.clock.travel(datetime(2026, 11, 2, 9, 0, tzinfo=CHINA))  # Monday
    try:
        citizen = await harness.citizen("li_si")
        complaint = (await write_letter(citizen, type="complain"))["id"]  # 15 working days
        consult = (await write_letter(citizen, type="consult"))["id"]  # 5
        help_ = (await write_letter(citizen, type="help"))["id"]
        for letter in (complaint, consult, help_):
            await dispatch(center, letter, "qd-housing")
        housing = await harness.staff("housing")
        first = await todos(harness, housing, limit=2)
        assert [i["subject"]["id"] for i in first["items"]] == [consult, complaint] and first["next_cursor"]
        rest = await todos(harness, housing, limit=2, cursor=first["next_cursor"])
        assert [i["subject"]["id"] for i in rest["items"]] == [help_] and rest["next_cursor"] is None
        assert "counts" not in rest
        bad = await housing.get("/api/v1/todos", params={"cursor": "not-a-cursor"})
        assert bad.status == 400
    finally:
        harness.ctx.clock.travel_back()


async def test_a_first_page_is_built_again_only_when_something_on_it_changed(
        harness: Harness, center, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = 0
    build = queries.paginate_union

    async def counted(*args, **kwargs):
        nonlocal builds
        builds += 1
        return await build(*args, **kwargs)
    monkeypatch.setattr(queries, "paginate_union", counted)

    async def page(**params) -> list[tuple[str, str]]:  # no settle(): it projects every event again
        resp = await center.get("/api/v1/todos", params=params or None)
        assert resp.status == 200, resp.body
        return labels(resp.body)
    citizen = await harness.citizen("li_si")
    first = (await write_letter(citizen))["id"]
    await harness.settle()
    assert await page() == [(first, "分办信件")] and builds == 1
    assert await page() == [(first, "分办信件")] and builds == 1  # kept
    assert await page(limit=1) == [(first, "分办信件")] and builds == 2  # another size
    second = (await write_letter(citizen))["id"]
    await harness.settle()
    assert sorted(await page()) == sorted([(first, "分办信件"), (second, "分办信件")]) and builds == 3
    await dispatch(center, first, "qd-housing")
    await harness.settle()
    assert await page() == [(second, "分办信件")] and builds == 4
    assert await page() == [(second, "分办信件")] and builds == 4


async def test_a_change_another_process_made_shows_within_a_second(
        harness: Harness, center, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [time.monotonic()]
    monkeypatch.setattr(pages.time, "monotonic", lambda: clock[0])
    citizen = await harness.citizen("li_si")
    first = (await write_letter(citizen))["id"]
    assert labels(await todos(harness, center)) == [(first, "分办信件")]
    kept = pages.first_pages(harness.ctx.store)
    monkeypatch.setattr(kept, "changed", lambda: None)  # the projection runs in another process now
    second = (await write_letter(citizen))["id"]
    await harness.settle()
    assert labels((await center.get("/api/v1/todos")).body) == [(first, "分办信件")]  # not read again yet
    clock[0] += pages.RECHECK_SECONDS
    assert sorted(labels((await center.get("/api/v1/todos")).body)) == sorted([(first, "分办信件"),
                                                                               (second, "分办信件")])


async def test_a_kept_first_page_turns_overdue_when_a_due_time_on_it_passes(harness: Harness, center) -> None:
    harness.ctx.clock.travel(datetime(2026, 11, 2, 9, 0, tzinfo=CHINA))  # Monday
    try:
        citizen = await harness.citizen("li_si")
        await write_letter(citizen)
        [item] = (await todos(harness, center))["items"]
        assert item["overdue"] is False
        harness.ctx.clock.travel(datetime.fromisoformat(item["due_at"]) + timedelta(minutes=1))
        [late] = (await center.get("/api/v1/todos")).body["items"]  # nothing projected since: the same rows
        assert late["id"] == item["id"] and late["overdue"] is True
    finally:
        harness.ctx.clock.travel_back()


async def test_the_background_projection_keeps_lists_current(harness: Harness, center) -> None:
    citizen = await harness.citizen("li_si")
    letter = (await write_letter(citizen))["id"]
    deadline = time.monotonic() + 10
    while True:  # no settle(): the relay and the projection running in the app do it
        body = (await center.get("/api/v1/todos")).body
        if [i["subject"]["id"] for i in body["items"]] == [letter]:
            break
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)
