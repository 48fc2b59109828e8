"""Who the supervision task's events tell what: staff only (nothing here reaches the citizen
face), in the inbox and live, and by WeCom to whoever must act next.

Mandatory (cannot be switched off): ``supervision_task.created`` (new work with a deadline),
``supervision_task.report_overdue`` (a late progress report), ``supervision_task.completion_sent_back``
(the lead unit must act again) and ``supervision_task.overdue_warning`` (electronic supervision,
to the lead unit, the supervisor and the supervising office).

Every name a message uses travels in the event's ``data``: ``title``, ``lead_department_name``,
``supervising_office_name``, ``supervisor_name``, ``leader_name`` on every event (the workflow's
``event_data``), plus the action's own (``reason``, ``days``, ``decision_label``, ``level_label`` …).
"""

from __future__ import annotations

from backend.notifications.rules import Message, NotificationRules, Rule
from backend.office.tasks.events import TaskEvent as E

STAFF_TASK_PAGE = "/office/tasks/{subject_id}"
TASK = "督办事项《{title}》"


def _staff(title: str, body: str, *, mandatory: bool = False, wecom: bool = True) -> Message:
    return Message(title=title, body=body, link=STAFF_TASK_PAGE, mandatory=mandatory, wecom=wecom)


RULES = NotificationRules(rules={
    E.CREATED: Rule(staff=_staff("新督办事项", f"{{supervising_office_name}}交办{TASK}，由{{lead_department_name}}主办，"
                                          "请按期办理并定期报送进展。", mandatory=True)),
    E.CO_OPINION_GIVEN: Rule(staff=_staff("协办意见已提交", f"{TASK}的协办单位{{co_department_name}}已提交意见。",
                                          wecom=False)),
    E.PROGRESS_REPORTED: Rule(staff=_staff("督办进展已报送", f"{{department_name}}报送了{TASK}的办理进展。", wecom=False)),
    E.REPORT_OVERDUE: Rule(staff=_staff("督办进展逾期未报", f"{TASK}的办理进展应于{{report_due_on}}前报送，请尽快报送。",
                                        mandatory=True)),
    E.EXTENSION_REQUESTED: Rule(staff=_staff("督办延期申请待审批", f"{{lead_department_name}}申请{TASK}延期{{days}}个工作日："
                                                            "{reason}")),
    E.EXTENSION_DECIDED: Rule(staff=_staff("延期申请{decision_label}", f"{TASK}的延期申请{{decision_label}}。")),
    E.COMPLETION_SUBMITTED: Rule(staff=_staff("办结报告待审核", f"{{lead_department_name}}提交了{TASK}的办结报告，请审核。")),
    E.COMPLETION_SENT_BACK: Rule(staff=_staff("办结报告被退回", f"{TASK}的办结报告被退回：{{reason}}", mandatory=True)),
    E.COMPLETED: Rule(staff=_staff("督办事项已办结", f"{TASK}已审核办结。", wecom=False)),
    E.OVERDUE_WARNING: Rule(staff=_staff("督办事项{level_label}", f"{TASK}（{{lead_department_name}}主办）{{level_text}}，"
                                                           "请抓紧办理。", mandatory=True)),
})
