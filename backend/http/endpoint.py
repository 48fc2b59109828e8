"""Endpoint declarations: each handler method says who may call it and what it takes and returns.

The base handler enforces the declaration (authentication, permission, body and query parsing,
idempotency); the OpenAPI document and the authorization-matrix test are generated from it, so a
route cannot exist without one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from pydantic import BaseModel

from backend.auth.permissions import Permission
from backend.http.downloads import DownloadQuery


@dataclass(frozen=True)
class EndpointSpec:
    permission: Permission
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    idempotent: bool = False  # a create: honours Idempotency-Key
    upload: bool = False  # the body is a file (raw bytes, up to max_upload_bytes), not JSON
    download: bool = False  # the method returns an attachment record; its file is the response
    media_type: str = "application/json"  # of the success response
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


Method = Callable[..., Awaitable[Any]]


def endpoint(*, permission: Permission, summary: str, body: type[BaseModel] | None = None,
             query: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
             status: int = 200, idempotent: bool = False, upload: bool = False, download: bool = False,
             errors: tuple[int, ...] = (), tags: tuple[str, ...] = (),
             media_type: str = "application/json") -> Callable[[Method], Method]:
    """Declare a handler method. The method returns the response object (a dict, or None for
    204); the base handler parses the (by then complete) body first, then writes the result,
    sets the ETag from ``version`` and completes idempotency.

    ``download=True``: the method returns the attachment record of a file the caller may see,
    and the response is that file (``backend/http/downloads.py``: ranges, ``?thumbnail=1``)."""
    if download:
        query = query or DownloadQuery
        media_type = "application/octet-stream"
        errors = tuple(sorted({*errors, 404, 415, 416}))
    spec = EndpointSpec(permission=permission, summary=summary, body=body, query=query, response=response,
                        status=status, idempotent=idempotent, upload=upload, download=download, errors=errors,
                        tags=tags, media_type=media_type)

    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        async def run(handler: Any, *args: Any, **kwargs: Any) -> None:
            await handler.body_received()
            if handler._finished:  # noqa: SLF001 - an Idempotency-Key replay already answered
                return
            result = await method(handler, *args, **kwargs)
            await handler.respond(result, spec.status)

        run.endpoint_spec = spec  # type: ignore[attr-defined]  # read by the base handler and OpenAPI
        return run
    return decorate


def spec_of(handler_class: type, method: str) -> EndpointSpec | None:
    return getattr(getattr(handler_class, method.lower(), None), "endpoint_spec", None)


HTTP_METHODS = ("get", "post", "put", "patch", "delete")
