"""Who the notices' events tell what (the model: ``backend/notifications/rules.py``).

Staff only, in the inbox, live and by WeCom app message. ``notice.published`` is the one message
of a publication: its recipients are the audience's departments (push resolves their staff) and
the people reached by group or by name. ``notice.reminded`` names exactly those who have not read.
Both are mandatory: an official notice must reach its readers (通知必达).

Silent: the receipts' events (one per person: they carry each person's to-do, and push must not
be asked to notify 2,000 people one event at a time), and the notice's own bookkeeping (drafts,
the start of a distribution, closing).

Labels in every notice event's ``data``: ``title``, ``kind_label``, ``department_name``,
``summary`` (a meeting's time and place), plus the action's own.
"""

from __future__ import annotations

from backend.notifications.rules import Message, NotificationRules, Rule
from backend.office.notices.events import NoticeEvent as E
from backend.office.notices.events import ReceiptEvent as R

STAFF_NOTICE_PAGE = "/office/notices/{notice_id}"


def _staff(title: str, body: str, *, mandatory: bool = False) -> Message:
    return Message(title=title, body=body, link=STAFF_NOTICE_PAGE, mandatory=mandatory, wecom=True)


RULES = NotificationRules(
    silent=frozenset({E.DRAFTED, E.EDITED, E.DISCARDED, E.DISTRIBUTION_STARTED, E.CLOSED,
                      R.CREATED, R.READ, R.REPLIED, R.LAPSED, R.WITHDRAWN}),
    rules={
        E.PUBLISHED: Rule(staff=_staff("新{kind_label}：{title}", "{department_name}发布{kind_label}《{title}》。{summary}",
                                       mandatory=True)),
        E.REMINDED: Rule(staff=_staff("催办：{title}", "{department_name}提醒您：{kind_label}《{title}》您尚未阅读或回复。"
                                      "{comment}", mandatory=True)),
        E.WITHDRAWN: Rule(staff=_staff("{kind_label}已撤回：{title}",
                                       "{department_name}已撤回{kind_label}《{title}》：{reason}")),
        E.SUBSTITUTE_NAMED: Rule(staff=_staff("请您代为参会：{title}",
                                              "{requester_name}请假，请您代为参加会议《{title}》"
                                              "（{starts_at_text}，{place}）。", mandatory=True)),
    },
)
