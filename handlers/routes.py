"""The staff-facing API (``/api/v1``), the WeChat callbacks (``/wechat``) and ``/ws``: every
module's ``handlers/<module>.py`` route list, in the order of the module list."""

from __future__ import annotations

from backend.http.routes import Route, face_routes
from backend.modules import MODULES

ROUTES: list[Route] = face_routes("handlers", MODULES)
