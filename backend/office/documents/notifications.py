"""Who the official documents' events tell what. WeCom goes to the next actor: the signers of
a step that waits for them, the drafter when the document comes back or a leader's 批示 arrives,
the recipient departments when it is distributed, the leader a copy is submitted to."""

from __future__ import annotations

from backend.notifications.rules import Message, NotificationRules, Rule
from backend.office.documents.events import DocumentEvent as DE
from backend.office.documents.events import IncomingEvent as IE

DOCUMENT_PAGE = "/office/documents/{subject_id}"
INCOMING_PAGE = "/office/incoming/{subject_id}"
DOC = "《{title}》"


def _document(title: str, body: str, *, mandatory: bool = False, wecom: bool = True) -> Rule:
    return Rule(staff=Message(title=title, body=body, link=DOCUMENT_PAGE, mandatory=mandatory, wecom=wecom))


def _incoming(title: str, body: str, *, mandatory: bool = False, wecom: bool = True) -> Rule:
    return Rule(staff=Message(title=title, body=body, link=INCOMING_PAGE, mandatory=mandatory, wecom=wecom))


RULES = NotificationRules(
    silent=frozenset({DE.DRAFTED, DE.EDITED, IE.DELIVERED, IE.REGISTERED, IE.READ}),
    rules={
        DE.SUBMITTED: _document("公文待审批", f"{{urgency_label}}{{doc_type_label}}{DOC}请您审批。", mandatory=True),
        DE.APPROVED: _document("公文审批意见", f"{DOC}已有审批意见，等待本步骤其他人审批。", wecom=False),
        DE.STEP_COMPLETED: _document("公文待审批", f"{DOC}已进入下一审批步骤，请及时审批。", mandatory=True),
        DE.SENT_BACK: _document("公文被退回重审", f"{DOC}被退回至前一步骤重新审批。"),
        DE.RETURNED: _document("公文被退回修改", f"{DOC}被退回，请根据意见修改后重新提交。", mandatory=True),
        DE.SIGNERS_CHANGED: _document("公文审批人调整", f"{DOC}的审批人已调整，请及时审批。"),
        DE.SIGNED: _document("公文已签发", f"{DOC}已签发，文号{{number}}，请及时分发。", mandatory=True),
        DE.INSTRUCTED: _document("领导批示", f"领导对{DOC}作出批示：{{instruction}}", mandatory=True),
        DE.DISTRIBUTED: _document("新收公文", f"{{urgency_label}}{{doc_type_label}}{DOC}（{{number}}）已送达，请及时签收。",
                                  mandatory=True),
        DE.WITHDRAWN: _document("公文已撤回", f"{DOC}已由拟稿人撤回，无需审批。", wecom=False),
        DE.OVERDUE_WARNING: _document("公文审批{level_label}", f"{DOC}审批{{level_text}}，请尽快处理。", mandatory=True),
        IE.SIGNED_FOR: _incoming("公文已签收", f"{DOC}已由收文单位签收。", wecom=False),
        IE.RETURNED: _incoming("公文被退回", f"{DOC}被收文单位退回：{{reason}}", mandatory=True),
        IE.SUBMITTED_TO_LEADER: _incoming("公文待拟办", f"{DOC}请您拟办。", mandatory=True),
        IE.ASSIGNED: _incoming("公文交办", f"{DOC}已交由本单位办理：{{opinion}}", mandatory=True),
        IE.CIRCULATED: _incoming("公文传阅", f"{DOC}请您阅示。"),
        IE.HANDED_BACK: _incoming("公文被退回拟办", f"{DOC}被承办单位退回：{{reason}}"),
        IE.RESULT_ATTACHED: _incoming("办理结果已上传", f"{DOC}的办理结果已上传。", wecom=False),
        IE.CLOSED: _incoming("公文已办结", f"{DOC}已办结。", wecom=False),
        IE.OVERDUE_WARNING: _incoming("收文办理{level_label}", f"{DOC}{{level_text}}，请尽快办理。", mandatory=True),
    },
)
