"""Notices through HTTP: a notice from draft to distribution (to departments, a group and a named
person), read receipts per person and department, who has not read, reminders by hand and
automatically after N hours, closing and withdrawing; the events each step emits."""

from __future__ import annotations

from datetime import timedelta

from backend.clock import from_storage
from backend.modules import notification_rule, silent_events
from backend.office.notices.use_cases import run_notice_jobs
from tests.conftest import ApiClient, Harness
from tests.office.kit_notices import add_staff, login, notice_body, user_id

NOTICES = "/api/v1/office/notices"


def about(subject_id: str, notice_id: str) -> bool:
    """The notice itself, or one of its receipts (``<notice_id>-<user_id>``). Tests look at their
    own notices only: the demo city may hold others."""
    return subject_id == notice_id or subject_id.startswith(f"{notice_id}-")


async def todos(harness: Harness, client: ApiClient, notice_id: str) -> list[tuple[str, str, str]]:
    """The client's to-dos about one notice."""
    await harness.settle()
    resp = await client.get("/api/v1/todos", params={"module": "office", "limit": 100})
    assert resp.status == 200, resp.body
    return [(item["subject"]["id"], item["label"], item["kind"]) for item in resp.body["items"]
            if about(item["subject"]["id"], notice_id)]


def of_type(events: list[dict], event_type: str, notice_id: str) -> list[dict]:
    return [event for event in events if event["type"] == event_type and about(event["subject"]["id"], notice_id)]


def mine(items: list[dict], notice_id: str) -> list[dict]:
    return [item for item in items if item["id"] == notice_id]


def users(event: dict) -> set[str]:
    return {r["id"] for r in event["recipients"] if r["kind"] == "user"}


def departments(event: dict) -> set[str]:
    return {r["code"] for r in event["recipients"] if r["kind"] == "department"}


async def city(harness: Harness) -> dict[str, str]:
    """Beyond the demo's one person per department: colleagues in 生态环境局 and 交通运输局 (one
    of them disabled), one in 教育局 and one in 卫健委."""
    people = {"env": await user_id(harness, "env"),
              **await add_staff(harness, "qd-env", "env_a", "env_b"),
              **await add_staff(harness, "qd-transport", "tr_a", "tr_b"),
              **await add_staff(harness, "qd-transport", "tr_gone", disabled=True),
              **await add_staff(harness, "qd-edu", "edu_a"),
              **await add_staff(harness, "qd-health", "health_a")}
    return people


