"""Notification rules: which domain event tells whom what, and on which channels.

A module declares its rules in its own ``notifications.py`` as a ``NotificationRules`` and names
it in its ``Module``; push reads them through ``backend/modules.py`` and never imports a module.

Each ``Rule`` is one event type with one ``Message`` per audience: ``citizen`` (the people the
event names who are citizens) and ``staff`` (named staff, the staff of a named department, the
holders of a named role). The use case that emitted the event chose its recipients, which is a
security decision; a rule only says what each kind of recipient is told. An audience without a
message is not told. An event type with neither a rule nor a place in ``silent`` is a mistake
(a test fails on it).

Channels: everyone gets the inbox and the live WebSocket. Citizens also get a mini-program
subscribe message (if the rule names a template and they have quota) and an Official Account
template message (if the rule names one and they follow the account); staff get a WeCom app
message. People may switch the outside channels off, except for messages marked ``mandatory``,
which they need to act on or which close their case. Mandatory does not override WeChat: without
quota or without following, those channels still skip (the inbox always has it).

Template text is ``str.format`` over the event's ``data`` (which carries every label: the use
case puts them there) plus its subject id and time; a missing name renders as empty, never raises.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class WeChatTemplate:
    """A mini-program subscribe template or an Official Account template.

    ``id`` is assigned in the WeChat console when the template is chosen; the ones declared are
    the defaults until they become settings. ``fields`` maps each field key (its kind is the
    key's prefix, see ``push/render.py``) to a name in the rendering context."""

    key: str
    id: str
    title: str
    fields: Mapping[str, str]


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    link: str
    mandatory: bool = False
    subscribe: str | None = None  # key of a subscribe template
    template: str | None = None   # key of an Official Account template
    wecom: bool = False
    status: str = ""              # the 办理状态 phrase (≤ 5 Chinese characters)
    tip: str = ""                 # a short remark for the WeChat message


@dataclass(frozen=True)
class Rule:
    citizen: Message | None = None
    staff: Message | None = None
    topics: bool = True  # also tell the live topics of the named departments and roles

    def message(self, audience: str) -> Message | None:
        return self.citizen if audience == "mp" else self.staff


@dataclass(frozen=True)
class NotificationRules:
    rules: Mapping[str, Rule]
    silent: frozenset[str] = frozenset()  # event types deliberately told to nobody
    subscribe_templates: tuple[WeChatTemplate, ...] = ()
    oa_templates: tuple[WeChatTemplate, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


def context(event: Mapping[str, Any]) -> dict[str, Any]:
    """What templates may name: the event's ``data``, its subject id and time."""
    return {**dict(event.get("data") or {}), "event_type": event.get("type"),
            "subject_id": (event.get("subject") or {}).get("id", ""), "occurred_at": event.get("occurred_at")}


class _Lenient(string.Formatter):
    """Missing names render as "", so a rule never fails on an event that lacks a field."""

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        value = kwargs.get(key, "") if isinstance(key, str) else ""
        return "" if value is None else value


_FORMATTER = _Lenient()


def format_text(template: str, values: Mapping[str, Any]) -> str:
    try:
        return _FORMATTER.vformat(template, (), dict(values))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


def combine(*parts: NotificationRules) -> NotificationRules:
    """One module's rules from its parts' (a module with several case kinds)."""
    rules: dict[str, Rule] = {}
    for part in parts:
        overlap = set(rules) & set(part.rules)
        if overlap:
            raise ValueError(f"two rules for {sorted(overlap)}")
        rules.update(part.rules)
    return NotificationRules(
        rules=rules, silent=frozenset().union(*(part.silent for part in parts)),
        subscribe_templates=tuple(t for part in parts for t in part.subscribe_templates),
        oa_templates=tuple(t for part in parts for t in part.oa_templates))
