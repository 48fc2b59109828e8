"""The citizen-facing API for the mini-program (``/mp/v1``): every module's
``miniprogram_api/<module>.py`` route list, in the order of the module list."""

from __future__ import annotations

from backend.http.routes import Route, face_routes
from backend.modules import MODULES

ROUTES: list[Route] = face_routes("miniprogram_api", MODULES)
