"""The staff apps' base handler: ``/api/v1`` with staff-audience tokens."""

from __future__ import annotations

from backend.http.base import JsonHandler


class StaffHandler(JsonHandler):
    audience = "staff"
