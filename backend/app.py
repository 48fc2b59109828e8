"""The composition root: builds the Tornado Application from the two faces' route lists, and
runs the server (one process, or several sharing one listening socket)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from typing import Any

import orjson
import tornado.httpserver
import tornado.netutil
import tornado.web

from backend import __version__
from backend.bootstrap import AppContext, bootstrap
from backend.config import Settings
from backend.http.base import PUBLIC_MAX_BODY, NotFoundHandler
from backend.http.openapi import build_openapi
from backend.http.ops import HealthHandler, MetricsHandler, OpenApiHandler
from backend.http.routes import Route
from backend.http.routing import RoutedApplication
from backend.http.server import Server
from backend.logs import configure_logging, redact_tornado_logs
from handlers.routes import ROUTES as STAFF_ROUTES
from miniprogram_api.routes import ROUTES as CITIZEN_ROUTES
from push.app import start_push

log = logging.getLogger(__name__)

OPS_ROUTES = [Route(r"/healthz", HealthHandler), Route(r"/metrics", MetricsHandler),
              Route(r"/openapi.json", OpenApiHandler)]


def all_routes() -> list[Route]:
    return [*OPS_ROUTES, *STAFF_ROUTES, *CITIZEN_ROUTES]


def openapi_document(settings: Settings | None = None) -> dict[str, Any]:
    """The API's OpenAPI document; upload types from ``settings`` (the defaults without)."""
    return build_openapi(all_routes(), title="Yizhantong 一站通 API", version=__version__,
                         upload_types=(settings or Settings()).upload_types)


def make_app(ctx: AppContext) -> tornado.web.Application:
    document = orjson.dumps(openapi_document(ctx.settings))
    handlers: list[tornado.web.URLSpec] = []
    for route in all_routes():
        kwargs: dict[str, Any] = {"ctx": ctx, "route": route.openapi_path}
        if route.handler is OpenApiHandler:
            kwargs["document"] = document
        if route.handler is MetricsHandler:
            kwargs["listener"] = "public"
        handlers.append(tornado.web.URLSpec(route.pattern + "$" if not route.pattern.endswith("$") else route.pattern,
                                            route.handler, kwargs))
    return _application(ctx, handlers)


def metrics_app(ctx: AppContext) -> tornado.web.Application:
    """What the separate metrics listener (``YZT_METRICS_PORT``) serves: ``/metrics`` only."""
    return _application(ctx, [tornado.web.URLSpec(r"/metrics$", MetricsHandler,
                                                  {"ctx": ctx, "route": "/metrics", "listener": "metrics"})])


def _application(ctx: AppContext, handlers: list[tornado.web.URLSpec]) -> tornado.web.Application:
    return RoutedApplication(
        handlers, default_handler_class=NotFoundHandler, default_handler_args={"ctx": ctx},
        log_function=lambda handler: None,  # our handlers write the structured access log
        compress_response=False, xsrf_cookies=False,
    )


def http_server(app: tornado.web.Application, settings: Settings) -> tornado.httpserver.HTTPServer:
    # Our handlers stream their bodies and raise this bound per request, after authenticating
    # (backend/http/base.py); what stays is the bound for the one handler that does not stream
    # (the WebSocket handshake, a GET) and for each read into Tornado's buffer.
    # No xheaders: client addresses are never used or logged (personal data), and parsing them
    # costs a getaddrinfo call per request.
    redact_tornado_logs()
    return Server(app, xheaders=False, max_body_size=PUBLIC_MAX_BODY, max_buffer_size=4 * 1024 * 1024,
                  idle_connection_timeout=75, body_timeout=60)


async def serve(settings: Settings, *, sockets: list[socket.socket] | None = None,
                metrics_sockets: list[socket.socket] | None = None,
                redis_url: str | None = None, ready: Any = None) -> None:
    """One serving process until SIGTERM/SIGINT: bootstrap, listen, then shut down in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with bootstrap(settings, redis_url=redis_url, background=settings.run_workers) as ctx:
        if settings.run_workers:
            await start_push(ctx)
        servers = [http_server(make_app(ctx), settings)]
        servers[0].add_sockets(sockets or tornado.netutil.bind_sockets(settings.port, settings.host))
        if settings.metrics_port:
            servers.append(http_server(metrics_app(ctx), settings))
            servers[1].add_sockets(metrics_sockets or metrics_listener(settings))
        log.info("yzt serving on http://%s:%s (pid %s)", settings.host, settings.port, os.getpid())
        if ready is not None:
            ready()
        await stop.wait()
        log.info("yzt stopping (pid %s)", os.getpid())
        for server in servers:
            server.stop()
        for server in servers:
            await server.close_all_connections()
    log.info("yzt stopped (pid %s)", os.getpid())


def metrics_listener(settings: Settings) -> list[socket.socket]:
    return tornado.netutil.bind_sockets(settings.metrics_port, settings.metrics_host) if settings.metrics_port else []


def run(settings: Settings) -> None:
    """``yzt serve``: one process, or ``processes`` children sharing the listening socket."""
    configure_logging(settings)
    _use_uvloop()
    if settings.processes == 1:
        asyncio.run(serve(settings))
        return
    from backend.multiprocess import run_processes  # noqa: PLC0415

    run_processes(settings)


def _use_uvloop() -> None:
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return
    if sys.version_info >= (3, 12):  # pragma: no cover
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    else:
        uvloop.install()
