"""One audience's message for one event, rendered once for every channel (inbox, WebSocket,
subscribe, template, WeCom) within each channel's limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from push.render import clean, fit_fields, shorten, shorten_bytes
from push.rules import Message, format_text, oa_templates, subscribe_templates

INBOX_TITLE_LIMIT = 40
INBOX_BODY_LIMIT = 300
WECOM_TEXT_BYTES = 2048  # WeCom text message content limit


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    link: str
    subscribe: dict[str, Any] | None = None  # template_id, data, page
    template: dict[str, Any] | None = None   # template_id, data, miniprogram_page
    wecom_text: str | None = None


def compose(message: Message, values: Mapping[str, Any]) -> Rendered:
    title = shorten(clean(format_text(message.title, values)), INBOX_TITLE_LIMIT)
    body = shorten(clean(format_text(message.body, values)), INBOX_BODY_LIMIT)
    link = format_text(message.link, values)
    fields = {**values, "status": message.status, "tip": format_text(message.tip, values)}
    subscribe = template = None
    if message.subscribe:
        chosen = subscribe_templates()[message.subscribe]
        subscribe = {"template_id": chosen.id, "data": fit_fields(chosen.fields, fields), "page": link}
    if message.template:
        oa = oa_templates()[message.template]
        template = {"template_id": oa.id, "data": fit_fields(oa.fields, fields), "miniprogram_page": link}
    wecom_text = shorten_bytes(f"【{title}】{body}", WECOM_TEXT_BYTES) if message.wecom else None
    return Rendered(title=title, body=body, link=link, subscribe=subscribe, template=template, wecom_text=wecom_text)
