"""The JSON base handler both faces subclass (``StaffHandler``, ``CitizenHandler``).

It uses Tornado's own hooks. The handler streams its request body (``stream_request_body``):
``prepare`` runs as soon as the headers are in, authenticates, checks the method's declared
permission and the declared ``Content-Length``, and parses the query; so a request without a
valid token, or announcing too big a body, is answered (401/403/413) and its connection closed
before a byte of the body is read. ``data_received`` then takes the body in (JSON in memory up
to its limit, an upload into a temporary file: ``backend/http/bodies.py``), and once it is
complete ``body_received`` parses it and claims the Idempotency-Key, just before the declared
method runs. ``write_error`` renders the one error envelope; ``on_finish`` records the access
log and metrics. Handler methods are declared with ``@endpoint`` and return their response object
(for a ``download`` endpoint, the attachment record whose file ``send_file`` streams).
"""

from __future__ import annotations

import hashlib
import logging
import time
from asyncio import Future
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
import tornado.web
from tornado.http1connection import HTTP1Connection

from backend.auth.permissions import Permission
from backend.auth.tokens import Principal
from backend.errors import Forbidden, ServiceError, Unauthenticated, Unavailable, ValidationFailed
from backend.files.interfaces import IncomingFile
from backend.http.bodies import FileSink, JsonSink, too_large
from backend.http.downloads import send_file
from backend.http.endpoint import HTTP_METHODS, EndpointSpec, spec_of
from backend.http.idempotency import Claim
from backend.http.validation import parse_body, parse_query
from backend.ids import new_id

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

access_log = logging.getLogger("yzt.access")
app_log = logging.getLogger("yzt.app")

_REASONS = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "所请求的内容不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "提交的内容过大"),
    500: ("internal_error", "服务器内部错误，请稍后再试"),
    503: ("unavailable", "服务暂时不可用，请稍后再试"),
}

# Requests that carry no token (logins, the WeChat callback) have small bodies: bounding them
# bounds what strangers can make the server hold, whatever YZT_MAX_BODY_BYTES allows staff.
PUBLIC_MAX_BODY = 64 * 1024
UPLOAD_SLOT = "upload"
_MAX_DIGITS = 18  # a signed 64-bit integer holds it (both store engines), int() takes it


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "details": details or {}}})


class UploadsBusy(Unavailable):
    code = "uploads_busy"
    message = "当前上传人数过多，请稍后再试"

    def __init__(self) -> None:
        super().__init__()
        self.retry_after = 2  # uploads take seconds: a short wait usually finds a free slot


