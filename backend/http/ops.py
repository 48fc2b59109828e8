"""Operations endpoints: ``/healthz``, ``/metrics`` (Prometheus), ``/openapi.json``."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from backend.auth.permissions import Permission
from backend.http.base import JsonHandler
from backend.http.endpoint import endpoint
from backend.schemas import ResponseModel


class HealthOut(ResponseModel):
    status: str
    parts: dict[str, str]


class HealthHandler(JsonHandler):
    """ok when every part answers; degraded (still 200: the service keeps serving) otherwise."""

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
        return {"status": status, "parts": parts}

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
