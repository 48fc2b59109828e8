"""Who the mailbox's events tell what (see ``backend/notifications/rules.py`` for the model).

Mandatory (cannot be switched off): for citizens ``letter.info_requested`` (their deadline is
paused until they answer), ``letter.replied`` / ``letter.merged_replied`` (the answer to their
letter), ``letter.rejected`` (why it was not accepted); for staff ``letter.dispatched`` (new work
with a deadline), ``letter.reopened`` (a second round after a bad rating) and
``letter.overdue_warning`` (electronic supervision).

Every name a template uses travels in the event's ``data``: ``tracking_no``, ``title``,
``type_label`` on every letter event (the workflow's ``event_data``), plus the action's own.
"""

from __future__ import annotations

from backend.mailbox.events import LetterEvent as E
from backend.notifications.rules import Message, NotificationRules, Rule, WeChatTemplate

PROGRESS = WeChatTemplate("letter_progress", "yzt-mp-letter-progress", "信件办理进度通知", {
    "character_string1": "tracking_no", "thing2": "title", "phrase3": "status", "time4": "occurred_at",
    "thing5": "tip"})
REPLY = WeChatTemplate("letter_reply", "yzt-mp-letter-reply", "信件答复通知", {
    "character_string1": "tracking_no", "thing2": "title", "time3": "occurred_at", "thing4": "tip"})
OA_PROGRESS = WeChatTemplate("letter_progress", "yzt-oa-letter-progress", "信件办理进度提醒", {
    "character_string1": "tracking_no", "thing2": "title", "phrase3": "status", "time4": "occurred_at"})

MP_LETTER_PAGE = "pages/letters/detail?id={subject_id}"
STAFF_LETTER_PAGE = "/letters/{subject_id}"
LETTER = "《{title}》（{tracking_no}）"


def _citizen(title: str, body: str, status: str, *, mandatory: bool = False, tip: str = "请进入小程序查看详情",
             subscribe: str = "letter_progress") -> Message:
    return Message(title=title, body=body, link=MP_LETTER_PAGE, mandatory=mandatory, subscribe=subscribe,
                   template="letter_progress", status=status, tip=tip)


def _staff(title: str, body: str, *, mandatory: bool = False, wecom: bool = True) -> Message:
    return Message(title=title, body=body, link=STAFF_LETTER_PAGE, mandatory=mandatory, wecom=wecom)


_REPLIED_TO_CITIZEN = _citizen("您的信件已答复", "您的信件《{title}》已答复，请查看并评价。", "已答复", mandatory=True,
                               tip="请查看答复并评价", subscribe="letter_reply")

RULES = NotificationRules(
    subscribe_templates=(PROGRESS, REPLY),
    oa_templates=(OA_PROGRESS,),
    silent=frozenset({E.DUPLICATE_ABSORBED, E.UNPUBLISHED, E.CONTENT_RELEASED}),
    rules={
        E.SUBMITTED: Rule(staff=_staff("新信件待分办", f"{{type_label}}信件{LETTER}待分办{{held_text}}。")),
        E.DISPATCHED: Rule(
            citizen=_citizen("您的信件已转交办理", "您的{type_label}信件《{title}》已转交相关部门办理。", "已转办",
                             tip="我们将尽快办理并答复您"),
            staff=_staff("新交办信件", f"信件{LETTER}已交办，请及时受理。", mandatory=True)),
        E.RETURNED: Rule(staff=_staff("交办信件被退回", f"信件{LETTER}被退回，建议由{{responsible_body}}办理。")),
        E.ACCEPTED: Rule(citizen=_citizen("您的信件已受理", "您的信件《{title}》已由承办部门受理。", "已受理")),
        E.INFO_REQUESTED: Rule(citizen=_citizen(
            "请补充信件材料", "办理您的信件《{title}》需要补充信息：{question}", "待补充", mandatory=True,
            tip="{question}")),
        E.INFO_SUPPLIED: Rule(staff=_staff("群众已补充材料", f"信件{LETTER}的来信人已补充材料，请继续办理。")),
        E.CO_OPINION_GIVEN: Rule(staff=_staff("协办意见已提交", f"信件{LETTER}的协办单位已提交意见。", wecom=False)),
        E.REPLY_SUBMITTED: Rule(staff=_staff("答复待审核", f"信件{LETTER}的答复已提交，请审核。")),
        E.REPLIED: Rule(citizen=_REPLIED_TO_CITIZEN,
                        staff=_staff("答复已审核通过", f"信件{LETTER}的答复已审核通过并告知来信人。", wecom=False)),
        E.MERGED_REPLIED: Rule(citizen=_REPLIED_TO_CITIZEN),
        E.REPLY_SENT_BACK: Rule(staff=_staff("答复被退回修改", f"信件{LETTER}的答复被退回：{{comment}}")),
        E.REOPENED: Rule(staff=_staff(
            "信件需重新办理", f"来信人对信件{LETTER}的答复评价为“{{rating_label}}”，请重新办理。", mandatory=True)),
        E.RATED: Rule(staff=_staff("信件已评价", f"信件{LETTER}的评价：{{rating_label}}。", wecom=False)),
        E.REJECTED: Rule(citizen=_citizen(
            "您的信件未予受理", "您的信件《{title}》未予受理：{reason}", "未受理", mandatory=True, tip="{reason}")),
        E.MERGED: Rule(citizen=_citizen(
            "您的信件已合并办理", "您的信件《{title}》与同类信件（{original_tracking_no}）合并办理，答复后将一并通知您。",
            "已合并")),
        E.EXTENSION_REQUESTED: Rule(staff=_staff("延期申请待审批", f"信件{LETTER}申请延期{{days}}个工作日。")),
        E.EXTENSION_DECIDED: Rule(staff=_staff("延期申请{decision_label}", f"信件{LETTER}的延期申请{{decision_label}}。")),
        E.PUBLISHED: Rule(citizen=_citizen("您的信件已公开", "您的信件《{title}》及答复已隐去个人信息后公开。", "已公开")),
        E.OVERDUE_WARNING: Rule(staff=_staff(
            "信件{level_label}", f"信件{LETTER}{{level_text}}，请尽快办理。", mandatory=True)),
    },
)
