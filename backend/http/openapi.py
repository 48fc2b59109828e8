"""OpenAPI 3.1, generated from the route table and each endpoint's declared models."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from pydantic import BaseModel

from backend.attachments.thumbnails import THUMBNAIL_TYPE
from backend.auth.permissions import Permission
from backend.config import Settings
from backend.http.downloads import FALLBACK_TYPE
from backend.http.endpoint import HTTP_METHODS, spec_of
from backend.http.routes import Route

_REF = "#/components/schemas/{model}"

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "details"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
    }},
}

_STATUS_TEXT = {200: "成功", 201: "已创建", 204: "无内容", 206: "部分内容", 304: "未修改", 400: "请求无效",
                401: "未登录", 403: "无权限", 404: "不存在", 409: "冲突", 413: "内容过大", 415: "不支持的类型",
                416: "范围无效", 422: "无法处理", 429: "过于频繁", 503: "暂不可用"}
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_TEXT = {"type": "string"}
_FILE_HEADERS = {
    "Content-Disposition": {"required": True, "schema": _TEXT,
                            "description": "attachment; filename=\"ASCII 名\"; filename*=UTF-8''<原文件名>"},
    "ETag": {"required": True, "schema": _TEXT, "description": "文件 id（内容的 sha256）"},
    "Cache-Control": {"required": True, "schema": _TEXT, "description": "private, max-age=300"},
    "Accept-Ranges": {"required": True, "schema": {"type": "string", "enum": ["bytes"]}},
}
_DOWNLOAD_PARAMETERS = [
    {"name": "Range", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 100},
     "description": "一个范围：bytes=a-b、bytes=a-、bytes=-n（多个范围时返回整个文件）"},
    {"name": "If-Range", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 100}},
    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200}},
]


def _download_responses(file_types: Sequence[str]) -> dict[str, Any]:
    """200 (the file), 206 (one range), 304 (If-None-Match): the bytes of the stored type."""
    content = {media_type: _BINARY for media_type in file_types}
    ranged = {**_FILE_HEADERS, "Content-Range": {"required": True, "schema": _TEXT,
                                                 "description": "bytes a-b/size"}}
    return {"200": {"description": "文件内容（?thumbnail=1：图片的 JPEG 缩略图）", "headers": _FILE_HEADERS,
                    "content": content},
            "206": {"description": "所请求范围的内容", "headers": ranged, "content": content},
            "304": {"description": "未修改（If-None-Match 与 ETag 相同）"}}


def build_openapi(routes: Iterable[Route], *, title: str, version: str,
                  upload_types: Sequence[str] = Settings.upload_types) -> dict[str, Any]:
    """``upload_types`` (``settings.upload_types``) are the request types of uploads and, with
    the thumbnails' JPEG, the response types of downloads."""
    file_types = sorted({*upload_types, THUMBNAIL_TYPE, FALLBACK_TYPE})
    schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    paths: dict[str, Any] = {}

    def ref(model: type[BaseModel], mode: str) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}

    for route in routes:
        operations: dict[str, Any] = {}
        for method in HTTP_METHODS:
            spec = spec_of(route.handler, method)
            if spec is None:
                continue
            parameters: list[dict[str, Any]] = [
                {"name": name, "in": "path", "required": True, "schema": route.path_param_schema(name)}
                for name in route.path_params]
            if spec.query is not None:
                query_schema = spec.query.model_json_schema(ref_template=_REF)
                schemas.update(query_schema.pop("$defs", {}))  # an enum of a query parameter is referenced
                for name, prop in query_schema.get("properties", {}).items():
                    parameters.append({"name": name, "in": "query",
                                       "required": name in query_schema.get("required", []), "schema": prop})
            responses: dict[str, Any] = {}
            success: dict[str, Any] = {"description": _STATUS_TEXT.get(spec.status, "成功")}
            if spec.download:
                responses.update(_download_responses(file_types))
                parameters.extend(_DOWNLOAD_PARAMETERS)
            elif spec.status != 204 and spec.media_type == "application/json":
                success["content"] = {"application/json": {
                    "schema": ref(spec.response, "serialization") if spec.response else {"type": "object"}}}
            elif spec.status != 204:
                success["content"] = {spec.media_type: {"schema": {"type": "string"}}}
            if not spec.download:
                responses[str(spec.status)] = success
            error_statuses = {400, 413, *spec.errors}
            if route.path_params:
                error_statuses.add(404)
            if spec.permission is not Permission.PUBLIC:
                error_statuses |= {401, 403}
            if spec.idempotent:
                error_statuses |= {409, 422}
            for status in sorted(error_statuses):
                responses[str(status)] = {"description": _STATUS_TEXT.get(status, "错误"), "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model="Error")}}}}
            if spec.download:
                responses["416"]["headers"] = {"Content-Range": {"required": True, "schema": _TEXT,
                                                                 "description": "bytes */size"}}
            operation: dict[str, Any] = {
                "operationId": f"{route.handler.__module__.replace('.', '_')}_{route.handler.__name__}_{method}", "summary": spec.summary,
                "tags": list(spec.tags), "parameters": parameters, "responses": responses,
                "x-permission": spec.permission.value,
            }
            if spec.permission is not Permission.PUBLIC:
                operation["security"] = [{"bearer": []}]
            if spec.idempotent:
                parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                                   "schema": {"type": "string", "maxLength": 255}})
            if spec.upload:
                operation["requestBody"] = {
                    "required": True, "description": "文件本身；Content-Type 为其类型（只接受以下类型）",
                    "content": {media_type: _BINARY for media_type in upload_types}}
                parameters.append({"name": "filename", "in": "query", "required": False,
                                   "schema": {"type": "string", "maxLength": 100}})
            if spec.body is not None:
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": ref(spec.body, "validation")}}}
            operations[method] = operation
        if operations:
            paths[route.openapi_path] = operations
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
