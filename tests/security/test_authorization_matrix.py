"""Every route × every persona, checked against the route's declared permission.

The declaration (``@endpoint(permission=...)``) is the single source: this test derives the
expected outcome from it and the modules' grants, so a route without one fails, and a handler
that forgets to enforce its own fails too. Each module supplies its kit (``tests/<module>/kit.py``):
sample objects for its path parameters and valid bodies, so an allowed caller gets past
validation to the real check (400/404/409, never 401/403 ``forbidden``), and a persona of another
department must get 404 on the module's objects. A module with routes and no kit fails here.
"""

from __future__ import annotations

from typing import Any

from backend.app import all_routes
from backend.auth.permissions import Permission, holds
from backend.http.base import JsonHandler
from backend.http.endpoint import HTTP_METHODS, spec_of
from backend.http.routes import Route, face_routes
from backend.modules import MODULES
from tests.conftest import ApiClient, Harness
from tests.kit import PERSONAS, UNKNOWN_ID, Kit, kit_of


def test_every_method_is_declared() -> None:
    for route in all_routes():
        if not issubclass(route.handler, JsonHandler):
            continue
        for method in HTTP_METHODS:
            implementation = getattr(route.handler, method, None)
            base = getattr(JsonHandler, method, None)
            if implementation is not None and implementation is not base:
                assert spec_of(route.handler, method) is not None, f"{route.pattern} {method} has no @endpoint"


def module_routes() -> list[tuple[str, Route, Kit]]:
    found = []
    for module in MODULES:
        routes = face_routes("handlers", [module]) + face_routes("miniprogram_api", [module])
        kit = kit_of(module)
        assert kit is not None or not routes, f"module {module.name} has routes but no tests/{module.name}/kit.py"
        found += [(module.name, route, kit) for route in routes if issubclass(route.handler, JsonHandler)]
    return found


def test_every_route_belongs_to_a_module_with_a_kit() -> None:
    covered = {route.pattern for _name, route, _kit in module_routes()}
    served = {route.pattern for route in all_routes() if issubclass(route.handler, JsonHandler)}
    assert served - covered <= {r"/healthz", r"/metrics", r"/openapi.json"}


def fill(route: Route, values: dict[str, str]) -> str:
    path = route.openapi_path
    for name in route.path_params:
        path = path.replace("{" + name + "}", values.get(name, UNKNOWN_ID))
    return path


async def test_authorization_matrix(harness: Harness) -> None:
    citizen = await harness.citizen("matrix")
    clients: dict[str, ApiClient] = {"anonymous": harness.client, "citizen": citizen}
    for persona in PERSONAS:
        if persona.audience == "staff":
            clients[persona.name] = await harness.staff(persona.name)
    samples: dict[str, dict[str, str]] = {}
    failures, checked = [], 0
    for module, route, kit in module_routes():
        if module not in samples:
            samples[module] = dict(await kit.make(harness, citizen))
        path = fill(route, samples[module])
        for method in HTTP_METHODS:
            spec = spec_of(route.handler, method)
            if spec is None:
                continue
            for persona in PERSONAS:
                if route.openapi_path.endswith("/auth/logout") and persona.audience is not None:
                    continue  # logging out would end the persona's session; covered in test_auth
                body: Any = None if method in ("get", "delete") or spec.upload else {}
                if spec.body is not None and body is not None:
                    body = dict(kit.bodies.get(spec.body.__name__, body))
                resp = await clients[persona.name].request(method.upper(), path, body)
                checked += 1
                if spec.permission == Permission.PUBLIC:
                    ok = resp.status not in (401, 403) or resp.error_code not in ("unauthenticated", "forbidden")
                elif persona.audience != route.handler.audience:
                    ok = resp.status == 401
                elif not holds(persona.roles, spec.permission):
                    ok = resp.status == 403 and resp.error_code == "forbidden"
                elif persona.name == kit.foreign and kit.object_params & set(route.path_params):
                    ok = resp.status == 404
                else:
                    ok = resp.status not in (401, 500) and not (resp.status == 403 and resp.error_code == "forbidden")
                if not ok:
                    failures.append((method.upper(), route.openapi_path, persona.name, resp.status, resp.error_code))
    assert not failures, "\n".join(map(str, failures))
    assert checked > 500
