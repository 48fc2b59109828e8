"""A route: URL pattern (named groups for path parameters) and its handler class."""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.http.base import JsonHandler


@dataclass(frozen=True)
class Route:
    pattern: str
    handler: type[JsonHandler]

    @property
    def openapi_path(self) -> str:
        """``/a/(?P<id>[^/]+)`` → ``/a/{id}``."""
        return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", self.pattern).rstrip("$")

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"\(\?P<(\w+)>", self.pattern)


ID = r"(?P<{}>[0-9a-f]{{20}})"
CODE = r"(?P<{}>[A-Za-z0-9_\-]{{1,32}})"
