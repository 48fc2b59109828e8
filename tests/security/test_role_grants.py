"""Role grants have a ceiling: the grant matrix of ``/api/v1/staff-users`` through HTTP.

Granter persona × role granted × target (own account, an account inside the granter's subtree, one
outside it) → the status and error code expected. The expectations are written out here from the
rule, not derived from the code: city-wide roles (admin, mailbox_center, proposal_committee,
cppcc_member) are granted by an admin only; a department admin grants department roles inside its
subtree; nobody changes their own roles or disables their own account; the last active admin stays.
"""

from __future__ import annotations

import asyncio
from typing import Any

from backend.auth.permissions import CITY_WIDE_ROLES, DEPARTMENT_ROLES, STAFF_ROLES
from tests.conftest import ApiClient, Harness

CITY_WIDE = {"admin", "mailbox_center", "proposal_committee", "cppcc_member"}
ROLES = ["admin", "cppcc_member", "department_admin", "mailbox_center", "officer", "proposal_committee", "staff"]
GRANTERS = ["admin", "shinan_admin", "center", "housing"]  # the last two may not manage accounts at all
MANAGERS = {"admin", "shinan_admin"}
INSIDE, OUTSIDE = "qd-shinan-bjl", "qd-housing"  # inside / outside shinan_admin's subtree (qd-shinan)
PASSWORD = "Grant#Matrix-2026"


async def new_account(admin: ApiClient, username: str, roles: list[str], department: str | None) -> dict[str, Any]:
    resp = await admin.post("/api/v1/staff-users", {"username": username, "password": PASSWORD, "name": username,
                                                     "roles": roles, "department": department})
    assert resp.status == 201, resp.body
    return resp.body


async def me(client: ApiClient) -> dict[str, Any]:
    resp = await client.get("/api/v1/me")
    assert resp.status == 200, resp.body
    return resp.body


def outcome(resp: Any) -> tuple[int, str | None]:
    return resp.status, resp.error_code


def test_every_staff_role_is_either_city_wide_or_department_scoped() -> None:
    assert set(CITY_WIDE_ROLES) == CITY_WIDE
    assert CITY_WIDE_ROLES | DEPARTMENT_ROLES == STAFF_ROLES and not CITY_WIDE_ROLES & DEPARTMENT_ROLES


async def test_the_reported_attack_self_grant_of_mailbox_center(harness: Harness) -> None:
    shinan = await harness.staff("shinan_admin")
    own = await me(shinan)
    resp = await shinan.patch(f"/api/v1/staff-users/{own['id']}", {"roles": ["department_admin", "mailbox_center"]})
    assert outcome(resp) == (403, "role_grant_forbidden"), resp.body
    assert resp.body["error"]["message"] == "只有系统管理员可以授予、撤销或管理全市范围的角色"
    after = await me(shinan)  # the token still works: nothing changed
    assert after["roles"] == ["department_admin"] and after["version"] == own["version"]


async def test_patch_grant_matrix(harness: Harness) -> None:
    admin = await harness.staff("admin")
    inside = await new_account(admin, "grant_inside", ["staff"], INSIDE)
    outside = await new_account(admin, "grant_outside", ["staff"], OUTSIDE)
    wrong: list[str] = []
    for granter in GRANTERS:
        client = await harness.staff(granter)
        own = await me(client)
        for target_name, target in (("own", own), ("inside", inside), ("outside", outside)):
            for role in ROLES:
                current = (await harness.ctx.store.collection("users").find_one({"_id": target["id"]}))["roles"]
                expected: tuple[int, str | None]
                if granter not in MANAGERS:
                    expected = (403, "forbidden")
                elif granter == "shinan_admin" and target_name == "outside":
                    expected = (404, "user_not_found")
                elif granter != "admin" and role in CITY_WIDE:
                    expected = (403, "role_grant_forbidden")
                elif target_name == "own":
                    expected = (200, None) if role in current else (403, "self_change_forbidden")
                else:
                    expected = (200, None)
                resp = await client.patch(f"/api/v1/staff-users/{target['id']}", {"roles": sorted({*current, role})})
                if outcome(resp) != expected:
                    wrong.append(f"{granter} grants {role} to {target_name}: {outcome(resp)}, expected {expected}")
                if resp.status == 200 and target_name != "own":
                    reset = await admin.patch(f"/api/v1/staff-users/{target['id']}", {"roles": ["staff"]})
                    assert reset.status == 200, reset.body
    assert not wrong, "\n".join(wrong)


async def test_create_grant_matrix(harness: Harness) -> None:
    wrong: list[str] = []
    for granter in GRANTERS:
        client = await harness.staff(granter)
        for place, department in (("own", "qd-shinan"), ("inside", INSIDE), ("outside", OUTSIDE)):
            for role in ROLES:
                expected: tuple[int, str | None]
                if granter not in MANAGERS:
                    expected = (403, "forbidden")
                elif granter != "admin" and role in CITY_WIDE:
                    expected = (403, "role_grant_forbidden")
                elif granter != "admin" and place == "outside":
                    expected = (403, "department_out_of_scope")
                else:
                    expected = (201, None)
                username = f"c_{granter}_{place}_{role}"[:32]
                resp = await client.post("/api/v1/staff-users", {"username": username, "password": PASSWORD,
                                                                  "name": "新账号", "roles": [role],
                                                                  "department": department})
                if outcome(resp) != expected:
                    wrong.append(f"{granter} creates {role} in {place}: {outcome(resp)}, expected {expected}")
    assert not wrong, "\n".join(wrong)


