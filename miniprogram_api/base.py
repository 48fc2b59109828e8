"""The mini-program's base handler: ``/mp/v1`` with citizen (``mp``) tokens."""

from __future__ import annotations

from backend.http.base import JsonHandler


class CitizenHandler(JsonHandler):
    audience = "mp"
