"""Identity (身份): users (citizens by WeChat openid/unionid, staff by username), the department
tree (city → district → street → community, plus departments), login and sessions."""

from backend.auth.permissions import Role
from backend.identity.permissions import IdentityPermission as P
from backend.identity.queries import DEPARTMENTS, SESSION_KEY, USER_PHONE, USERS, WECHAT_SESSIONS
from backend.registry import Module, collection, index

MODULE = Module(
    name="identity", label="身份与权限",
    collections=(
        collection(USERS, index("username", unique=True, sparse=True), index("openid", unique=True, sparse=True),
                   index("unionid", sparse=True), index("department")),
        collection(DEPARTMENTS, index("parent"), index("path")),
        collection(WECHAT_SESSIONS),
    ),
    sealed=(USER_PHONE, SESSION_KEY),
    grants={
        Role.CITIZEN: frozenset({P.CITIZEN_PROFILE}),
        Role.DEPARTMENT_ADMIN: frozenset({P.STAFF_USER_MANAGE}),
        Role.ADMIN: frozenset({P.STAFF_DEPARTMENT_MANAGE, P.STAFF_USER_MANAGE}),
    },
)
