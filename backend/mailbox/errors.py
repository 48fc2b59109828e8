"""Mailbox errors (codes the mini-program and staff apps branch on)."""

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed


class LetterNotFound(NotFound):
    code = "letter_not_found"
    message = "信件不存在"


class NotLeadDepartment(Forbidden):
    code = "not_lead_department"
    message = "只有主办部门可以办理该信件"


class CannotMergeIntoItself(ValidationFailed):
    code = "invalid_merge"
    message = "不能将信件并入自身或已并入其他信件的信件"


class NotCoDepartment(Forbidden):
    code = "not_co_department"
    message = "只有协办部门可以提交协办意见"


class NotTheWriter(NotFound):
    code = "letter_not_found"
    message = "信件不存在"


class LetterNotPublic(Conflict):
    code = "letter_not_public"
    message = "来信人未同意公开该信件，不能公开"


class MergeTargetClosed(Conflict):
    code = "merge_target_closed"
    message = "不能并入已办结、不予受理或已并单的信件"


class ContentHeld(Conflict):
    code = "content_held"
    message = "信件内容待信箱中心审核，请先审核放行或不予受理"


class NothingHeld(Conflict):
    code = "nothing_held"
    message = "该内容无需审核或已放行"
