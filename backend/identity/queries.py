"""Reads: plain data shaped for the API."""

from __future__ import annotations

from typing import Any

from backend.auth.permissions import Role
from backend.auth.tokens import Principal
from backend.clock import to_api
from backend.errors import NotFound
from backend.identity.directory import DepartmentNames
from backend.personal_data import PersonalData, SealedField, read_sealed
from backend.privacy import mask_phone
from backend.store.interface import DocumentStore
from backend.store.pagination import paginate

USERS = "users"
DEPARTMENTS = "departments"
# A citizen's mobile number: sealed, with a look-up hash (backend/personal_data/).
USER_PHONE = SealedField(USERS, "phone", kind="phone", hash_field="phone_hash")
WECHAT_SESSIONS = "wechat_sessions"
# The mini-program session_key (it decrypts the legacy phone blob): sealed, never looked up by.
SESSION_KEY = SealedField(WECHAT_SESSIONS, "session_key", kind="secret")


class DepartmentNotFound(NotFound):
    code = "department_not_found"
    message = "部门不存在"


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "用户不存在"


def department_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], "code": doc["_id"], "name": doc["name"], "kind": doc["kind"],
            "parent": doc.get("parent"), "path": doc["path"], "version": doc["version"],
            "created_at": to_api(doc["created_at"]), "updated_at": to_api(doc["updated_at"])}


def user_out(doc: dict[str, Any], personal_data: PersonalData) -> dict[str, Any]:
    out = {"id": doc["_id"], "kind": doc["kind"], "name": doc.get("name"), "roles": doc.get("roles", []),
           "department": doc.get("department"), "version": doc["version"]}
    if doc["kind"] == "staff":
        out.update(username=doc["username"], disabled=doc.get("disabled", False))
    else:
        phone = read_sealed(personal_data, USER_PHONE, doc)
        out.update(phone=mask_phone(phone) if phone else None)
    return out


async def get_department(store: DocumentStore, code: str) -> dict[str, Any]:
    doc = await store.collection(DEPARTMENTS).find_one({"_id": code})
    if doc is None:
        raise DepartmentNotFound(details={"code": code})
    return doc


async def subtree_codes(store: DocumentStore, code: str) -> list[str]:
    """The department and everything below it."""
    docs = await store.collection(DEPARTMENTS).find({"path": code}, projection=["_id"])
    return [doc["_id"] for doc in docs]


async def list_departments(store: DocumentStore, parent: str | None) -> dict[str, Any]:
    filter_ = {"parent": parent} if parent else {}
    docs = await store.collection(DEPARTMENTS).find(filter_, sort=[("_id", 1)], limit=1000)
    return {"items": [department_out(doc) for doc in docs], "next_cursor": None}


async def get_me(store: DocumentStore, names: DepartmentNames, personal_data: PersonalData,
                 principal: Principal) -> dict[str, Any]:
    doc = await store.collection(USERS).find_one({"_id": principal.user_id})
    if doc is None:
        raise UserNotFound()
    out = user_out(doc, personal_data)
    if doc.get("department"):
        out["department_name"] = await names.get(doc["department"])
    return out


async def department_scope(store: DocumentStore, actor: Principal) -> list[str] | None:
    """Departments whose cases and figures the actor sees: None means all (the city-wide roles);
    a department admin sees its subtree, anyone else their own department."""
    if Role.ADMIN in actor.roles or Role.MAILBOX_CENTER in actor.roles:
        return None
    if actor.department is None:
        return []
    if Role.DEPARTMENT_ADMIN in actor.roles:
        return await subtree_codes(store, actor.department)
    return [actor.department]


async def managed_department_codes(store: DocumentStore, actor: Principal) -> list[str] | None:
    """Departments whose staff the actor manages: None means all (admin)."""
    if Role.ADMIN in actor.roles:
        return None
    if Role.DEPARTMENT_ADMIN in actor.roles and actor.department:
        return await subtree_codes(store, actor.department)
    return []


async def access_staff_user_by_id(store: DocumentStore, actor: Principal, user_id: str) -> dict[str, Any]:
    """The staff account, if the actor may manage it; the same 404 whether missing or foreign."""
    doc = await store.collection(USERS).find_one({"_id": user_id, "kind": "staff"})
    scope = await managed_department_codes(store, actor)
    if doc is None or (scope is not None and doc.get("department") not in scope):
        raise UserNotFound()
    return doc


async def get_staff_user(store: DocumentStore, personal_data: PersonalData, actor: Principal,
                         user_id: str) -> dict[str, Any]:
    return user_out(await access_staff_user_by_id(store, actor, user_id), personal_data)


async def list_staff_users(store: DocumentStore, personal_data: PersonalData, actor: Principal, *,
                           department: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    scope = await managed_department_codes(store, actor)
    filter_: dict[str, Any] = {"kind": "staff"}
    if department:
        filter_["department"] = department
        if scope is not None and department not in scope:
            return {"items": [], "next_cursor": None}
    elif scope is not None:
        filter_["department"] = {"$in": scope}
    docs, next_cursor = await paginate(store.collection(USERS), filter_, sort=[("_id", 1)],
                                       limit=limit, cursor=cursor)
    return {"items": [user_out(doc, personal_data) for doc in docs], "next_cursor": next_cursor}


class StaffNotFound(NotFound):
    code = "staff_not_found"
    message = "工作人员不存在或已停用"


async def find_active_staff(store: DocumentStore, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The active staff accounts among ``user_ids`` (id → user_id, name and department); the
    others are left out."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    docs = await store.collection(USERS).find({"_id": {"$in": wanted}, "kind": "staff"},
                                              projection=["name", "department", "disabled"])
    return {doc["_id"]: {"user_id": doc["_id"], "name": doc.get("name"), "department": doc.get("department")}
            for doc in docs if not doc.get("disabled")}


async def active_staff(store: DocumentStore, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The active staff accounts among ``user_ids`` (id → user_id, name and department); raises
    ``StaffNotFound`` naming the ids that are not."""
    found = await find_active_staff(store, user_ids)
    missing = [user_id for user_id in sorted(set(user_ids)) if user_id not in found]
    if missing:
        raise StaffNotFound(details={"user_ids": missing})
    return found


async def user_names(store: DocumentStore, user_ids: list[str]) -> dict[str, str | None]:
    """Display names of people named in records (history, opinions); unknown ids map to None."""
    wanted = sorted({user_id for user_id in user_ids if user_id})
    if not wanted:
        return {}
    docs = await store.collection(USERS).find({"_id": {"$in": wanted}}, projection=["name"])
    return {doc["_id"]: doc.get("name") for doc in docs}
