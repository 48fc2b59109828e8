"""The notices' rules around the journeys: another department sees nothing (404 on every object
route), nothing reaches the citizen face, bad input changes nothing, groups belong to their
department, and a distribution cut short by a crash is finished by the job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backend.app import all_routes
from backend.errors import Unavailable
from backend.http.endpoint import HTTP_METHODS, spec_of
from backend.office.notices import use_cases
from backend.office.notices.use_cases import run_notice_jobs
from handlers.office.notices import ROUTES
from tests.conftest import Harness
from tests.office import kit_notices
from tests.office.kit_notices import BODIES, OBJECT_PARAMS, add_staff, login, meeting_body, notice_body, user_id
from tests.office.test_notices import NOTICES, of_type, todos

STORED = ("office_notices", "office_notice_receipts", "office_groups")


async def counts(harness: Harness) -> dict[str, int]:
    return {name: await harness.ctx.store.collection(name).count({}) for name in STORED}


def path_of(pattern: str, values: dict[str, str]) -> str:
    path = pattern
    for name, value in values.items():
        path = path.replace(f"(?P<{name}>[0-9a-f]{{20}})", value)
    return path


async def test_another_department_gets_404_on_every_object_route(harness: Harness) -> None:
    values = await kit_notices.make(harness)
    env, officer = await harness.staff("env"), await harness.staff("officer")
    probed = 0
    for route in ROUTES:
        if not OBJECT_PARAMS & set(route.path_params):
            continue
        path = path_of(route.pattern, values)
        for method in HTTP_METHODS:
            spec = spec_of(route.handler, method)
            if spec is None:
                continue
            body = dict(BODIES.get(spec.body.__name__, {})) if spec.body else None
            resp = await env.request(method.upper(), path, body)
            assert resp.status == 404 and resp.error_code in ("notice_not_found", "office_group_not_found"), (
                method, path, resp.body)
            probed += 1
    assert probed == 14
    # The same answer as for a notice that does not exist; a recipient elsewhere does see it.
    missing = await env.get(f"{NOTICES}/{'0' * 20}")
    assert missing.status == 404 and missing.body == (await env.get(f"{NOTICES}/{values['notice_id']}")).body
    assert (await officer.get(f"{NOTICES}/{values['notice_id']}")).status == 200
    assert (await officer.get(f"/api/v1/office/groups/{values['office_group_id']}")).status == 404


async def test_nothing_of_notices_reaches_the_citizen_face(harness: Harness) -> None:
    values = await kit_notices.make(harness)
    assert not [r.pattern for r in all_routes() if r.pattern.startswith("/mp/") and "notice" in r.pattern]
    citizen = await harness.citizen("li_si")
    for path in (NOTICES, f"{NOTICES}/{values['notice_id']}", "/api/v1/office/groups"):
        assert (await citizen.get(path)).status == 401
    assert (await citizen.get(f"/mp/v1/office/notices/{values['notice_id']}")).status == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"title": ""}, "title"),
    ({"title": "通" * 101}, "title"),
    ({"audience": {}}, "audience"),
    ({"audience": {"departments": ["qd-env"] * 201}}, "audience.departments"),
    ({"kind": "meeting"}, "body"),
    ({"place": "一楼会议室"}, "body"),
    ({"kind": "circular"}, "kind"),
    ({"remind_after_hours": 0}, "remind_after_hours"),
    ({"remind_after_hours": "24"}, "remind_after_hours"),
    ({"attachments": ["0" * 20]}, "attachments"),
    ({"audience": {"departments": ["qd-nowhere"]}}, "audience.departments"),
    ({"audience": {"groups": ["0" * 20]}}, "audience.groups"),
    ({"audience": {"people": ["0" * 20]}}, "audience.people"),
    ({"secret": True}, "secret"),
])
async def test_bad_notices_are_refused_with_nothing_stored(harness: Harness, change: dict[str, Any],
                                                          field: str) -> None:
    housing = await harness.staff("housing")
    drafted = {e["id"] for e in await harness.settle() if e["type"] == "notice.drafted"}
    before = await counts(harness)
    resp = await housing.post(NOTICES, {**notice_body(), **change})
    assert resp.status == 400, resp.body
    assert field in [item["field"] for item in resp.body["error"]["details"]["fields"]], resp.body
    assert await counts(harness) == before
    assert {e["id"] for e in await harness.settle() if e["type"] == "notice.drafted"} == drafted


async def test_bad_meetings_are_refused(harness: Harness) -> None:
    housing = await harness.staff("housing")
    before = await counts(harness)
    start = kit_notices.MEETING_START
    for bad in (meeting_body(ends_at=start.isoformat()),  # ends when it starts
                meeting_body(starts_at="2031-05-20T09:00:00"),  # no time zone
                meeting_body(starts_at="明天上午"),
                meeting_body(ends_at=(start + timedelta(days=8)).isoformat()),
                {**meeting_body(), "place": None}):
        resp = await housing.post(NOTICES, bad)
        assert resp.status == 400 and resp.error_code == "validation_failed", (bad, resp.body)
    assert await counts(harness) == before


async def test_a_disabled_person_is_refused_and_an_other_departments_group_is_unknown(harness: Harness) -> None:
    housing, env = await harness.staff("housing"), await harness.staff("env")
    gone = await add_staff(harness, "qd-env", "retired", disabled=True)
    resp = await housing.post(NOTICES, notice_body(audience={"people": [gone["retired"]]}))
    assert resp.status == 400 and resp.error_code == "invalid_audience"
    theirs = await env.post("/api/v1/office/groups", {"name": "环保联络员", "members": [await user_id(harness, "env")]})
    assert theirs.status == 201
    resp = await housing.post(NOTICES, notice_body(audience={"groups": [theirs.body["id"]]}))
    assert resp.status == 400 and resp.body["error"]["details"]["fields"][0]["field"] == "audience.groups"


async def test_groups_belong_to_their_department(harness: Harness) -> None:
    housing, env = await harness.staff("housing"), await harness.staff("env")
    people = await add_staff(harness, "qd-env", "env_a", "env_b")
    made = await housing.post("/api/v1/office/groups", {"name": "联络员", "members": [people["env_a"]]})
    assert made.status == 201 and made.body["members"][0]["name"] == "env_a", made.body
    group_id = made.body["id"]
    twice = await housing.post("/api/v1/office/groups", {"name": "联络员", "members": [people["env_b"]]})
    assert twice.status == 409 and twice.error_code == "office_group_name_taken"
    unknown = await housing.post("/api/v1/office/groups", {"name": "空组", "members": ["0" * 20]})
    assert unknown.status == 400 and unknown.error_code == "invalid_members"
    assert (await env.get(f"/api/v1/office/groups/{group_id}")).status == 404
    assert group_id not in [g["id"] for g in (await env.get("/api/v1/office/groups")).body["items"]]
    changed = await housing.patch(f"/api/v1/office/groups/{group_id}", {"members": [people["env_a"], people["env_b"]]},
                                  headers={"If-Match": '"1"'})
    assert changed.status == 200 and changed.body["version"] == 2 and len(changed.body["members"]) == 2
    stale = await housing.patch(f"/api/v1/office/groups/{group_id}", {"name": "联络员二"}, headers={"If-Match": '"1"'})
    assert stale.status == 409 and stale.error_code == "version_conflict"
    assert "联络员" in [g["name"] for g in (await housing.get("/api/v1/office/groups")).body["items"]]
    # Used as an audience: its members as they are at publishing.
    draft = await housing.post(NOTICES, notice_body(audience={"groups": [group_id]}))
    await housing.patch(f"/api/v1/office/groups/{group_id}", {"members": [people["env_b"]]})
    published = await housing.post(f"{NOTICES}/{draft.body['id']}/publish")
    assert published.body["recipient_count"] == 1
    assert (await (await login(harness, people["env_a"])).get(f"{NOTICES}/{draft.body['id']}")).status == 404


async def test_a_retried_create_returns_the_first_draft(harness: Harness) -> None:
    housing = await harness.staff("housing")
    key = {"Idempotency-Key": "draft-2026-001"}
    before = await harness.ctx.store.collection("office_notices").count({})
    first = await housing.post(NOTICES, notice_body(), headers=key)
    replay = await housing.post(NOTICES, notice_body(), headers=key)
    assert first.status == replay.status == 201 and replay.body["id"] == first.body["id"]
    assert await harness.ctx.store.collection("office_notices").count({}) == before + 1


async def test_a_distribution_cut_short_is_finished_by_the_job(harness: Harness, monkeypatch) -> None:
    housing = await harness.staff("housing")
    people = await add_staff(harness, "qd-env", *(f"env_{i}" for i in range(6)))
    draft = await housing.post(NOTICES, notice_body(audience={"departments": ["qd-env"]}))
    notice_id = draft.body["id"]
    real = use_cases.create_cases

    async def dies_half_way(ctx, workflow, cases, **kwargs):  # the process dies after half the receipts
        cases = list(cases)
        await real(ctx, workflow, cases[: len(cases) // 2], **kwargs)
        raise Unavailable()

    monkeypatch.setattr(use_cases, "create_cases", dies_half_way)
    cut = await housing.post(f"{NOTICES}/{notice_id}/publish")
    assert cut.status == 503
    monkeypatch.setattr(use_cases, "create_cases", real)
    stored = await harness.ctx.store.collection("office_notices").find_one({"_id": notice_id})
    assert stored["state"] == "distributing" and stored["recipient_count"] == 8
    assert await harness.ctx.store.collection("office_notice_receipts").count({"notice_id": notice_id}) == 4
    events = await harness.settle()
    assert of_type(events, "notice.published", notice_id) == []  # nobody is told of a half-written distribution

    assert (await run_notice_jobs(harness.ctx))["distributed"] == 0  # it may still be under way
    harness.ctx.clock.travel(harness.ctx.clock.now() + timedelta(minutes=3))
    try:
        assert (await run_notice_jobs(harness.ctx))["distributed"] == 1
    finally:
        harness.ctx.clock.travel_back()
    assert await harness.ctx.store.collection("office_notice_receipts").count({"notice_id": notice_id}) == 8
    events = await harness.settle()
    (told,) = of_type(events, "notice.published", notice_id)
    assert told["actor"] == "system" and len(of_type(events, "notice_receipt.created", notice_id)) == 8
    last = await login(harness, people["env_5"])
    assert await todos(harness, last, notice_id) == [(f"{notice_id}-{people['env_5']}", "阅读通知", "read")]
    assert (await housing.get(f"{NOTICES}/{notice_id}")).body["state"] == "published"
