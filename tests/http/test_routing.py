"""The segment router finds the route Tornado's rule list would, for every route we serve, and
nothing for a path no route matches."""

from __future__ import annotations

import re

import pytest
import tornado.web

from backend.app import all_routes
from backend.http.routing import SegmentRouter

SAMPLES = {r"[0-9a-f]{20}": "0123456789abcdef0123", r"[0-9a-f]{64}": "ab" * 32, r"[0-9]{4}": "2027",
           r"[A-Za-z0-9_\-]{1,32}": "qd-housing", "welcome|default": "welcome"}


def specs() -> list[tornado.web.URLSpec]:
    return [tornado.web.URLSpec(route.pattern.rstrip("$") + "$", route.handler) for route in all_routes()]


def example(pattern: str) -> str:
    def sample(match: re.Match[str]) -> str:
        return SAMPLES[match.group(2)]
    path = re.sub(r"\(\?P<(\w+)>(.*?)\)(?=/|\$)", sample, pattern)
    return path.rstrip("$").replace("\\", "")


def linear(routes: list[tornado.web.URLSpec], path: str) -> tornado.web.URLSpec | None:
    return next((spec for spec in routes if spec.regex.match(path)), None)


def test_every_route_is_found_as_the_rule_list_finds_it() -> None:
    routes = specs()
    router = SegmentRouter(routes)
    for spec in routes:
        path = example(spec.regex.pattern)
        assert linear(routes, path) is spec, path  # the example is this route's
        assert router.find(path) is spec, path


@pytest.mark.parametrize("path", ["/", "/api/v1/me/", "/api/v1//me", "/api/v1/letters/XYZ", "/api/v1/letters/0123",
                                  "/api/v1/office/tasks/board/x", "/openapi.json/..", "/mp/v1/todos/1", "api/v1/me"])
def test_a_path_no_route_matches_finds_nothing(path: str) -> None:
    routes = specs()
    assert linear(routes, path) is None
    assert SegmentRouter(routes).find(path) is None


def test_a_pattern_that_cannot_be_split_is_refused() -> None:
    with pytest.raises(ValueError):
        SegmentRouter([tornado.web.URLSpec(r"/files/(?P<path>a/b)$", tornado.web.RequestHandler)])
