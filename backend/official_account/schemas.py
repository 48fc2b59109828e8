"""Models of the Official Account admin API. Menu limits are WeChat's: 3 buttons, 5 sub-buttons."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from backend.schemas import ApiModel, ResponseModel

ReplyText = Annotated[str, StringConstraints(min_length=1, max_length=600)]
MenuKey = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")]
Url = Annotated[str, StringConstraints(max_length=1024, pattern=r"^https?://")]


class KeywordMatch(StrEnum):
    EXACT = "exact"
    CONTAINS = "contains"


class KeywordReplyIn(ApiModel):
    keyword: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    match: KeywordMatch = KeywordMatch.EXACT
    text: ReplyText


class FixedReplyIn(ApiModel):
    text: ReplyText


class MenuButton(ApiModel):
    """A leaf button: ``click`` (key + the reply to send), ``view`` (url) or ``miniprogram``."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    type: Literal["click", "view", "miniprogram"] | None = None
    key: MenuKey | None = None
    reply: ReplyText | None = None
    url: Url | None = None
    appid: Annotated[str, StringConstraints(max_length=64)] | None = None
    pagepath: Annotated[str, StringConstraints(max_length=256)] | None = None
    sub_button: list["MenuButton"] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def complete(self) -> "MenuButton":
        if self.sub_button:
            if self.type is not None or any(b.sub_button for b in self.sub_button):
                raise ValueError("含子菜单的按钮不能设置类型，子菜单不能再嵌套")
            return self
        required = {"click": ("key", "reply"), "view": ("url",), "miniprogram": ("url", "appid", "pagepath")}
        if self.type is None or any(getattr(self, name) is None for name in required[self.type]):
            raise ValueError("按钮类型须为 click（需 key 和 reply）、view（需 url）或 miniprogram（需 url、appid、pagepath）")
        return self


class MenuIn(ApiModel):
    button: list[MenuButton] = Field(min_length=1, max_length=3)


class ConfigOut(ResponseModel):
    welcome: str | None
    default: str | None
    keywords: list[dict]
    menu: dict | None
