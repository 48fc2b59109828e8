"""Errors of notices, receipts and groups (codes the staff app branches on)."""

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed


class NoticeNotFound(NotFound):
    code = "notice_not_found"
    message = "通知不存在"


class OfficeGroupNotFound(NotFound):
    code = "office_group_not_found"
    message = "分组不存在"


class NotIssuingDepartment(Forbidden):
    code = "not_issuing_department"
    message = "只有发文部门可以进行此操作"


class NotARecipient(Conflict):
    code = "not_a_recipient"
    message = "您不是该通知的接收人"


class NotTheRecipient(Forbidden):
    code = "not_the_recipient"
    message = "只能处理本人的通知回执"


class NotAMeeting(Conflict):
    code = "not_a_meeting"
    message = "该通知不是会议通知"


class NoticeNotOpen(Conflict):
    code = "notice_not_open"
    message = "通知已撤回或已结束"


class MeetingStarted(Conflict):
    code = "meeting_started"
    message = "会议已开始，不能再回复或修改参会情况"


class MeetingInPast(Conflict):
    code = "meeting_in_past"
    message = "会议开始时间已过，请修改后再发布"


class NoRecipients(Conflict):
    code = "no_recipients"
    message = "通知没有可送达的接收人"


class NothingToRemind(Conflict):
    code = "nothing_to_remind"
    message = "所有接收人均已阅读，无需催办"


class RemindedRecently(Conflict):
    code = "reminded_recently"
    message = "刚刚催办过，请稍后再试"


class OfficeGroupNameTaken(Conflict):
    code = "office_group_name_taken"
    message = "本部门已有同名分组"


class InvalidAudience(ValidationFailed):
    code = "invalid_audience"
    message = "接收范围中有不存在的部门、分组或人员"


class InvalidSubstitute(ValidationFailed):
    code = "invalid_substitute"
    message = "替会人员须为本单位在职同事"


class InvalidMembers(ValidationFailed):
    code = "invalid_members"
    message = "分组成员须为在职工作人员"


class NoDepartment(Forbidden):
    code = "no_department"
    message = "没有所属部门的账号不能发布通知或建立分组"
