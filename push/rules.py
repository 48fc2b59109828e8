"""The notification rules push applies: every module's, read from the module list.

Modules declare their rules (``backend/<module>/notifications.py``, the model in
``backend/notifications/rules.py``); push looks them up by event type and never imports a
module: every label a message needs travels in the event's ``data``.
"""

from __future__ import annotations

from backend.modules import MODULES, notification_rule, oa_templates, subscribe_templates
from backend.notifications.rules import Message, Rule, WeChatTemplate, context, format_text

__all__ = ["Message", "Rule", "WeChatTemplate", "context", "format_text", "mandatory_events", "oa_templates",
           "rule_for", "subscribe_template_titles", "subscribe_templates"]


def rule_for(event_type: str) -> Rule | None:
    return notification_rule(event_type)


def mandatory_events(audience: str) -> list[dict[str, str]]:
    """The notifications this audience cannot switch off (for the preferences screen)."""
    out = []
    for module in MODULES:
        for event_type, rule in (module.notifications.rules.items() if module.notifications else ()):
            message = rule.message(audience)
            if message is not None and message.mandatory:
                out.append({"type": str(event_type), "title": format_text(message.title, {"level_label": "预警"})})
    return out


def subscribe_template_titles() -> dict[str, str]:
    """Template id → title, for the mini-program's consent screen."""
    return {t.id: t.title for t in subscribe_templates().values()}
