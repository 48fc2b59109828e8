"""Writes for identity: login and sessions, departments, staff accounts, citizens."""

from __future__ import annotations

from typing import Any

from backend.auth.password_policy import check_password
from backend.auth.passwords import hash_password, verify_password
from backend.auth.permissions import Role
from backend.auth.throttle import LoginThrottle, client_address
from backend.auth.tokens import Principal
from backend.clock import now_stored
from backend.context import Context
from backend.errors import Conflict, DuplicateKey, Unauthenticated, ValidationFailed, VersionConflict
from backend.identity.grants import LastAdmin, check_grant, removes_admin
from backend.identity.queries import (
    DEPARTMENTS,
    SESSION_KEY,
    USER_PHONE,
    USERS,
    WECHAT_SESSIONS,
    access_staff_user_by_id,
    department_out,
    get_department,
    managed_department_codes,
    user_out,
)
from backend.identity.schemas import DepartmentIn, DepartmentPatch, PhoneBindIn, StaffUserIn, StaffUserPatch
from backend.ids import new_id
from backend.personal_data import read_sealed, sealed_values
from backend.wechat.errors import WeChatError, login_service_error, phone_number_service_error
from backend.wechat.phone import decrypt_legacy_phone

SYSTEM = Principal(user_id="system", audience="staff", roles=(Role.ADMIN.value,), department=None,
                   family="", jti="", issued_at=0.0, expires_at=float("inf"))


class LoginFailed(Unauthenticated):
    code = "login_failed"
    message = "用户名或密码错误"


class AccountDisabled(Unauthenticated):
    code = "account_disabled"
    message = "账号已停用，请联系管理员"


class UsernameTaken(Conflict):
    code = "username_taken"
    message = "用户名已被使用"


class DepartmentExists(Conflict):
    code = "department_exists"
    message = "部门编码已存在"


class DepartmentInUse(Conflict):
    code = "department_in_use"
    message = "部门下仍有下级部门或人员，不能删除"


# --- sessions -------------------------------------------------------------------------------

async def do_login_staff(ctx: Context, username: str, password: str, *, throttle: LoginThrottle, peer: str | None,
                         forwarded_for: str | None) -> dict[str, Any]:
    """Username and password, throttled per (username, client) and per client before the password
    is checked (``backend/auth/throttle.py``): never a lock on the account, so a stranger cannot lock
    an official out, and a name that does not exist is throttled and answered exactly like one that
    does (a wrong password for it also costs the same time)."""
    client = client_address(peer, forwarded_for, ctx.settings.trusted_proxies)
    await throttle.admit(username, client)
    user = await ctx.store.collection(USERS).find_one({"username": username, "kind": "staff"})
    if not await verify_password(user.get("password_hash") if user else None, password) or user is None:
        raise LoginFailed()
    await throttle.succeeded(username, client)
    if user.get("disabled"):
        raise AccountDisabled()
    return await ctx.tokens.issue_pair(user, "staff")


async def do_refresh(ctx: Context, refresh_token: str, audience: str) -> dict[str, Any]:
    record = await ctx.tokens.rotate(refresh_token, audience)
    user = await ctx.store.collection(USERS).find_one({"_id": record["user_id"]})
    if user is None or user.get("disabled"):
        await ctx.tokens.revoke_family(record["family"])
        raise AccountDisabled()
    return await ctx.tokens.issue_pair(user, audience, family=record["family"])


async def do_logout(ctx: Context, principal: Principal) -> None:
    await ctx.tokens.logout(principal)


async def do_login_citizen(ctx: Context, code: str) -> dict[str, Any]:
    """``wx.login`` code → jscode2session → the citizen (created on first login) → a token pair.

    ``session_key`` is kept server-side only (for the legacy encrypted phone number); it never
    appears in a response or a log line.
    """
    try:
        session = await ctx.wechat.jscode2session(code)
    except WeChatError as exc:
        raise login_service_error(exc) from None
    user = await do_upsert_citizen(ctx, openid=session.openid, unionid=session.unionid)
    await ctx.store.collection(WECHAT_SESSIONS).update_one(
        {"_id": user["_id"]},
        {"$set": {**sealed_values(ctx.personal_data, SESSION_KEY, session.session_key), "updated_at": now_stored()}},
        upsert=True)
    return await ctx.tokens.issue_pair(user, "mp")


