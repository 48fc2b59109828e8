"""Request parsing: JSON bodies and query strings into pydantic models, errors in Chinese.

Every pydantic error type we can produce has a user-facing template here; an unmapped type
falls back to a generic message (and the test suite asserts the common ones are mapped).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from backend.errors import InvalidJSON, ValidationFailed

M = TypeVar("M", bound=BaseModel)

ERROR_TEMPLATES: dict[str, str] = {
    "missing": "必须填写",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为文本",
    "string_too_short": "长度不能少于 {min_length} 个字符",
    "string_too_long": "长度不能超过 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多只能有 {max_length} 项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "enum": "取值无效，可选：{expected}",
    "literal_error": "取值无效，可选：{expected}",
    "value_error": "{error}",
    "datetime_type": "应为日期时间",
    "datetime_parsing": "日期时间格式不正确",
    "datetime_from_date_parsing": "日期时间格式不正确",
    "date_parsing": "日期格式不正确",
    "date_from_datetime_parsing": "日期格式不正确",
    "string_unicode": "文本编码无效",
    "union_tag_invalid": "类型无效",
    "json_invalid": "不是有效的 JSON",
}


def translate(exc: ValidationError) -> ValidationFailed:
    fields: list[dict[str, Any]] = []
    for error in exc.errors(include_url=False, include_input=False):
        template = ERROR_TEMPLATES.get(error["type"], "格式不正确")
        context = {k: v for k, v in (error.get("ctx") or {}).items()}
        if "error" in context:
            context["error"] = str(context["error"]).removeprefix("Value error, ")
        try:
            message = template.format(**context)
        except (KeyError, IndexError):
            message = "格式不正确"
        fields.append({"field": ".".join(str(part) for part in error["loc"]) or "body", "message": message})
    return ValidationFailed(details={"fields": fields})


def parse_body(model: type[M], raw: bytes) -> M:
    """Validate in one pass over the bytes (pydantic-core parses the JSON itself)."""
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        kinds = {error["type"] for error in exc.errors(include_url=False, include_input=False)}
        if "json_invalid" in kinds:
            raise InvalidJSON() from None
        if kinds & {"model_type", "model_attributes_type"} and len(exc.errors()) == 1 and not exc.errors()[0]["loc"]:
            raise InvalidJSON("请求内容应为 JSON 对象") from None
        raise translate(exc) from None


def parse_query(model: type[M], arguments: dict[str, list[bytes]]) -> M:
    data: dict[str, Any] = {}
    for name, values in arguments.items():
        try:
            decoded = [value.decode("utf-8") for value in values]
        except UnicodeDecodeError:
            raise ValidationFailed(details={"fields": [{"field": name, "message": "文本编码无效"}]}) from None
        annotation = model.model_fields.get(name)
        is_list = annotation is not None and getattr(annotation.annotation, "__origin__", None) is list
        data[name] = decoded if is_list else decoded[-1]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise translate(exc) from None
