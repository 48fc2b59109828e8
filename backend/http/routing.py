"""Routing by path segments: a request finds its route in a few dictionary steps instead of
trying the regular expressions of every route in turn (Tornado's rule list), which on a
hundred-odd routes cost more than some handlers.

Each route's pattern is split at ``/``: a plain segment is a dictionary key, any other is a
regular expression the whole segment must match (an id, a year, ``welcome|default``). Literal
children are tried before patterned ones. The route found is then confirmed by Tornado's own
matcher, which also decodes the path arguments, so what a handler receives is unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import tornado.httputil
import tornado.web

_PLAIN = re.compile(r"[A-Za-z0-9_\-]*")


@dataclass
class _Node:
    literal: dict[str, "_Node"] = field(default_factory=dict)
    patterned: list[tuple[re.Pattern[str], "_Node"]] = field(default_factory=list)
    specs: list[tornado.web.URLSpec] = field(default_factory=list)

    def child(self, segment: str) -> "_Node":
        if _PLAIN.fullmatch(segment):
            return self.literal.setdefault(segment, _Node())
        for regex, node in self.patterned:
            if regex.pattern == segment:
                return node
        node = _Node()
        self.patterned.append((re.compile(segment), node))
        return node


def _segments(pattern: str) -> list[str]:
    if not pattern.startswith("/") or not pattern.endswith("$"):
        raise ValueError(f"route pattern must be anchored and start with '/': {pattern!r}")
    segments = pattern[1:-1].split("/")
    for segment in segments:  # a group holding a '/' would be cut in two
        if segment.count("(") != segment.count(")"):
            raise ValueError(f"route pattern with '/' inside a group: {pattern!r}")
    return segments


class SegmentRouter:
    def __init__(self, specs: list[tornado.web.URLSpec]) -> None:
        self._root = _Node()
        for spec in specs:
            node = self._root
            for segment in _segments(spec.matcher.regex.pattern):
                node = node.child(segment)
            node.specs.append(spec)

    def find(self, path: str) -> tornado.web.URLSpec | None:
        """The route whose every segment matches ``path``'s (not yet confirmed by its matcher)."""
        if not path.startswith("/"):
            return None
        return self._walk(self._root, path[1:].split("/"), 0)

    def _walk(self, node: _Node, segments: list[str], depth: int) -> tornado.web.URLSpec | None:
        if depth == len(segments):
            return node.specs[0] if node.specs else None
        segment = segments[depth]
        nxt = node.literal.get(segment)
        if nxt is not None and (found := self._walk(nxt, segments, depth + 1)) is not None:
            return found
        for regex, child in node.patterned:
            if regex.fullmatch(segment) and (found := self._walk(child, segments, depth + 1)) is not None:
                return found
        return None


class RoutedApplication(tornado.web.Application):
    """A Tornado Application whose routes are found by ``SegmentRouter``; anything else goes to
    the ``default_handler_class``, as before."""

    def __init__(self, specs: list[tornado.web.URLSpec], **settings: Any) -> None:
        super().__init__([], **settings)
        self.routes = SegmentRouter(specs)

    def find_handler(self, request: tornado.httputil.HTTPServerRequest, **kwargs: Any) -> Any:
        spec = self.routes.find(request.path)
        if spec is not None and (params := spec.matcher.match(request)) is not None:
            return self.get_handler_delegate(request, spec.target, spec.kwargs,
                                             params.get("path_args"), params.get("path_kwargs"))
        return super().find_handler(request, **kwargs)
