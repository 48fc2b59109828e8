"""A route: URL pattern (named groups for path parameters) and its handler class."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Iterable

from backend.http.base import JsonHandler
from backend.registry import Module


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

    def path_param_schema(self, name: str) -> dict[str, object]:
        """``(?P<kind>welcome|default)`` is an enum; any other group a string of its pattern."""
        group = re.search(rf"\(\?P<{name}>([^)]*)\)", self.pattern)
        body = group.group(1) if group else ""
        if re.fullmatch(r"\w+(\|\w+)+", body):
            return {"type": "string", "enum": body.split("|")}
        return {"type": "string", "pattern": f"^{body}$"} if body else {"type": "string"}


ID = r"(?P<{}>[0-9a-f]{{20}})"
FILE_ID = r"(?P<file_id>[0-9a-f]{64})"  # a stored file: the sha256 of its bytes
CODE = r"(?P<{}>[A-Za-z0-9_\-]{{1,32}})"


def face_routes(face: str, modules: Iterable[Module]) -> list[Route]:
    """The routes of every module that has a handler file in ``face`` (``handlers`` or
    ``miniprogram_api``): ``<face>/<module name>.py`` exposes ``ROUTES``."""
    found: list[Route] = []
    for module in modules:
        try:
            handlers = importlib.import_module(f"{face}.{module.name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{face}.{module.name}":
                raise
            continue
        found.extend(getattr(handlers, "ROUTES", []))
    return found