async def do_bind_phone(ctx: Context, data: PhoneBindIn, *, acting_user: Principal) -> dict[str, Any]:
    """The citizen's mobile number from WeChat: the button code (getuserphonenumber), or the
    legacy encryptedData decrypted with the server-side session_key, its watermark appid checked."""
    users = ctx.store.collection(USERS)
    user = await users.find_one({"_id": acting_user.user_id, "kind": "citizen"})
    if user is None:
        raise Unauthenticated()
    if data.code is not None:
        try:
            phone = (await ctx.wechat.get_user_phone_number(data.code, openid=user["openid"])).pure_phone_number
        except WeChatError as exc:
            raise phone_number_service_error(exc) from None
    else:
        session = await ctx.store.collection(WECHAT_SESSIONS).find_one({"_id": user["_id"]})
        if session is None:
            raise Unauthenticated("登录状态已失效，请重新登录后再授权手机号", code="wechat_session_missing")
        session_key = read_sealed(ctx.personal_data, SESSION_KEY, session) or ""
        phone = decrypt_legacy_phone(session_key, data.encrypted_data or "", data.iv or "", ctx.settings.mp_appid)
    after = await users.find_one_and_update({"_id": user["_id"]}, {
        "$set": {**sealed_values(ctx.personal_data, USER_PHONE, phone), "phone_bound_at": now_stored(),
                 "updated_at": now_stored()}, "$inc": {"version": 1}})
    assert after is not None
    return user_out(after, ctx.personal_data)


async def do_upsert_citizen(ctx: Context, *, openid: str, unionid: str | None) -> dict[str, Any]:
    """The citizen for a WeChat identity, created on first login; unionid links OA and mini-program."""
    users = ctx.store.collection(USERS)
    now = now_stored()
    change: dict[str, Any] = {"$set": {"updated_at": now, "last_login_at": now}}
    if unionid:
        change["$set"]["unionid"] = unionid
    existing = await users.find_one_and_update({"openid": openid, "kind": "citizen"}, change)
    if existing is not None:
        return existing
    doc = {"_id": new_id(), "kind": "citizen", "openid": openid, "roles": [Role.CITIZEN.value], "name": None,
           "version": 1, "created_at": now, "updated_at": now, "last_login_at": now}
    if unionid:
        doc["unionid"] = unionid
    try:
        return await users.insert_one(doc)
    except DuplicateKey:  # a concurrent first login of the same person
        found = await users.find_one({"openid": openid, "kind": "citizen"})
        assert found is not None
        return found


# --- departments ----------------------------------------------------------------------------

async def do_create_department(ctx: Context, data: DepartmentIn, *, acting_user: Principal) -> dict[str, Any]:
    path = [data.code]
    if data.parent:
        parent = await get_department(ctx.store, data.parent)
        path = [*parent["path"], data.code]
    now = now_stored()
    doc = {"_id": data.code, "name": data.name, "kind": data.kind.value, "parent": data.parent, "path": path,
           "version": 1, "created_at": now, "updated_at": now, "created_by": acting_user.user_id}
    try:
        await ctx.store.collection(DEPARTMENTS).insert_one(doc)
    except DuplicateKey:
        raise DepartmentExists(details={"code": data.code}) from None
    return department_out(doc)


