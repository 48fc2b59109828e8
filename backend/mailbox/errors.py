"""Mailbox errors (codes the mini-program and staff apps branch on)."""

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed


class LetterNotFound(NotFound):
    code = "letter_not_found"
    message = "信件不存在"


class NotLeadDepartment(Forbidden):
    code = "not_lead_department"
    message = "只有主办部门可以办理该信件"


class ExtensionPending(Conflict):
    code = "extension_pending"
    message = "已有待审批的延期申请"


class NoExtensionPending(Conflict):
    code = "no_extension_pending"
    message = "没有待审批的延期申请"


class CannotMergeIntoItself(ValidationFailed):
    code = "invalid_merge"
    message = "不能将信件并入自身或已并入其他信件的信件"
