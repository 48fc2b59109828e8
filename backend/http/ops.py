"""Operations endpoints: ``/healthz``, ``/metrics`` (Prometheus), ``/openapi.json``."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from backend.auth.permissions import Permission
from backend.calendar.queries import calendar_health
from backend.errors import NotFound, Unauthenticated
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
    """Metrics name routes, error codes and volumes: not for the public. With
    ``YZT_METRICS_TOKEN`` set they need ``Authorization: Bearer <that token>`` wherever they are
    served; without it they are served only on the separate listener (``YZT_METRICS_PORT``,
    bound to ``YZT_METRICS_HOST``, loopback by default) and the public listener answers 404, as
    for a path that does not exist. Neither set: no metrics, the safe default."""

    def initialize(self, ctx: Any, route: str = "", listener: str = "public") -> None:
        super().initialize(ctx, route)
        self.listener = listener

    @endpoint(permission=Permission.PUBLIC, summary="Prometheus 指标（需 YZT_METRICS_TOKEN 或独立端口）",
              tags=("ops",), media_type="text/plain", errors=(401, 404))
    async def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.ctx.metrics.registry))

    async def prepare(self) -> None:
        await super().prepare()
        expected = self.ctx.settings.metrics_token
        if not expected:
            if self.listener != "metrics":
                raise NotFound()
            return
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise Unauthenticated("指标需要访问令牌", code="metrics_token_required")


class OpenApiHandler(JsonHandler):
    def initialize(self, ctx: Any, route: str = "", document: bytes = b"") -> None:
        super().initialize(ctx, route)
        self.document = document

    @endpoint(permission=Permission.PUBLIC, summary="OpenAPI 3.1 文档", tags=("ops",))
    async def get(self) -> None:
        self.finish(self.document)