async def test_a_notice_from_draft_to_its_readers(harness: Harness) -> None:
    housing = await harness.staff("housing")
    people = await city(harness)
    await harness.settle()
    # A group of the issuing department: one 教育局 member, and one already in a told department.
    group = await housing.post("/api/v1/office/groups", {"name": "安全联络员", "members": [people["edu_a"], people["env_a"]]})
    assert group.status == 201, group.body
    audience = {"departments": ["qd-env", "qd-transport"], "groups": [group.body["id"]], "people": [people["health_a"]]}
    draft = await housing.post(NOTICES, notice_body(audience=audience, remind_after_hours=4))
    assert draft.status == 201 and draft.body["state"] == "draft", draft.body
    notice_id = draft.body["id"]
    assert (await (await harness.staff("env")).get(f"{NOTICES}/{notice_id}")).status == 404  # a draft: its department's
    assert await todos(harness, housing, notice_id) == [(notice_id, "发布通知", "handle")]

    edited = await housing.put(f"{NOTICES}/{notice_id}", notice_body(audience=audience, remind_after_hours=4,
                                                                       title="关于开展汛期安全大检查的通知"),
                               headers={"If-Match": f'"{draft.body["version"]}"'})
    assert edited.status == 200 and edited.body["title"] == "关于开展汛期安全大检查的通知"
    stale = await housing.post(f"{NOTICES}/{notice_id}/publish", headers={"If-Match": f'"{draft.body["version"]}"'})
    assert stale.status == 409 and stale.error_code == "version_conflict"

    published = await housing.post(f"{NOTICES}/{notice_id}/publish")
    assert published.status == 200, published.body
    # 生态环境局's three clerks and its head, 交通运输局's two and its clerk (not the disabled one), the
    # group's 教育局 member and the one named: nine.
    assert published.body["state"] == "published" and published.body["recipient_count"] == 9
    assert published.body["published_at"].endswith("+08:00")
    again = await housing.post(f"{NOTICES}/{notice_id}/publish")
    assert again.status == 409 and again.error_code == "invalid_transition"

    # Push hears of it once: the departments and the people outside them. The receipts' events are silent.
    events = await harness.settle()
    assert [e["type"] for e in events if e["subject"]["id"] == notice_id] == [
        "notice.drafted", "notice.edited", "notice.distribution_started", "notice.published"]
    (told,) = of_type(events, "notice.published", notice_id)
    assert departments(told) == {"qd-env", "qd-transport"}
    assert users(told) == {people["edu_a"], people["health_a"]}
    assert told["data"]["department_name"] == "市住房和城乡建设局" and told["data"]["kind_label"] == "通知公告"
    created = of_type(events, "notice_receipt.created", notice_id)
    everyone = {people[name] for name in ("env", "env_a", "env_b", "tr_a", "tr_b", "edu_a", "health_a")}
    everyone |= {await user_id(harness, name) for name in ("env_lead", "transport")}  # the demo's other staff there
    assert len(created) == 9 and {e["todo"]["items"][0]["actor"] for e in created} == {f"user:{u}" for u in everyone}
    assert all(e["recipients"] == [] for e in created)
    assert "notice_receipt.created" in silent_events() and notification_rule("notice_receipt.created") is None
    assert notification_rule("notice.published").staff.wecom

    env = await harness.staff("env")
    receipt = f"{notice_id}-{people['env']}"
    assert await todos(harness, env, notice_id) == [(receipt, "阅读通知", "read")]
    assert await todos(harness, housing, notice_id) == []
    gone = await login(harness, people["tr_gone"])
    assert (await gone.get(f"{NOTICES}/{notice_id}")).status in (401, 404)  # disabled: no receipt

    # Reading: recorded once, the to-do goes.
    seen = await env.get(f"{NOTICES}/{notice_id}")
    assert seen.status == 200 and seen.body["my_receipt"]["state"] == "unread" and "audience" not in seen.body
    first = await env.post(f"{NOTICES}/{notice_id}/read")
    assert first.status == 200 and first.body["my_receipt"]["state"] == "read"
    second = await env.post(f"{NOTICES}/{notice_id}/read")
    assert second.body["my_receipt"] == first.body["my_receipt"]
    assert await todos(harness, env, notice_id) == []
    for name in ("tr_a", "edu_a"):
        assert (await (await login(harness, people[name])).post(f"{NOTICES}/{notice_id}/read")).status == 200
    inbox = await env.get(NOTICES)
    assert [(i["id"], i["my_receipt"]["state"]) for i in mine(inbox.body["items"], notice_id)] == [(notice_id, "read")]
    assert mine((await env.get(NOTICES, params={"unread": "true"})).body["items"], notice_id) == []

    # The issuing department's view: per department, per person, who has not read (paged).
    summary = (await housing.get(f"{NOTICES}/{notice_id}/receipts/summary")).body
    # (with the demo's 生态环境局局长 and 交通局经办人 among the unread)
    assert (summary["total"], summary["read"], summary["unread"]) == (9, 3, 6)
    assert [(d["department"], d["total"], d["read"], d["unread"]) for d in summary["departments"]] == [
        ("qd-edu", 1, 1, 0), ("qd-env", 4, 1, 3), ("qd-health", 1, 0, 1), ("qd-transport", 3, 1, 2)]
    assert summary["departments"][1]["department_name"] == "市生态环境局"
    unread, cursor = [], None
    while True:
        page = await housing.get(f"{NOTICES}/{notice_id}/receipts",
                                 params={"read": "false", "limit": 3, **({"cursor": cursor} if cursor else {})})
        assert page.status == 200 and len(page.body["items"]) <= 3
        unread += page.body["items"]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    expected_unread = {people[name] for name in ("env_a", "env_b", "health_a", "tr_b")}
    expected_unread |= {await user_id(harness, name) for name in ("env_lead", "transport")}
    assert {item["user_id"] for item in unread} == expected_unread and len(unread) == 6
    read = (await housing.get(f"{NOTICES}/{notice_id}/receipts", params={"read": "true"})).body["items"]
    assert {(i["name"], i["read_at"][-6:]) for i in read} == {("生态环境局经办人", "+08:00"), ("tr_a", "+08:00"),
                                                            ("edu_a", "+08:00")}
    assert (await env.get(f"{NOTICES}/{notice_id}/receipts")).error_code == "not_issuing_department"
    assert (await (await harness.staff("officer")).get(f"{NOTICES}/{notice_id}")).status == 404

    # 催办 by hand: one event naming exactly those who have not read; not again at once.
    read_before = (await housing.get(f"{NOTICES}/{notice_id}")).body["version"]
    reminded = await housing.post(f"{NOTICES}/{notice_id}/reminders", {"comment": "请于今天下班前阅读"})
    assert reminded.status == 200 and reminded.body["reminded"] == 6
    (reminder,) = of_type(await harness.settle(), "notice.reminded", notice_id)
    assert users(reminder) == expected_unread and departments(reminder) == set()
    assert reminder["data"]["automatic"] is False and reminder["data"]["comment"] == "请于今天下班前阅读"
    soon = await housing.post(f"{NOTICES}/{notice_id}/reminders", {})
    assert soon.status == 409 and soon.error_code == "reminded_recently"
    assert (await env.post(f"{NOTICES}/{notice_id}/reminders", {})).error_code == "not_issuing_department"

    # Automatically once, 4 hours after publishing (the job acts as the system).
    assert (await (await login(harness, people["env_a"])).post(f"{NOTICES}/{notice_id}/read")).status == 200
    published_at = from_storage((await harness.ctx.store.collection("office_notices").find_one(
        {"_id": notice_id}))["published_at"])
    assert (await run_notice_jobs(harness.ctx))["reminded"] == 0  # not due yet
    harness.ctx.clock.travel(published_at + timedelta(hours=4, minutes=1))
    try:
        assert (await run_notice_jobs(harness.ctx))["reminded"] == 1
        assert (await run_notice_jobs(harness.ctx))["reminded"] == 0  # once
    finally:
        harness.ctx.clock.travel_back()
    events = await harness.settle()
    automatic = [e for e in of_type(events, "notice.reminded", notice_id) if e["data"]["automatic"]]
    assert len(automatic) == 1 and automatic[0]["actor"] == "system"
    assert users(automatic[0]) == {people[name] for name in ("env_b", "health_a", "tr_b")} | {
        await user_id(harness, name) for name in ("env_lead", "transport")}
    detail = (await housing.get(f"{NOTICES}/{notice_id}")).body
    assert [(r["count"], r["automatic"]) for r in detail["reminders"]] == [(6, False), (5, True)]
    assert detail["history"][-1]["by"] == "system" and detail["read_counts"] == {"total": 9, "read": 4, "unread": 5}

    # Closed: nobody is asked any more; reading afterwards is not recorded. The reminders changed
    # nothing the issuer acts on: the version read before them still holds.
    assert detail["version"] == read_before
    closed = await housing.post(f"{NOTICES}/{notice_id}/close", headers={"If-Match": f'"{read_before}"'})
    assert closed.status == 200 and closed.body["state"] == "closed"
    env_b = await login(harness, people["env_b"])
    assert await todos(harness, env_b, notice_id) == []
    late = await env_b.post(f"{NOTICES}/{notice_id}/read")
    assert late.status == 200 and late.body["my_receipt"]["state"] == "lapsed"
    summary = (await housing.get(f"{NOTICES}/{notice_id}/receipts/summary")).body
    assert (summary["read"], summary["unread"]) == (4, 5)
    assert (await housing.post(f"{NOTICES}/{notice_id}/reminders", {})).error_code == "invalid_transition"


