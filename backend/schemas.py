"""Base classes for the request and response models every module declares in its ``schemas.py``.

Bodies are strict (a number sent as a string is an error, unknown fields are errors); query
strings are lax because every query value arrives as text.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class QueryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    """Documents a response shape for OpenAPI; handlers return plain dicts."""

    model_config = ConfigDict(extra="allow")


class PageQuery(QueryModel):
    limit: int = Field(20, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(max_length=512)] | None = None


ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=5000)]
