"""Every route × every persona, checked against the route's declared permission.

The declaration (``@endpoint(permission=...)``) is the single source: this test derives the
expected outcome from it and ``ROLE_PERMISSIONS``, so a route without one fails, and a handler
that forgets to enforce its own fails too. Bodies are empty objects, so an allowed caller gets
past authorisation and stops at validation (400) or at the resource (404), never at 401/403.
"""

from __future__ import annotations

from typing import Any

from backend.app import all_routes
from backend.auth.permissions import Permission, holds
from backend.http.base import JsonHandler
from backend.http.endpoint import HTTP_METHODS, spec_of
from tests.conftest import ApiClient, Harness
from tests.mailbox.conftest import dispatch, write_letter

# persona → (login, roles, audience)
STAFF_PERSONAS = {
    "admin": ["admin"], "center": ["mailbox_center"], "housing": ["staff"], "env": ["staff"],
    "shinan_admin": ["department_admin"], "officer": ["officer"], "cppcc_member": ["cppcc_member"],
    "committee": ["proposal_committee"],
}
FOREIGN = "env"  # a staff member of a department that does not hold the test letter
UNKNOWN_ID = "0" * 20
# Valid bodies, so that the foreign department's request reaches the resource check.
VALID_BODIES = {
    "ReturnIn": {"reason": "不属于本单位职责", "responsible_body": "市城市管理局"},
    "InfoRequestIn": {"question": "请补充具体地址"},
    "ReplyIn": {"text": "经核查已经处理完毕，特此答复。"},
    "ExtensionIn": {"reason": "需要现场核查", "days": 3},
    "DecisionIn": {"approve": True},
    "DispatchIn": {"lead_department": "qd-env"},
    "ReasonIn": {"reason": "内容无法核实"},
    "MergeIn": {"original_id": UNKNOWN_ID},
    "OpinionIn": {"text": "同意主办部门意见"},
    "DisclosureIn": {"title": "小区夜间施工噪音", "content": "内容", "reply": "答复"},
}


def test_every_method_is_declared() -> None:
    for route in all_routes():
        if not issubclass(route.handler, JsonHandler):
            continue
        for method in HTTP_METHODS:
            implementation = getattr(route.handler, method, None)
            base = getattr(JsonHandler, method, None)
            if implementation is not None and implementation is not base:
                assert spec_of(route.handler, method) is not None, f"{route.pattern} {method} has no @endpoint"


def fill(route: Any, letter_id: str) -> str:
    path = route.openapi_path
    for name in route.path_params:
        value = {"letter_id": letter_id, "code": "qd-housing", "kind": "welcome", "year": "2027"}.get(name, UNKNOWN_ID)
        path = path.replace("{" + name + "}", value)
    return path


def declared_routes() -> list[tuple[Any, str]]:
    pairs = []
    for route in all_routes():
        if not issubclass(route.handler, JsonHandler):
            continue
        for method in HTTP_METHODS:
            if spec_of(route.handler, method) is not None:
                pairs.append((route, method))
    return pairs


async def test_authorization_matrix(harness: Harness) -> None:
    center = await harness.staff("center")
    citizen = await harness.citizen("matrix")
    letter = await write_letter(citizen)
    await dispatch(center, letter["id"], "qd-housing")
    clients: dict[str, tuple[ApiClient, tuple[str, ...], str | None]] = {
        "anonymous": (harness.client, (), None),
        "citizen": (citizen, ("citizen",), "mp"),
    }
    for name, roles in STAFF_PERSONAS.items():
        clients[name] = (await harness.staff(name), tuple(roles), "staff")

    failures = []
    checked = 0
    for route, method in declared_routes():
        spec = spec_of(route.handler, method)
        assert spec is not None
        audience = route.handler.audience
        path = fill(route, letter["id"])
        for persona, (client, roles, token_audience) in clients.items():
            if route.openapi_path.endswith("/auth/logout") and persona != "anonymous":
                continue  # logging out would end the persona's session; covered in test_auth
            body = None if method in ("get", "delete") or spec.upload else {}
            if persona == FOREIGN and spec.body is not None:
                body = VALID_BODIES.get(spec.body.__name__, body)
            resp = await client.request(method.upper(), path, body, params=None)
            checked += 1
            if spec.permission is Permission.PUBLIC:
                ok = resp.status not in (401, 403) or resp.error_code not in ("unauthenticated", "forbidden")
            elif token_audience != audience:
                ok = resp.status == 401
            elif not holds(roles, spec.permission):
                ok = resp.status == 403 and resp.error_code == "forbidden"
            elif persona == FOREIGN and "letter_id" in route.path_params:
                ok = resp.status == 404
            else:
                ok = resp.status not in (401, 500) and not (resp.status == 403 and resp.error_code == "forbidden")
            if not ok:
                failures.append((method.upper(), route.openapi_path, persona, resp.status, resp.error_code))
    assert not failures, "\n".join(map(str, failures))
    assert checked > 300