async def test_a_withdrawn_notice_leaves_every_list(harness: Harness) -> None:
    housing = await harness.staff("housing")
    people = await city(harness)
    draft = await housing.post(NOTICES, notice_body(audience={"departments": ["qd-env"]}))
    notice_id = draft.body["id"]
    assert (await housing.post(f"{NOTICES}/{notice_id}/publish")).status == 200
    env = await harness.staff("env")
    await env.post(f"{NOTICES}/{notice_id}/read")
    env_a = await login(harness, people["env_a"])
    assert await todos(harness, env_a, notice_id) == [(f"{notice_id}-{people['env_a']}", "阅读通知", "read")]

    assert (await env.post(f"{NOTICES}/{notice_id}/withdraw", {"reason": "内容有误，另行通知"})).status == 403
    withdrawn = await housing.post(f"{NOTICES}/{notice_id}/withdraw", {"reason": "内容有误，另行通知"})
    assert withdrawn.status == 200 and withdrawn.body["state"] == "withdrawn"
    assert withdrawn.body["withdrawn"]["reason"] == "内容有误，另行通知"
    events = await harness.settle()
    (told,) = of_type(events, "notice.withdrawn", notice_id)
    assert departments(told) == {"qd-env"} and told["data"]["reason"] == "内容有误，另行通知"
    assert len(of_type(events, "notice_receipt.withdrawn", notice_id)) == 3  # the three who had not read
    assert await todos(harness, env_a, notice_id) == []
    mine = (await env.get(f"{NOTICES}/{notice_id}")).body
    assert mine["state"] == "withdrawn" and mine["my_receipt"]["state"] == "read"


async def test_a_draft_is_discarded_and_an_empty_audience_is_refused(harness: Harness) -> None:
    housing = await harness.staff("housing")
    me = await user_id(harness, "housing")
    # Only the author in the audience: nobody to send it to.
    lonely = await housing.post(NOTICES, notice_body(audience={"people": [me]}))
    assert lonely.status == 201
    refused = await housing.post(f"{NOTICES}/{lonely.body['id']}/publish")
    assert refused.status == 409 and refused.error_code == "no_recipients"
    notice_id = lonely.body["id"]
    assert await harness.ctx.store.collection("office_notice_receipts").count({"notice_id": notice_id}) == 0
    discarded = await housing.post(f"{NOTICES}/{lonely.body['id']}/discard")
    assert discarded.status == 200 and discarded.body["state"] == "discarded"
    assert await todos(harness, housing, notice_id) == []
    issued = (await housing.get(NOTICES, params={"box": "issued"})).body["items"]
    assert [(i["id"], i["state"]) for i in issued][0] == (notice_id, "discarded")  # newest first
