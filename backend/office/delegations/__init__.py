"""Delegation (委托): a leader away names a deputy for a period; the deputy's approvals, 拟办 and
reviews show as "X 代 Y". The records are the case kernel's (``backend/cases/delegation.py``),
which every guard for a named person reads; this part is their API."""

from backend.notifications.rules import Message, NotificationRules, Rule
from backend.office.delegations.events import DelegationEvent as E
from backend.office.part import Part

PART = Part(
    events=frozenset(E),
    rules=NotificationRules(rules={
        E.GRANTED: Rule(staff=Message(title="您被委托代为审批", body="{delegator_name}委托您在{period}代为审批。",
                                      link="/office/delegations", mandatory=True, wecom=True)),
        E.REVOKED: Rule(staff=Message(title="委托已取消", body="{delegator_name}已取消对您的委托。",
                                      link="/office/delegations", wecom=True)),
    }),
)
