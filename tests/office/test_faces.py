"""The office is internal (内部): nothing of it is served on the citizens' face."""

from backend.app import all_routes
from backend.office.permissions import OfficePermission
from miniprogram_api.routes import ROUTES as CITIZEN_ROUTES


def test_no_citizen_route_serves_the_office() -> None:
    assert [route for route in all_routes() if route.pattern.startswith("/api/v1/office/")]  # staff have it
    assert not [route.pattern for route in CITIZEN_ROUTES if "office" in route.pattern]


def test_no_office_permission_is_a_citizens() -> None:
    from backend.auth.permissions import Role, role_permissions  # noqa: PLC0415 - composed from the modules

    assert not role_permissions()[Role.CITIZEN] & set(OfficePermission)
