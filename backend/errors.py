"""Domain errors: every use case raises one of these; `backend/http/errors.py` renders them.

Each error has a machine-readable ``code`` (clients branch on it, never on the text), an HTTP
status, and a Chinese message a citizen can read. Modules subclass these in their own
``errors.py`` when they need a specific code.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base class. Override ``code``, ``http_status`` and ``message`` on subclasses."""

    code: str = "service_error"
    http_status: int = 400
    message: str = "请求无法处理"

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}
        super().__init__(self.message)

    def response_headers(self) -> dict[str, str]:
        """Headers the error response carries besides its body. Override to add some; the
        default gives ``Retry-After`` when the error sets ``retry_after`` (seconds)."""
        retry_after = getattr(self, "retry_after", None)
        return {"Retry-After": str(retry_after)} if retry_after else {}


class ValidationFailed(ServiceError):
    code = "validation_failed"
    http_status = 400
    message = "提交的内容不符合要求"


class InvalidJSON(ServiceError):
    code = "invalid_json"
    http_status = 400
    message = "请求内容不是有效的 JSON"


class Unauthenticated(ServiceError):
    code = "unauthenticated"
    http_status = 401
    message = "请先登录"


class Forbidden(ServiceError):
    code = "forbidden"
    http_status = 403
    message = "没有权限执行此操作"


class ActionForbidden(Forbidden):
    """The actor's roles do not allow this action on the case (its workflow says who may)."""

    code = "action_not_allowed"
    message = "您的角色不能对该事项执行此操作"


class NotFound(ServiceError):
    code = "not_found"
    http_status = 404
    message = "所请求的内容不存在"


class Conflict(ServiceError):
    code = "conflict"
    http_status = 409
    message = "操作与当前状态冲突，请刷新后重试"


class VersionConflict(Conflict):
    code = "version_conflict"
    message = "内容已被他人修改，请刷新后重试"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message = "当前状态下不能执行此操作"


class DuplicateKey(Conflict):
    """A unique index was violated (raised by both store engines)."""

    code = "duplicate"
    message = "相同的内容已经存在"


class PayloadTooLarge(ServiceError):
    code = "payload_too_large"
    http_status = 413
    message = "提交的内容过大"


class UnsupportedMediaType(ServiceError):
    code = "unsupported_media_type"
    http_status = 415
    message = "不支持该文件类型"


class RangeNotSatisfiable(ServiceError):
    """A ``Range`` that starts beyond the end of the file: 416 with ``Content-Range: bytes */size``."""

    code = "range_not_satisfiable"
    http_status = 416
    message = "请求的范围超出文件大小"

    def __init__(self, size: int) -> None:
        super().__init__(details={"size": size})
        self.size = size

    def response_headers(self) -> dict[str, str]:
        return {**super().response_headers(), "Content-Range": f"bytes */{self.size}"}


class Unprocessable(ServiceError):
    code = "unprocessable"
    http_status = 422
    message = "请求无法处理"


class RateLimited(ServiceError):
    code = "rate_limited"
    http_status = 429
    message = "操作过于频繁，请稍后再试"

    def __init__(self, message: str | None = None, *, retry_after: int = 60, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class Unavailable(ServiceError):
    code = "unavailable"
    http_status = 503
    message = "服务暂时不可用，请稍后再试"