async def do_update_department(ctx: Context, code: str, data: DepartmentPatch, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    departments = ctx.store.collection(DEPARTMENTS)
    doc = await get_department(ctx.store, code)
    if expected_version is not None and expected_version != doc["version"]:
        raise VersionConflict(details={"current_version": doc["version"]})
    change: dict[str, Any] = {}
    if data.name is not None and data.name != doc["name"]:
        change["name"] = data.name
    new_path = doc["path"]
    if "parent" in data.model_fields_set and data.parent != doc.get("parent"):
        if data.parent is None:
            new_path = [code]
        else:
            parent = await get_department(ctx.store, data.parent)
            if code in parent["path"]:
                raise ValidationFailed("不能把部门移到它自己的下级", details={"fields": [
                    {"field": "parent", "message": "不能是本部门或其下级"}]})
            new_path = [*parent["path"], code]
        change.update(parent=data.parent, path=new_path)
    if not change:
        return department_out(doc)
    change["updated_at"] = now_stored()
    after = await departments.find_one_and_update({"_id": code, "version": doc["version"]},
                                                  {"$set": change, "$inc": {"version": 1}})
    if after is None:
        raise VersionConflict()
    ctx.department_names.forget(code)
    if new_path != doc["path"]:
        old_depth = len(doc["path"])
        for child in await departments.find({"path": code, "_id": {"$ne": code}}):
            moved = [*new_path, *child["path"][old_depth:]]
            await departments.update_one({"_id": child["_id"]}, {"$set": {"path": moved}, "$inc": {"version": 1}})
    return department_out(after)


async def do_delete_department(ctx: Context, code: str, *, acting_user: Principal) -> None:
    await get_department(ctx.store, code)
    if await ctx.store.collection(DEPARTMENTS).count({"parent": code}) or \
            await ctx.store.collection(USERS).count({"department": code}):
        raise DepartmentInUse()
    await ctx.store.collection(DEPARTMENTS).delete_one({"_id": code})


# --- staff accounts -------------------------------------------------------------------------

async def do_create_staff_user(ctx: Context, data: StaffUserIn, *, acting_user: Principal,
                               skip_password_policy_for_demo: bool = False) -> dict[str, Any]:
    """A staff account, within the grant ceiling (``grants.py``). The password policy applies to every
    account but the demo city's, whose published passwords contain their usernames by design."""
    roles = sorted({role.value for role in data.roles})
    if data.department:
        await get_department(ctx.store, data.department)
    check_grant(acting_user, scope=await managed_department_codes(ctx.store, acting_user), target_id=None,
                roles_before=(), roles_after=roles, department_before=None, department_after=data.department,
                disabling=False)
    if not skip_password_policy_for_demo:
        check_password(data.password, username=data.username)
    now = now_stored()
    doc = {"_id": new_id(), "kind": "staff", "username": data.username, "name": data.name, "roles": roles,
           "department": data.department, "password_hash": await hash_password(data.password),
           "disabled": False, "version": 1, "created_at": now, "updated_at": now, "created_by": acting_user.user_id}
    try:
        await ctx.store.collection(USERS).insert_one(doc)
    except DuplicateKey:
        raise UsernameTaken(details={"username": data.username}) from None
    return user_out(doc, ctx.personal_data)


async def do_update_staff_user(ctx: Context, user_id: str, data: StaffUserPatch, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    """Change a staff account (``DELETE`` is ``disabled=True``), within the grant ceiling; the last
    active admin stays one."""
    doc = await access_staff_user_by_id(ctx.store, acting_user, user_id)
    if expected_version is not None and expected_version != doc["version"]:
        raise VersionConflict(details={"current_version": doc["version"]})
    change: dict[str, Any] = {}  # only what differs: an unchanged value writes nothing and revokes nothing
    if data.name is not None and data.name != doc.get("name"):
        change["name"] = data.name
    if data.roles is not None and sorted({role.value for role in data.roles}) != sorted(doc.get("roles", [])):
        change["roles"] = sorted({role.value for role in data.roles})
    if "department" in data.model_fields_set and data.department != doc.get("department"):
        if data.department:
            await get_department(ctx.store, data.department)
        change["department"] = data.department
    if data.disabled is not None and data.disabled != bool(doc.get("disabled")):
        change["disabled"] = data.disabled
    roles_before, roles_after = doc.get("roles", []), change.get("roles", doc.get("roles", []))
    disabling = bool(change.get("disabled")) and not doc.get("disabled")
    check_grant(acting_user, scope=await managed_department_codes(ctx.store, acting_user), target_id=user_id,
                roles_before=roles_before, roles_after=roles_after, department_before=doc.get("department"),
                department_after=change.get("department", doc.get("department")), disabling=disabling)
    if data.password is not None:
        check_password(data.password, username=doc["username"])
        change["password_hash"] = await hash_password(data.password)
    if not change:
        return user_out(doc, ctx.personal_data)
    demoting = removes_admin(roles_before=roles_before, roles_after=roles_after,
                             was_disabled=bool(doc.get("disabled")), disabling=disabling)
    if demoting and not await _other_active_admins(ctx, user_id):
        raise LastAdmin()
    change["updated_at"] = now_stored()
    users = ctx.store.collection(USERS)
    after = await users.find_one_and_update({"_id": user_id, "version": doc["version"]},
                                            {"$set": change, "$inc": {"version": 1}})
    if after is None:
        raise VersionConflict()
    if demoting and not await _other_active_admins(ctx, user_id):
        # Two admins demoted each other at the same moment: each counted the other. Undo ours.
        await users.find_one_and_update(
            {"_id": user_id, "version": after["version"]},
            {"$set": {"roles": roles_before, "disabled": bool(doc.get("disabled")), "updated_at": now_stored()},
             "$inc": {"version": 1}})
        raise LastAdmin()
    if {"password_hash", "roles", "department"} & change.keys() or change.get("disabled"):
        await ctx.tokens.revoke_user(user_id)  # the old tokens carry the old rights
    return user_out(after, ctx.personal_data)


async def _other_active_admins(ctx: Context, user_id: str) -> int:
    return await ctx.store.collection(USERS).count(
        {"kind": "staff", "roles": Role.ADMIN.value, "disabled": {"$ne": True}, "_id": {"$ne": user_id}})
