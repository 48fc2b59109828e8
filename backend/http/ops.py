"""Operations endpoints: ``/healthz``, ``/metrics`` (Prometheus), ``/openapi.json``."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from backend.auth.permissions import Permission
from backend.calendar.queries import calendar_health
from backend.http.base import JsonHandler
from backend.http.endpoint import endpoint
from backend.schemas import ResponseModel


class CalendarHealthOut(ResponseModel):
    state: str
    missing_years: list[int]
    checked_years: list[int]


class HealthOut(ResponseModel):
    status: str
    parts: dict[str, str]
    calendar: CalendarHealthOut


class HealthHandler(JsonHandler):
    """ok when store, Redis and outbox answer; degraded (still 200: the service keeps serving)
    otherwise. The ``calendar`` part warns (``warning``, the years in ``calendar.missing_years``)
    when a year some deadline falls in has no holiday table; it does not make the service degraded."""

    @endpoint(permission=Permission.PUBLIC, summary="健康检查", response=HealthOut, tags=("ops",))
    async def get(self) -> dict[str, Any]:
        parts: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.ctx.store.ping(), timeout=2)
            parts["store"] = "ok"
        except Exception:  # noqa: BLE001 - any failure means the part is down
            parts["store"] = "down"
        try:
            await asyncio.wait_for(self.ctx.redis.ping(), timeout=1)
            parts["redis"] = "ok"
        except Exception:  # noqa: BLE001
            parts["redis"] = "down"
        parts["outbox"] = "ok" if self.ctx.relay.healthy else "waiting"
        if parts["store"] == "down":
            self.set_status(503)
        status = "ok" if all(v == "ok" for v in parts.values()) else "degraded"
        try:
            calendar = await asyncio.wait_for(calendar_health(self.ctx), timeout=2)
        except Exception:  # noqa: BLE001 - the store is down: the years a deadline needs are unknown
            calendar = {"state": "unknown", "missing_years": [], "checked_years": []}
        parts["calendar"] = calendar["state"]
        return {"status": status, "parts": parts, "calendar": calendar}

    async def respond(self, result: Any, status: int) -> None:
        self.finish(orjson.dumps(result))


class MetricsHandler(JsonHandler):
    @endpoint(permission=Permission.PUBLIC, summary="Prometheus 指标", tags=("ops",), media_type="text/plain")
    async def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.ctx.metrics.registry))


class OpenApiHandler(JsonHandler):
    def initialize(self, ctx: Any, route: str = "", document: bytes = b"") -> None:
        super().initialize(ctx, route)
        self.document = document

    @endpoint(permission=Permission.PUBLIC, summary="OpenAPI 3.1 文档", tags=("ops",))
    async def get(self) -> None:
        self.finish(self.document)
