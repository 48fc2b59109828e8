"""Supervision task errors (codes the staff apps branch on)."""

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed


class TaskNotFound(NotFound):
    code = "supervision_task_not_found"
    message = "督办事项不存在"


class NotLeadUnit(Forbidden):
    code = "not_lead_unit"
    message = "只有主办单位可以执行此操作"


class NotCoUnit(Forbidden):
    code = "not_co_unit"
    message = "只有协办单位可以提交协办意见"


class NotTaskUnit(Forbidden):
    code = "not_task_unit"
    message = "只有主办或协办单位可以报送进展"


class NotTheSupervisor(Forbidden):
    code = "not_task_supervisor"
    message = "只有督办人（或其委托的代理人）可以执行此操作"


class MilestoneAlreadyDone(Conflict):
    code = "milestone_already_done"
    message = "该节点已标记完成"


def invalid(field: str, message: str) -> ValidationFailed:
    """A 400 naming the field, for what only the store can tell (an unknown department or leader)."""
    return ValidationFailed(message, details={"fields": [{"field": field, "message": message}]})
