"""Supervision tasks: who sees a task (404 for everyone else), bad input (400, nothing stored),
actions in the wrong state (409, nothing changed), the refused extension, the reminder job's
rules, idempotent creation, the department lists, and the WeCom and inbox notifications."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from backend.clock import CHINA
from backend.office.tasks.use_cases import do_remind_late_reports
from backend.office.tasks.workflow import TASKS as COLLECTION
from push.app import start_push
from tests.conftest import ApiClient, Harness
from tests.office.kit_tasks import BODIES
from tests.office.test_tasks import MONDAY, TASKS, Feed, create, recipients, todos, user_id
from tests.push.conftest import FAST, WECOM_SEND, inbox, settle

OBJECT_ROUTES = [("GET", "", None), *(("POST", suffix, BODIES[model]) for suffix, model in (
    ("/opinion", "TaskOpinionIn"), ("/reports", "TaskReportIn"), ("/extension", "TaskExtensionIn"),
    ("/extension/decision", "TaskExtensionDecisionIn"), ("/completion", "TaskCompletionIn"),
    ("/review", "TaskReviewIn")))]


async def stored(harness: Harness, task_id: str) -> dict[str, Any]:
    doc = await harness.ctx.store.collection(COLLECTION).find_one({"_id": task_id})
    assert doc is not None
    return doc


async def count(harness: Harness) -> int:
    return await harness.ctx.store.collection(COLLECTION).count({})


async def test_only_the_tasks_people_see_it(harness: Harness) -> None:
    center, env = await harness.staff("center"), await harness.staff("env")
    leader = await user_id(await harness.staff("shinan_admin"))
    task = await create(center, leader, co_departments=["qd-urban"])
    url = f"{TASKS}/{task['id']}"
    for name in ("env", "committee"):
        stranger = await harness.staff(name)
        for method, suffix, body in OBJECT_ROUTES:
            resp = await stranger.request(method, url + suffix, body)
            assert resp.status == 404 and resp.error_code == "supervision_task_not_found", (name, suffix, resp.body)
    before = await stored(harness, task["id"])
    assert before["version"] == 1 and len(before["history"]) == 1
    # A missing task answers exactly the same.
    missing = await env.get(f"{TASKS}/{'0' * 20}")
    assert missing.status == 404 and missing.body == (await env.get(url)).body
    # The lead unit, the co-unit, the supervisor (and its office) and the leader see it.
    for name in ("housing", "officer", "center", "shinan_admin"):
        seen = await (await harness.staff(name)).get(url)
        assert seen.status == 200 and seen.body["id"] == task["id"], name
    for listed in (await env.get(f"{TASKS}/board"), await env.get(TASKS, params={"scope": "co"})):
        assert task["id"] not in [item["id"] for item in listed.body["items"]]
    # The citizen face has no way in.
    citizen = await harness.citizen("li_si")
    assert (await citizen.get(url)).status == 401


async def test_bad_input_is_refused_and_stores_nothing(harness: Harness) -> None:
    clock = harness.ctx.clock
    clock.travel(MONDAY)
    try:
        center = await harness.staff("center")
        valid = BODIES["TaskIn"]
        before = await count(harness)
        for change, field in (
                ({"title": "短"}, "title"), ({"deadline_days": 0}, "deadline_days"),
                ({"deadline_days": "10"}, "deadline_days"), ({"co_departments": ["qd-housing"]}, "body"),
                ({"report_every_days": 30, "deadline_days": 10}, "body"), ({"budget": 1}, "budget"),
                ({"source": {"kind": "rumour"}}, "source"),
                ({"source": {"kind": "instruction", "text": "请抓紧办理"}}, "source.instruction.leader_id"),
                ({"milestones": [{"name": "开工", "due_on": "2026-02-30"}]}, "milestones.0.due_on"),
                ({"milestones": [{"name": "开工", "due_on": "2026-10-30"}]}, "milestones.0.due_on"),
                ({"lead_department": "qd-nowhere"}, "lead_department"),
                ({"co_departments": ["qd-env", "qd-nowhere"]}, "co_departments"),
                ({"supervising_office": "qd-nowhere"}, "supervising_office"),
                ({"source": {"kind": "instruction", "text": "请抓紧办理", "leader_id": "0" * 20}}, "source.leader_id")):
            resp = await center.post(TASKS, {**valid, **change})
            assert resp.status == 400, (change, resp.body)
            assert resp.body["error"]["details"]["fields"][0]["field"] == field, (change, resp.body)
        assert await count(harness) == before

        task = await create(center, milestones=[{"name": "完成摸底", "due_on": "2026-11-06"}])
        url, housing = f"{TASKS}/{task['id']}", await harness.staff("housing")
        for body in ({"text": "进展", "milestones_done": ["m9"]}, {"text": "进展", "attachments": ["f" * 20]},
                     {"text": "进展", "milestones_done": ["first"]}, {"text": ""}):
            assert (await housing.post(f"{url}/reports", body)).status == 400, body
        assert (await center.post(f"{url}/review", {"accept": False})).status == 400
        assert (await housing.post(f"{url}/extension", {"reason": "需要更多时间", "days": 61})).status == 400
        # Only the lead unit marks milestones, and a milestone once.
        env = await harness.staff("env")
        not_lead = await env.post(f"{url}/reports", {"text": "协办进展", "milestones_done": ["m1"]})
        assert not_lead.status == 403 and not_lead.error_code == "not_lead_unit"
        after = await stored(harness, task["id"])
        assert after["version"] == 1 and after["reports"] == [] and len(after["history"]) == 1
        await housing.post(f"{url}/reports", {"text": "已完成摸底", "milestones_done": ["m1"]})
        twice = await housing.post(f"{url}/reports", {"text": "再次标记", "milestones_done": ["m1"]})
        assert twice.status == 409 and twice.error_code == "milestone_already_done"
        assert (await stored(harness, task["id"]))["version"] == 2
    finally:
        clock.travel_back()


async def test_wrong_state_or_wrong_actor_changes_nothing(harness: Harness) -> None:
    center, housing, env = await harness.staff("center"), await harness.staff("housing"), await harness.staff("env")
    task = await create(center)
    url = f"{TASKS}/{task['id']}"

    async def refused(client: ApiClient, suffix: str, body: dict[str, Any], status: int, code: str) -> None:
        before = await stored(harness, task["id"])
        resp = await client.post(url + suffix, body)
        assert resp.status == status and resp.error_code == code, (suffix, resp.body)
        after = await stored(harness, task["id"])
        assert (after["version"], after["state"], after["history"]) == (before["version"], before["state"],
                                                                        before["history"])

    await refused(center, "/review", {"accept": True}, 409, "invalid_transition")
    await refused(center, "/extension/decision", {"approve": True}, 409, "no_extension_pending")
    await refused(housing, "/opinion", {"text": "主办单位的意见"}, 403, "not_co_unit")
    await refused(env, "/extension", {"reason": "协办单位申请延期", "days": 3}, 403, "not_lead_unit")
    await refused(env, "/completion", {"text": "协办单位不能提交办结报告的。"}, 403, "not_lead_unit")
    await refused(housing, "/completion", {"text": "协办意见未到不能办结。"}, 409, "co_opinions_pending")
    stale = await housing.post(f"{url}/reports", {"text": "旧版本上的进展"}, headers={"If-Match": '"7"'})
    assert stale.status == 409 and stale.error_code == "version_conflict"
    await env.post(f"{url}/opinion", {"text": "同意"})
    await housing.post(f"{url}/completion", {"text": "已全部办结，请审核。"})
    await refused(housing, "/reports", {"text": "审核中报送进展"}, 409, "invalid_transition")
    await refused(housing, "/completion", {"text": "重复提交一次办结报告。"}, 409, "invalid_transition")
    await refused(housing, "/review", {"accept": True}, 403, "not_task_supervisor")
    await refused(housing, "/extension", {"reason": "审核中申请延期", "days": 3}, 409, "invalid_transition")
    assert (await center.post(f"{url}/review", {"accept": True})).body["state"] == "done"
    await refused(center, "/review", {"accept": False, "reason": "办结后不能退回"}, 409, "invalid_transition")


async def test_a_refused_extension_changes_no_deadline(harness: Harness) -> None:
    center, housing = await harness.staff("center"), await harness.staff("housing")
    task = await create(center)
    url = f"{TASKS}/{task['id']}"
    feed = Feed(harness, task["id"])
    await feed.new()
    await housing.post(f"{url}/extension", {"reason": "需要等待上级批复", "days": 10})
    (asked,) = await feed.new()
    assert asked["type"] == "supervision_task.extension_requested"
    assert recipients(asked) == {f"user:{await user_id(center)}"} and asked["data"]["days"] == 10
    refused = (await center.post(f"{url}/extension/decision", {"approve": False, "comment": "时间充足"})).body
    assert refused["due_at"] == task["due_at"] and refused["extension"]["state"] == "refused"
    assert refused["deadline"]["extensions"] == []
    (decided,) = await feed.new()
    assert decided["data"]["decision_label"] == "未获批准" and recipients(decided) == {"department:qd-housing"}
    # A new request may follow a decision.
    assert (await housing.post(f"{url}/extension", {"reason": "上级批复已到，仍需时间", "days": 3})).status == 200


async def test_the_reminder_is_once_per_period_and_only_while_in_progress(harness: Harness) -> None:
    clock = harness.ctx.clock
    clock.travel(MONDAY)
    try:
        center, housing, env = await harness.staff("center"), await harness.staff("housing"), await harness.staff("env")
        task = await create(center, report_every_days=2)  # first report due at the end of Wednesday
        quiet = await create(center, report_every_days=2)
        url, feed = f"{TASKS}/{task['id']}", Feed(harness, task["id"])
        await env.post(f"{TASKS}/{quiet['id']}/opinion", {"text": "同意"})
        await housing.post(f"{TASKS}/{quiet['id']}/completion", {"text": "已全部办结，请审核。"})
        clock.travel(datetime(2026, 11, 4, 20, 0, tzinfo=CHINA))  # not late yet
        await do_remind_late_reports(harness.ctx)
        assert await feed.new("report_overdue") == []
        clock.travel(datetime(2026, 11, 5, 9, 0, tzinfo=CHINA))
        await do_remind_late_reports(harness.ctx)
        await do_remind_late_reports(harness.ctx)
        assert len(await feed.new("report_overdue")) == 1
        # The task under review is late too, but nobody owes a report on it.
        assert await Feed(harness, quiet["id"]).new("report_overdue") == []
        assert [h["action"] for h in (await stored(harness, quiet["id"]))["history"]][-1] == "submit_completion"
        # A co-unit's report does not answer for the lead unit.
        await env.post(f"{url}/reports", {"text": "协办单位进展"})
        assert await todos(harness, housing, task["id"]) == [("报送督办进展", "report", None)]
        await housing.post(f"{url}/reports", {"text": "主办单位进展"})
        clock.travel(datetime(2026, 11, 10, 9, 0, tzinfo=CHINA))  # the next period lapsed too
        await do_remind_late_reports(harness.ctx)
        assert len(await feed.new("report_overdue")) == 1
    finally:
        clock.travel_back()


async def test_create_is_idempotent_and_lists_by_department(harness: Harness) -> None:
    center = await harness.staff("center")
    key = {"Idempotency-Key": "task-create-1"}
    first = await center.post(TASKS, BODIES["TaskIn"], headers=key)
    replay = await center.post(TASKS, BODIES["TaskIn"], headers=key)
    assert first.status == replay.status == 201 and replay.body["id"] == first.body["id"]
    assert await harness.ctx.store.collection(COLLECTION).count({"_id": first.body["id"]}) == 1
    task_id = first.body["id"]
    housing, officer = await harness.staff("housing"), await harness.staff("officer")

    def ids(resp: Any) -> list[str]:
        assert resp.status == 200, resp.body
        return [item["id"] for item in resp.body["items"]]

    assert task_id in ids(await housing.get(TASKS))
    assert task_id not in ids(await housing.get(TASKS, params={"scope": "co"}))
    assert task_id in ids(await officer.get(TASKS, params={"scope": "co"}))
    assert task_id in ids(await center.get(TASKS, params={"scope": "office"}))
    assert task_id not in ids(await housing.get(TASKS, params={"state": "done"}))
    assert (await housing.get(TASKS, params={"scope": "everything"})).status == 400


async def test_wecom_and_inbox_tell_the_next_actor(harness: Harness) -> None:
    await start_push(harness.ctx, FAST)
    center, housing = await harness.staff("center"), await harness.staff("housing")
    housing_id, center_id = await user_id(housing), await user_id(center)
    task = await create(center, co_departments=[])
    await settle(harness)
    (told,) = [n for n in await inbox(harness, housing_id) if n["type"] == "supervision_task.created"]
    assert told["title"] == "新督办事项" and "市住房和城乡建设局主办" in told["body"]
    assert told["channels"]["wecom"]["state"] == "sent"
    await housing.post(f"{TASKS}/{task['id']}/completion", {"text": "已全部办结，请审核。"})
    await settle(harness)
    (review,) = [n for n in await inbox(harness, center_id) if n["type"] == "supervision_task.completion_submitted"]
    assert review["title"] == "办结报告待审核" and review["channels"]["wecom"]["state"] == "sent"
    told_by_wecom = {name for call in harness.wechat.calls_to(WECOM_SEND) for name in call.body["touser"].split("|")}
    assert told_by_wecom >= {"housing", "center"}


async def test_demo_tasks_in_each_state_made_once(harness: Harness) -> None:
    from backend.demo import ACCOUNTS  # noqa: PLC0415 - only this test needs the demo's account list
    from backend.office.tasks.demo import create_demo_tasks  # noqa: PLC0415

    accounts = [{"username": username} for username, *_rest in ACCOUNTS]
    await create_demo_tasks(harness.ctx, accounts)  # (a demo city may already hold them)
    tasks = [await stored(harness, f"{0xd0b5:04x}{n:016x}") for n in range(1, 6)]
    shown = [(t["state"], (t["deadline"] or {}).get("running"), len(t.get("send_backs", []))) for t in tasks]
    assert shown == [("in_progress", True, 0), ("in_progress", True, 0), ("completion_review", True, 0),
                     ("in_progress", True, 1), ("done", False, 0)]
    assert tasks[0]["reports"] and tasks[0]["milestones"][0]["done_at"]
    assert tasks[1]["deadline"]["due_at"] < harness.ctx.clock.stored()  # overdue
    assert tasks[2]["deadline"]["extensions"] and tasks[4]["deadline"]["met"] is True
    versions = [t["version"] for t in tasks]
    assert await create_demo_tasks(harness.ctx, accounts) == []
    assert [(await stored(harness, t["_id"]))["version"] for t in tasks] == versions
    center = await harness.staff("center")
    board = (await center.get(f"{TASKS}/board")).body
    assert {t["_id"] for t in tasks[:4]} <= {item["id"] for item in board["items"]}
    assert harness.ctx.clock.now() - datetime.now(CHINA) < timedelta(seconds=5)  # the clock is back
