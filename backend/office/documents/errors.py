"""Errors of official documents (codes the office app branches on)."""

from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed


class DocumentNotFound(NotFound):
    code = "document_not_found"
    message = "公文不存在"


class NotTheDrafter(Forbidden):
    code = "not_the_drafter"
    message = "只有拟稿人可以执行此操作"


class NotInDepartment(Forbidden):
    code = "not_in_department"
    message = "只有该公文所在部门的工作人员可以执行此操作"


class NotTheLeader(Forbidden):
    code = "not_the_leader"
    message = "只有呈送的领导（或其委托人）可以拟办"


class ResultRequired(Conflict):
    code = "result_required"
    message = "请先上传办理结果，再办结"


class InvalidSigner(ValidationFailed):
    code = "invalid_signer"
    message = "审批人须为在职的工作人员"


class InvalidRoute(ValidationFailed):
    code = "invalid_route"
    message = "审批流程不符合要求"


class NumberUnavailable(Conflict):
    code = "number_unavailable"
    message = "文号分配冲突，请重试"


class NotOnRoute(Forbidden):
    code = "not_on_route"
    message = "只有审批流程中的领导（或其委托人）可以批示"


class OutsideOwnDepartments(Forbidden):
    code = "outside_own_departments"
    message = "只能设置本部门及下级部门的发文代字"


class NoDepartment(Forbidden):
    code = "no_department"
    message = "没有所属部门的账号不能拟稿"
