"""(filled by its part)"""

from __future__ import annotations

from backend.http.routes import Route

ROUTES: list[Route] = []
