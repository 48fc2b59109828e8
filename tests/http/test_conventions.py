"""The API conventions every endpoint shares: error envelope, validation, body limits,
idempotency, ETag/If-Match, JSON 404/405, OpenAPI, health and metrics."""

from __future__ import annotations

import uuid
from datetime import datetime

from openapi_spec_validator import validate

from backend.clock import CHINA
from tests.conftest import Harness

NEW_DEPARTMENT = {"code": "qd-water", "name": "市水务管理局", "kind": "department", "parent": "qd"}


async def departments_count(harness: Harness) -> int:
    return await harness.ctx.store.collection("departments").count({})


def assert_error(resp, status: int, code: str) -> None:
    assert resp.status == status, resp.body
    assert set(resp.body) == {"error"}
    assert resp.body["error"]["code"] == code
    assert isinstance(resp.body["error"]["message"], str) and resp.body["error"]["message"]
    assert isinstance(resp.body["error"]["details"], dict)


async def test_bad_input_is_refused_and_writes_nothing(harness: Harness) -> None:
    admin = await harness.staff("admin")
    before = await departments_count(harness)
    assert_error(await admin.post("/api/v1/departments", raw=b'{"code": "x",'), 400, "invalid_json")
    assert_error(await admin.post("/api/v1/departments", raw=b"\xff\xfe\x00"), 400, "invalid_json")
    assert_error(await admin.post("/api/v1/departments", raw=b"[1, 2]"), 400, "invalid_json")
    wrong_type = await admin.post("/api/v1/departments", {**NEW_DEPARTMENT, "name": 123})
    assert_error(wrong_type, 400, "validation_failed")
    assert wrong_type.body["error"]["details"]["fields"] == [{"field": "name", "message": "应为文本"}]
    unknown = await admin.post("/api/v1/departments", {**NEW_DEPARTMENT, "budget": 1})
    assert_error(unknown, 400, "validation_failed")
    assert unknown.body["error"]["details"]["fields"][0] == {"field": "budget", "message": "不允许的字段"}
    too_long = await admin.post("/api/v1/departments", {**NEW_DEPARTMENT, "name": "局" * 51})
    assert too_long.body["error"]["details"]["fields"][0]["message"] == "长度不能超过 50 个字符"
    bad_enum = await admin.post("/api/v1/departments", {**NEW_DEPARTMENT, "kind": "planet"})
    assert_error(bad_enum, 400, "validation_failed")
    oversized = await admin.post("/api/v1/departments", raw=b'{"name": "' + b"a" * (1024 * 1024 + 10) + b'"}')
    assert_error(oversized, 413, "payload_too_large")
    nested = b'{"name":' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert (await admin.post("/api/v1/departments", raw=nested)).status == 400
    operator = await admin.post("/api/v1/departments", {**NEW_DEPARTMENT, "code": {"$gt": ""}})
    assert_error(operator, 400, "validation_failed")
    assert await departments_count(harness) == before


async def test_forbidden_role_gets_403_and_writes_nothing(harness: Harness) -> None:
    clerk = await harness.staff("housing")
    before = await departments_count(harness)
    assert_error(await clerk.post("/api/v1/departments", NEW_DEPARTMENT), 403, "forbidden")
    assert await departments_count(harness) == before


async def test_idempotency_key_replays_first_result(harness: Harness) -> None:
    admin = await harness.staff("admin")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await admin.post("/api/v1/departments", NEW_DEPARTMENT, headers=key)
    assert first.status == 201
    replay = await admin.post("/api/v1/departments", NEW_DEPARTMENT, headers=key)
    assert replay.status == 201 and replay.body == first.body
    assert replay.headers["Idempotent-Replayed"] == "true"
    different = await admin.post("/api/v1/departments", {**NEW_DEPARTMENT, "name": "别的"}, headers=key)
    assert_error(different, 422, "idempotency_key_reused")
    without_key = await admin.post("/api/v1/departments", NEW_DEPARTMENT)
    assert_error(without_key, 409, "department_exists")
    assert await harness.ctx.store.collection("departments").count({"_id": "qd-water"}) == 1


async def test_idempotency_keys_are_per_user(harness: Harness) -> None:
    admin = await harness.staff("admin")
    key = {"Idempotency-Key": "same-key"}
    user = {"username": "zhang_san", "password": "Passw0rd!x", "name": "张三", "roles": ["staff"],
            "department": "qd-env"}
    assert (await admin.post("/api/v1/staff-users", user, headers=key)).status == 201
    env_admin_user = {**user, "username": "li_si", "department": "qd-shinan-env", "name": "李四"}
    shinan = await harness.staff("shinan_admin")
    resp = await shinan.post("/api/v1/staff-users", env_admin_user, headers=key)
    assert resp.status == 201 and resp.body["username"] == "li_si"


async def test_etag_and_if_match(harness: Harness) -> None:
    admin = await harness.staff("admin")
    resp = await admin.get("/api/v1/departments/qd-env")
    assert resp.status == 200 and resp.headers["ETag"] == '"1"'
    updated = await admin.patch("/api/v1/departments/qd-env", {"name": "市生态环境局（新）"}, headers={"If-Match": '"1"'})
    assert updated.status == 200 and updated.headers["ETag"] == '"2"' and updated.body["version"] == 2
    stale = await admin.patch("/api/v1/departments/qd-env", {"name": "旧版本的修改"}, headers={"If-Match": '"1"'})
    assert_error(stale, 409, "version_conflict")
    assert (await admin.get("/api/v1/departments/qd-env")).body["name"] == "市生态环境局（新）"
    assert_error(await admin.patch("/api/v1/departments/qd-env", {"name": "x"}, headers={"If-Match": "abc"}),
                 400, "validation_failed")


async def test_unknown_path_and_method(harness: Harness) -> None:
    assert_error(await harness.client.get("/api/v1/nothing-here"), 404, "not_found")
    admin = await harness.staff("admin")
    assert_error(await admin.request("PUT", "/api/v1/me"), 405, "method_not_allowed")
    assert_error(await admin.get("/api/v1/departments/no-such"), 404, "department_not_found")


async def test_openapi_document_is_valid(harness: Harness) -> None:
    resp = await harness.client.get("/openapi.json")
    assert resp.status == 200
    validate(resp.body)
    assert resp.body["openapi"] == "3.1.0"
    login = resp.body["paths"]["/api/v1/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/StaffLoginIn")
    assert "security" not in login
    assert resp.body["paths"]["/api/v1/me"]["get"]["security"] == [{"bearer": []}]
    assert "/api/v1/departments/{code}" in resp.body["paths"]


async def test_healthz_and_metrics(harness: Harness) -> None:
    harness.ctx.clock.travel(datetime(2026, 6, 1, 10, tzinfo=CHINA))  # a year chinese_calendar covers
    try:
        health = await harness.client.get("/healthz")
    finally:
        harness.ctx.clock.travel_back()
    assert health.status == 200 and health.body == {
        "status": "ok", "parts": {"store": "ok", "redis": "ok", "outbox": "ok", "calendar": "ok"},
        "calendar": {"state": "ok", "missing_years": [], "checked_years": [2026]}}
    # Metrics are not public by default (tests/security/test_hardening_headers.py serves them).
    metrics = await harness.client.get("/metrics")
    assert metrics.status == 404 and metrics.error_code == "not_found"


async def test_request_id_is_echoed(harness: Harness) -> None:
    resp = await harness.client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["X-Request-Id"] == "abc-123"
    assert len((await harness.client.get("/healthz")).headers["X-Request-Id"]) == 20