async def test_delete_matrix(harness: Harness) -> None:
    admin = await harness.staff("admin")
    wrong: list[str] = []
    for granter in GRANTERS:
        client = await harness.staff(granter)
        targets = {
            "own": await me(client),
            "inside": await new_account(admin, f"d_{granter}_in", ["staff"], INSIDE),
            "outside": await new_account(admin, f"d_{granter}_out", ["staff"], OUTSIDE),
            "inside_city_wide": await new_account(admin, f"d_{granter}_cw", ["mailbox_center"], INSIDE),
        }
        for target_name, target in targets.items():
            expected: tuple[int, str | None]
            if granter not in MANAGERS:
                expected = (403, "forbidden")
            elif target_name == "own":
                expected = (403, "self_change_forbidden")
            elif granter == "shinan_admin" and target_name == "outside":
                expected = (404, "user_not_found")
            elif granter == "shinan_admin" and target_name == "inside_city_wide":
                expected = (403, "role_grant_forbidden")
            else:
                expected = (204, None)
            resp = await client.delete(f"/api/v1/staff-users/{target['id']}")
            if outcome(resp) != expected:
                wrong.append(f"{granter} disables {target_name}: {outcome(resp)}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    assert (await me(await harness.staff("admin")))["disabled"] is False


async def test_department_admin_cannot_take_over_a_city_wide_account_in_its_subtree(harness: Harness) -> None:
    admin = await harness.staff("admin")
    clerk = await new_account(admin, "street_clerk", ["mailbox_center"], INSIDE)
    shinan = await harness.staff("shinan_admin")
    for change in ({"password": "Taken#Over-2026"}, {"name": "改名"}, {"roles": ["staff"]}, {"disabled": True}):
        resp = await shinan.patch(f"/api/v1/staff-users/{clerk['id']}", change)
        assert outcome(resp) == (403, "role_grant_forbidden"), (change, resp.body)
    login = await harness.client.post("/api/v1/auth/login", {"username": "street_clerk", "password": PASSWORD})
    assert login.status == 200, "the clerk's password is unchanged"


async def test_department_moves_stay_in_scope_and_never_apply_to_oneself(harness: Harness) -> None:
    admin = await harness.staff("admin")
    worker = await new_account(admin, "street_worker", ["staff"], INSIDE)
    shinan = await harness.staff("shinan_admin")
    out = await shinan.patch(f"/api/v1/staff-users/{worker['id']}", {"department": OUTSIDE})
    assert outcome(out) == (403, "department_out_of_scope")
    own = await me(shinan)
    up = await shinan.patch(f"/api/v1/staff-users/{own['id']}", {"department": "qd"})
    assert outcome(up) == (403, "department_out_of_scope")
    down = await shinan.patch(f"/api/v1/staff-users/{own['id']}", {"department": INSIDE})
    assert outcome(down) == (403, "self_change_forbidden")
    promoted = await shinan.patch(f"/api/v1/staff-users/{worker['id']}", {"roles": ["department_admin"]})
    assert promoted.status == 200 and promoted.body["roles"] == ["department_admin"]
    renamed = await shinan.patch(f"/api/v1/staff-users/{own['id']}", {"name": "市南区管理员（新）"})
    assert renamed.status == 200, "changing one's own name is fine"


async def test_admin_cannot_demote_or_disable_itself(harness: Harness) -> None:
    admin = await harness.staff("admin")
    own = await me(admin)
    demote = await admin.patch(f"/api/v1/staff-users/{own['id']}", {"roles": ["staff"]})
    assert outcome(demote) == (403, "self_change_forbidden")
    disable = await admin.patch(f"/api/v1/staff-users/{own['id']}", {"disabled": True})
    assert outcome(disable) == (403, "self_change_forbidden")
    delete = await admin.delete(f"/api/v1/staff-users/{own['id']}")
    assert outcome(delete) == (403, "self_change_forbidden")
    assert (await me(admin))["roles"] == ["admin"]


async def test_two_admins_disabling_each_other_at_once_leave_one_active(harness: Harness) -> None:
    admin = await harness.staff("admin")
    admin_id = (await me(admin))["id"]
    second = await new_account(admin, "second_admin", ["admin"], None)
    login = await harness.client.post("/api/v1/auth/login", {"username": "second_admin", "password": PASSWORD})
    other = harness.client.as_(login.body["access_token"])
    first, then = await asyncio.gather(admin.delete(f"/api/v1/staff-users/{second['id']}"),
                                       other.delete(f"/api/v1/staff-users/{admin_id}"))
    active = await harness.ctx.store.collection("users").count(
        {"kind": "staff", "roles": "admin", "disabled": {"$ne": True}})
    assert active >= 1, (outcome(first), outcome(then))
    refused = [outcome(r) for r in (first, then) if r.status != 204]
    assert refused and all(o in ((409, "last_admin"), (401, "token_revoked")) for o in refused), refused