@tornado.web.stream_request_body
class JsonHandler(tornado.web.RequestHandler):
    """Override ``audience`` ("staff" or "mp") in the face's base class."""

    audience: ClassVar[str | None] = None
    ctx: "AppContext"
    route: str
    spec: EndpointSpec | None = None
    principal: Principal | None = None
    body: Any = None
    query: Any = None
    upload: IncomingFile | None = None  # the streamed file of an ``upload`` endpoint
    _claim: Claim | None = None
    _sink: JsonSink | FileSink | None = None
    _holds_upload_slot = False
    _body_in = False  # Tornado has read the whole body

    def initialize(self, ctx: "AppContext", route: str = "") -> None:
        self.ctx = ctx
        self.route = route
        self._started = time.perf_counter()
        self.set_default_headers()  # again: Tornado's first call came before the settings were known

    def set_default_headers(self) -> None:
        self.clear_header("Server")  # Tornado's "TornadoServer/<version>" tells an attacker what to try
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        ctx = getattr(self, "ctx", None)  # None in Tornado's first call, from __init__
        if ctx is not None and ctx.settings.hsts_seconds:  # only when served behind TLS: the setting says so
            self.set_header("Strict-Transport-Security", f"max-age={ctx.settings.hsts_seconds}")

    def compute_etag(self) -> None:
        return None  # ETags come from the document version; never hash response bodies

    @property
    def request_id(self) -> str:
        rid = getattr(self, "_request_id", None)
        if rid is None:
            supplied = self.request.headers.get("X-Request-Id", "")
            rid = supplied if 0 < len(supplied) <= 64 and supplied.isprintable() else new_id()
            self._request_id = rid
            self.set_header("X-Request-Id", rid)
        return rid

    async def prepare(self) -> None:
        """Everything that needs only the headers; the body is not read until this returns."""
        self.request_id  # noqa: B018 - assigns and echoes the request id early
        spec = spec_of(type(self), self.request.method or "")
        if spec is None:
            raise tornado.web.HTTPError(405)
        self.spec = spec
        if spec.permission is not Permission.PUBLIC:
            self.principal = self.authenticate()
            self.current_user = self.principal
            if not self.principal.may(spec.permission):
                raise Forbidden()
        limit = self.body_limit(spec)
        declared = self.request.headers.get("Content-Length", "").strip()
        if declared.isascii() and declared.isdigit() and (len(declared) > _MAX_DIGITS or int(declared) > limit):
            # (A length that is not plain digits is Tornado's to refuse, as a 400, right after.)
            raise too_large(limit)
        # Tornado's own bound, for a chunked body (no declared length). Above ours, so that
        # data_received refuses first, with our 413; only a single chunk announcing more than
        # twice the limit meets Tornado's (a bare 400) before a byte of it is read.
        if isinstance(self.request.connection, HTTP1Connection):
            self.request.connection.set_max_body_size(2 * limit)
        if spec.query is not None:
            self.query = parse_query(spec.query, self.request.query_arguments)
        if spec.upload:
            if not self.ctx.slots.take(UPLOAD_SLOT, self.ctx.settings.max_concurrent_uploads):
                raise UploadsBusy()
            self._holds_upload_slot = True
            self._sink = FileSink(self.ctx.settings.data_dir / "incoming", limit)
        else:
            self._sink = JsonSink(limit)

    def body_limit(self, spec: EndpointSpec) -> int:
        if spec.upload:
            return self.ctx.settings.max_upload_bytes
        if self.principal is None:
            return min(PUBLIC_MAX_BODY, self.ctx.settings.max_body_bytes)
        return self.ctx.settings.max_body_bytes

    async def data_received(self, chunk: bytes) -> None:
        if self._finished or self._sink is None:
            return
        try:
            await self._sink.write(chunk)
        except ServiceError as exc:
            # Answering before the body is complete makes Tornado close the connection
            # instead of reading the rest.
            self.send_error(exc.http_status, exc_info=(type(exc), exc, exc.__traceback__))

    async def body_received(self) -> None:
        """The body is complete: parse it and claim the Idempotency-Key (called by ``@endpoint``
        just before the method; may finish the request, with a replayed response)."""
        assert self.spec is not None
        self._body_in = True
        if isinstance(self._sink, FileSink):
            self.upload = await self._sink.finish()
            body_hash = self.upload.sha256
        else:
            self.request.body = self._sink.close() if self._sink is not None else b""
            body_hash = hashlib.sha256(self.request.body).hexdigest()
        if self.spec.body is not None:
            self.body = parse_body(self.spec.body, self.request.body)
        if self.spec.idempotent:
            await self._claim_idempotency(body_hash)

    def authenticate(self) -> Principal:
        """Override to authenticate differently; the default reads a Bearer token of ``audience``."""
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated()
        assert self.audience is not None, "a face's base handler sets audience"
        return self.ctx.tokens.verify(token.strip(), self.audience)

    async def _claim_idempotency(self, body_hash: str) -> None:
        key = self.request.headers.get("Idempotency-Key")
        if key is None:
            return
        scope = f"{self.principal.user_id if self.principal else '-'}\n{self.request.method}\n{self.request.path}"
        claim = await self.ctx.idempotency.claim(scope=scope, key=key, body_hash=body_hash)
        if claim.replay:
            self.set_status(claim.record["status"])
            self.set_header("Idempotent-Replayed", "true")
            self.finish(claim.record["response"])
            return
        self._claim = claim

    def new_object_id(self) -> str:
        """The id for the object this request creates: reserved by its Idempotency-Key, if any."""
        return self._claim.reserved_id if self._claim else new_id()

    def if_match_version(self) -> int | None:
        """The version named by If-Match (``"3"`` or ``W/"3"``), for optimistic concurrency."""
        header = self.request.headers.get("If-Match")
        if header is None:
            return None
        value = header.strip().removeprefix("W/").strip('"')
        if not (value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS):
            raise ValidationFailed("If-Match 格式不正确", details={"fields": [{"field": "If-Match", "message": "应为版本号"}]})
        return int(value)

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> "Future[None]":
        if not self._body_in and not self._headers_written:
            # Answered before the body was read (even an empty one): Tornado closes the connection
            # rather than read on. Say so, or a keep-alive client sends its next request into it.
            self.set_header("Connection", "close")
        return super().finish(chunk)

    async def respond(self, result: Any, status: int) -> None:
        if self._finished:
            return
        if self.spec is not None and self.spec.download:
            await send_file(self, result)
            return
        if result is None:
            self.set_status(204 if status == 200 else status)
            payload = b""
        elif isinstance(result, (str, bytes)) and self.spec is not None and self.spec.media_type != "application/json":
            self.set_status(status)  # a declared text type (CSV, XML …): written as it is
            self.set_header("Content-Type", f"{self.spec.media_type}; charset=utf-8")
            payload = result.encode("utf-8") if isinstance(result, str) else result
        else:
            self.set_status(status)
            if isinstance(result, dict) and "version" in result and "id" in result:
                self.set_header("ETag", f'"{result["version"]}"')
            payload = orjson.dumps(result)
        if self._claim is not None:
            await self.ctx.idempotency.complete(self._claim, self.get_status(), payload)
            self._claim = None
        self.finish(payload or None)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ServiceError):
            self.set_status(exc.http_status)
            if isinstance(exc, Unauthenticated):
                self.set_header("WWW-Authenticate", 'Bearer realm="yizhantong"')
            for name, value in exc.response_headers().items():
                self.set_header(name, value)
            self._error_code = exc.code
            self.finish(error_body(exc.code, exc.message, exc.details))
            return
        if status_code == 405:
            self.set_header("Allow", ", ".join(
                m.upper() for m in HTTP_METHODS if spec_of(type(self), m) is not None))
        code, message = _REASONS.get(status_code, ("error", "请求无法处理"))
        self._error_code = code
        self.finish(error_body(code, message, {"request_id": self.request_id} if status_code >= 500 else None))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, (ServiceError, tornado.web.HTTPError)):
            app_log.debug("%s %s -> %s", self.request.method, self.route, getattr(value, "code", value))
            return
        # Not Tornado's own line: it names the client address and the full URI with its query
        # string (tokens, search terms). The route and request id find the request instead.
        app_log.error("uncaught exception in %s %s (request %s)", self.request.method, self.route or "unmatched",
                      self.request_id, exc_info=(typ, value, tb))

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        if self._claim is not None:
            claim, self._claim = self._claim, None
            self.ctx.spawn(self.ctx.idempotency.release(claim), name="idempotency-release")
        super().send_error(status_code, **kwargs)

    def on_connection_close(self) -> None:
        super().on_connection_close()  # ends a body still streaming in
        self._release()

    def _release(self) -> None:
        if isinstance(self._sink, FileSink):
            self._sink.discard()
        if self._holds_upload_slot:
            self._holds_upload_slot = False
            self.ctx.slots.give_back(UPLOAD_SLOT)

    def on_finish(self) -> None:
        self._release()
        elapsed = time.perf_counter() - self._started
        status = self.get_status()
        route = self.route or "unmatched"
        self.ctx.metrics.observe(route, self.request.method or "", status, elapsed)
        code = getattr(self, "_error_code", None)
        if code is not None:
            self.ctx.metrics.errors.labels(route, code).inc()
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(orjson.dumps({
                "request_id": self.request_id, "method": self.request.method, "route": route,
                "path": self.request.path, "status": status, "ms": round(elapsed * 1000, 2),
                "user": self.principal.user_id if self.principal else None,
                "error": code,
            }).decode())


class NotFoundHandler(JsonHandler):
    """The ``default_handler_class``: JSON 404 for every unknown path."""

    async def prepare(self) -> None:
        self.request_id  # noqa: B018
        raise tornado.web.HTTPError(404)
