"""The notification rules: which domain event tells whom what, and on which channels.

Each row of ``RULES`` is an event type with one ``Message`` per audience: ``citizen`` (the people
the event names who are citizens) and ``staff`` (named staff, the staff of a named department,
the holders of a named role). The use case that emitted the event chose its recipients, which is
a security decision; a rule only says what each kind of recipient is told. An audience without a
message is not told; an event type without a row is not notified at everyone.

Channels: everyone gets the inbox and the live WebSocket. Citizens also get a mini-program
subscribe message (if the rule names a template and they have quota) and an Official Account
template message (if the rule names one and they follow the account); staff get a WeCom app
message. People may switch the outside channels off (``OPTIONAL_CHANNELS``), except for messages
marked ``mandatory``, which they need to act on or which close their case:

- citizens: ``letter.info_requested`` (their deadline is paused until they answer),
  ``letter.replied`` (the answer to their letter), ``letter.rejected`` (why it was not accepted);
- staff: ``letter.dispatched`` (new work with a deadline), ``letter.reopened`` (a second round
  after a bad rating), ``letter.overdue_warning`` (electronic supervision).

Mandatory does not override WeChat: without quota or without following, those channels still
skip (the inbox always has it).

Template text is ``str.format`` over the event's ``data`` plus a few derived labels (see
``context``); a missing name renders as empty, never raises.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Mapping

from backend.mailbox.schemas import LETTER_TYPE_LABELS, RATING_LABELS


@dataclass(frozen=True)
class WeChatTemplate:
    """A mini-program subscribe template or an Official Account template.

    ``id`` is assigned in the WeChat console when the template is chosen; the ones here are the
    defaults until they become settings. ``fields`` maps each field key (its kind is the key's
    prefix, see ``render.py``) to a name in the rendering context."""

    key: str
    id: str
    title: str
    fields: Mapping[str, str]


SUBSCRIBE_TEMPLATES: dict[str, WeChatTemplate] = {t.key: t for t in (
    WeChatTemplate("letter_progress", "yzt-mp-letter-progress", "信件办理进度通知", {
        "character_string1": "tracking_no", "thing2": "title", "phrase3": "status", "time4": "occurred_at",
        "thing5": "tip"}),
    WeChatTemplate("letter_reply", "yzt-mp-letter-reply", "信件答复通知", {
        "character_string1": "tracking_no", "thing2": "title", "time3": "occurred_at", "thing4": "tip"}),
)}

OA_TEMPLATES: dict[str, WeChatTemplate] = {t.key: t for t in (
    WeChatTemplate("letter_progress", "yzt-oa-letter-progress", "信件办理进度提醒", {
        "character_string1": "tracking_no", "thing2": "title", "phrase3": "status", "time4": "occurred_at"}),
)}

MP_LETTER_PAGE = "pages/letters/detail?id={subject_id}"
STAFF_LETTER_PAGE = "/letters/{subject_id}"


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    link: str
    mandatory: bool = False
    subscribe: str | None = None  # key in SUBSCRIBE_TEMPLATES
    template: str | None = None   # key in OA_TEMPLATES
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


def _citizen(title: str, body: str, status: str, *, mandatory: bool = False, tip: str = "请进入小程序查看详情",
             subscribe: str = "letter_progress") -> Message:
    return Message(title=title, body=body, link=MP_LETTER_PAGE, mandatory=mandatory, subscribe=subscribe,
                   template="letter_progress", status=status, tip=tip)


def _staff(title: str, body: str, *, mandatory: bool = False, wecom: bool = True) -> Message:
    return Message(title=title, body=body, link=STAFF_LETTER_PAGE, mandatory=mandatory, wecom=wecom)


LETTER = "《{title}》（{tracking_no}）"

RULES: dict[str, Rule] = {
    "letter.submitted": Rule(staff=_staff("新信件待分办", f"{{type_label}}信件{LETTER}待分办。")),
    "letter.dispatched": Rule(
        citizen=_citizen("您的信件已转交办理", "您的{type_label}信件《{title}》已转交相关部门办理。", "已转办",
                         tip="我们将尽快办理并答复您"),
        staff=_staff("新交办信件", f"信件{LETTER}已交办，请及时受理。", mandatory=True)),
    "letter.returned": Rule(staff=_staff("交办信件被退回", f"信件{LETTER}被退回，建议由{{responsible_body}}办理。")),
    "letter.accepted": Rule(citizen=_citizen("您的信件已受理", "您的信件《{title}》已由承办部门受理。", "已受理")),
    "letter.info_requested": Rule(citizen=_citizen(
        "请补充信件材料", "办理您的信件《{title}》需要补充信息：{question}", "待补充", mandatory=True,
        tip="{question}")),
    "letter.info_supplied": Rule(staff=_staff("群众已补充材料", f"信件{LETTER}的来信人已补充材料，请继续办理。")),
    "letter.reply_submitted": Rule(staff=_staff("答复待审核", f"信件{LETTER}的答复已提交，请审核。")),
    "letter.replied": Rule(
        citizen=_citizen("您的信件已答复", "您的信件《{title}》已答复，请查看并评价。", "已答复", mandatory=True,
                         tip="请查看答复并评价", subscribe="letter_reply"),
        staff=_staff("答复已审核通过", f"信件{LETTER}的答复已审核通过并告知来信人。", wecom=False)),
    "letter.reply_sent_back": Rule(staff=_staff("答复被退回修改", f"信件{LETTER}的答复被退回：{{comment}}")),
    "letter.reopened": Rule(staff=_staff(
        "信件需重新办理", f"来信人对信件{LETTER}的答复评价为“{{rating_label}}”，请重新办理。", mandatory=True)),
    "letter.rated": Rule(staff=_staff("信件已评价", f"信件{LETTER}的评价：{{rating_label}}。", wecom=False)),
    "letter.rejected": Rule(citizen=_citizen(
        "您的信件未予受理", "您的信件《{title}》未予受理：{reason}", "未受理", mandatory=True, tip="{reason}")),
    "letter.merged": Rule(citizen=_citizen(
        "您的信件已合并办理", "您的信件《{title}》与同类信件（{original_tracking_no}）合并办理，答复后将一并通知您。",
        "已合并")),
    "letter.extension_requested": Rule(staff=_staff(
        "延期申请待审批", f"信件{LETTER}申请延期{{days}}个工作日。")),
    "letter.extension_decided": Rule(staff=_staff("延期申请{decision_label}", f"信件{LETTER}的延期申请{{decision_label}}。")),
    "letter.overdue_warning": Rule(staff=_staff(
        "信件{level_label}", f"信件{LETTER}{{level_text}}，请尽快办理。", mandatory=True)),
}

_LEVELS = {"yellow": ("即将到期预警", "即将到期"), "red": ("超期预警", "已超过办理期限")}


def rule_for(event_type: str) -> Rule | None:
    return RULES.get(event_type)


def context(event: Mapping[str, Any]) -> dict[str, Any]:
    """What templates may name: the event's ``data``, its subject and time, and labels."""
    data = dict(event.get("data") or {})
    level = _LEVELS.get(str(data.get("level")), ("预警", "即将到期"))
    return {
        **data,
        "event_type": event.get("type"), "subject_id": (event.get("subject") or {}).get("id", ""),
        "occurred_at": event.get("occurred_at"),
        # StrEnum members hash and compare as their string values, so plain strings look them up.
        "type_label": LETTER_TYPE_LABELS.get(data.get("type"), ""),  # type: ignore[arg-type]
        "rating_label": RATING_LABELS.get(data.get("rating"), ""),  # type: ignore[arg-type]
        "level_label": level[0], "level_text": level[1],
        "decision_label": "已批准" if data.get("approved") else "未获批准",
    }


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


def mandatory_events(audience: str) -> list[dict[str, str]]:
    """The notifications this audience cannot switch off (for the preferences screen)."""
    out = []
    for event_type, rule in RULES.items():
        message = rule.message(audience)
        if message is not None and message.mandatory:
            out.append({"type": event_type, "title": format_text(message.title, {"level_label": "预警"})})
    return out


def subscribe_template_titles() -> dict[str, str]:
    """Template id → title, for the mini-program's consent screen."""
    return {t.id: t.title for t in SUBSCRIBE_TEMPLATES.values()}

