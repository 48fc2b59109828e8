"""Departments and staff accounts through the admin API, with department-admin scoping."""

from __future__ import annotations

from backend.demo import ACCOUNTS
from tests.conftest import Harness


async def test_department_tree_crud(harness: Harness) -> None:
    admin = await harness.staff("admin")
    created = await admin.post("/api/v1/departments",
                               {"code": "qd-shinan-bjl-2", "name": "延安路社区", "kind": "community",
                                "parent": "qd-shinan-bjl"})
    assert created.status == 201
    assert created.body["path"] == ["qd", "qd-shinan", "qd-shinan-bjl", "qd-shinan-bjl-2"]
    children = await admin.get("/api/v1/departments", params={"parent": "qd-shinan-bjl"})
    assert {d["code"] for d in children.body["items"]} == {"qd-shinan-bjl-1", "qd-shinan-bjl-2"}
    # Moving a street moves its communities' paths too.
    moved = await admin.patch("/api/v1/departments/qd-shinan-bjl", {"parent": "qd-shibei"})
    assert moved.status == 200 and moved.body["path"] == ["qd", "qd-shibei", "qd-shinan-bjl"]
    child = await admin.get("/api/v1/departments/qd-shinan-bjl-2")
    assert child.body["path"] == ["qd", "qd-shibei", "qd-shinan-bjl", "qd-shinan-bjl-2"]
    cycle = await admin.patch("/api/v1/departments/qd-shibei", {"parent": "qd-shinan-bjl-2"})
    assert cycle.status == 400
    in_use = await admin.delete("/api/v1/departments/qd-shinan-bjl")
    assert in_use.status == 409 and in_use.error_code == "department_in_use"
    assert (await admin.delete("/api/v1/departments/qd-shinan-bjl-2")).status == 204
    assert (await admin.get("/api/v1/departments/qd-shinan-bjl-2")).status == 404
    orphan = await admin.post("/api/v1/departments", {"code": "x-1", "name": "无上级", "kind": "street",
                                                       "parent": "missing"})
    assert orphan.status == 404 and orphan.error_code == "department_not_found"


async def test_staff_accounts_crud_and_login(harness: Harness) -> None:
    admin = await harness.staff("admin")
    created = await admin.post("/api/v1/staff-users", {
        "username": "wang_wu", "password": "Wangwu#2026", "name": "王五", "roles": ["staff"],
        "department": "qd-housing"})
    assert created.status == 201 and "password_hash" not in created.body
    user_id = created.body["id"]
    login = await harness.client.post("/api/v1/auth/login", {"username": "wang_wu", "password": "Wangwu#2026"})
    assert login.status == 200
    token = login.body["access_token"]
    taken = await admin.post("/api/v1/staff-users", {
        "username": "wang_wu", "password": "Another#2026", "name": "王五二", "roles": ["staff"]})
    assert taken.status == 409 and taken.error_code == "username_taken"
    listed = await admin.get("/api/v1/staff-users", params={"department": "qd-housing"})
    assert {"housing", "wang_wu"} <= {u["username"] for u in listed.body["items"]}
    changed = await admin.patch(f"/api/v1/staff-users/{user_id}", {"roles": ["staff", "officer"]})
    assert changed.status == 200 and changed.body["roles"] == ["officer", "staff"]
    # Rights changed: tokens carrying the old roles stop working at once.
    revoked = await harness.client.as_(token).get("/api/v1/me")
    assert revoked.status == 401 and revoked.error_code == "token_revoked"
    assert (await admin.delete(f"/api/v1/staff-users/{user_id}")).status == 204
    disabled = await harness.client.post("/api/v1/auth/login", {"username": "wang_wu", "password": "Wangwu#2026"})
    assert disabled.status == 401 and disabled.error_code == "account_disabled"


async def test_department_admin_manages_own_subtree_only(harness: Harness) -> None:
    shinan = await harness.staff("shinan_admin")
    inside = await shinan.post("/api/v1/staff-users", {
        "username": "zhao_liu", "password": "Zhaoliu#2026", "name": "赵六", "roles": ["staff"],
        "department": "qd-shinan-bjl"})
    assert inside.status == 201
    outside = await shinan.post("/api/v1/staff-users", {
        "username": "qian_qi", "password": "Qianqi#2026", "name": "钱七", "roles": ["staff"],
        "department": "qd-housing"})
    assert outside.status == 403
    promote = await shinan.post("/api/v1/staff-users", {
        "username": "sun_ba", "password": "Sunba#20266", "name": "孙八", "roles": ["admin"],
        "department": "qd-shinan"})
    assert promote.status == 403
    listed = await shinan.get("/api/v1/staff-users")
    assert {u["username"] for u in listed.body["items"]} == {"shinan_admin", "zhao_liu"}
    housing_id = (await (await harness.staff("admin")).get(
        "/api/v1/staff-users", params={"department": "qd-housing"})).body["items"][0]["id"]
    assert (await shinan.get(f"/api/v1/staff-users/{housing_id}")).status == 404
    assert (await shinan.patch(f"/api/v1/staff-users/{housing_id}", {"name": "x"})).status == 404
    assert (await shinan.post("/api/v1/departments", {"code": "z1", "name": "z", "kind": "street"})).status == 403


async def test_staff_list_pagination(harness: Harness) -> None:
    admin = await harness.staff("admin")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = await admin.get("/api/v1/staff-users", params=params)
        assert page.status == 200 and len(page.body["items"]) <= 3
        seen += [u["username"] for u in page.body["items"]]
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(ACCOUNTS)
    bad = await admin.get("/api/v1/staff-users", params={"cursor": "garbage!"})
    assert bad.status == 400
    too_many = await admin.get("/api/v1/staff-users", params={"limit": "1000"})
    assert too_many.status == 400
