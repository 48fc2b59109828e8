"""Every write to a supervision task: each is one declared transition of ``TASK_WORKFLOW``
applied by the case kernel (``backend/cases/engine.py``), which writes the state, history, clock,
holders and the domain event in one compare-and-set. The functions here do the task's own work:
check references, shape the fields, choose the declared outcome."""

from __future__ import annotations

from typing import Any

from backend.attachments.use_cases import resolve_attachments
from backend.auth.tokens import Principal
from backend.cases.assignment import assigned, opinion
from backend.cases.deadline import Extension, stopped
from backend.cases.engine import SYSTEM, apply, create_case
from backend.clock import CHINA, from_storage, to_api, to_storage
from backend.context import Context
from backend.errors import DuplicateKey, InvalidTransition, VersionConflict
from backend.identity.queries import DepartmentNotFound, find_active_staff, get_department
from backend.ids import new_id
from backend.office.tasks import queries
from backend.office.tasks.errors import MilestoneAlreadyDone, NotLeadUnit, invalid
from backend.office.tasks.queries import access_task_for_staff
from backend.office.tasks.schemas import (
    TaskCompletionIn,
    TaskExtensionDecisionIn,
    TaskExtensionIn,
    TaskIn,
    TaskOpinionIn,
    TaskReportIn,
    TaskReviewIn,
    TaskState,
)
from backend.office.tasks.workflow import TASK_WORKFLOW, TASKS
from backend.store.interface import Document
from backend.workdays import add_workdays

REMINDER_BATCH = 200


async def _apply(ctx: Context, doc: Document, action: str, actor: Principal, **kwargs: Any) -> Document:
    return await apply(ctx, TASK_WORKFLOW, doc, action, actor=actor, **kwargs)


def _expect(doc: Document, action: str) -> None:
    """The state allows ``action``: checked first where the use case reads more before applying
    it, so a wrong-state request is a 409 whatever else it carries."""
    if TASK_WORKFLOW.find(doc["state"], action) is None:
        raise InvalidTransition(details={"state": doc["state"], "action": action})


# --- the supervisor -------------------------------------------------------------------------

async def do_create_task(ctx: Context, data: TaskIn, *, acting_user: Principal, task_id: str) -> dict[str, Any]:
    """A new task, in progress at once: the lead unit's clock starts, the first progress report
    is due ``report_every_days`` working days from now. The creator is its supervisor.

    ``task_id`` comes from the request's Idempotency-Key claim: a retry finds the task already
    stored under it and returns it instead of creating a second one."""
    office = data.supervising_office or acting_user.department
    if office is None:
        raise invalid("supervising_office", "请指定督查室（督办部门）")
    names: dict[str, str] = {}
    for field, code in [("lead_department", data.lead_department),
                        *(("co_departments", code) for code in data.co_departments), ("supervising_office", office)]:
        try:
            names[code] = (await get_department(ctx.store, code))["name"]
        except DepartmentNotFound:
            raise invalid(field, f"部门 {code} 不存在") from None
    leader = None
    if data.source.leader_id is not None:
        leader = (await find_active_staff(ctx.store, [data.source.leader_id])).get(data.source.leader_id)
        if leader is None:
            raise invalid("source.leader_id", "领导账号不存在")
    me = (await find_active_staff(ctx.store, [acting_user.user_id])).get(acting_user.user_id)
    supervisor = {"user_id": acting_user.user_id, "name": (me or {}).get("name"), "department": acting_user.department}
    now = ctx.clock.now()
    today = now.astimezone(CHINA).date()
    for index, milestone in enumerate(data.milestones):
        if milestone.due_on < today:
            raise invalid(f"milestones.{index}.due_on", "节点日期不能早于今天")
    assignment = assigned(data.lead_department, data.co_departments)
    fields = {
        "title": data.title, "requirement": data.requirement, "source": data.source.model_dump(mode="json"),
        "leader": leader, "supervisor": supervisor, "supervising_office": office,
        "people": list(dict.fromkeys([acting_user.user_id, *([leader["user_id"]] if leader else [])])),
        "assignment": assignment, "department_names": names, "deadline_days": data.deadline_days,
        "reporting": {"period_days": data.report_every_days,
                      "next_due_at": to_storage(add_workdays(now, data.report_every_days)),
                      "last_at": None, "reminded_at": None, "count": 0},
        "milestones": [{"id": f"m{index + 1}", "name": item.name, "due_on": item.due_on.isoformat(),
                        "done_at": None, "done_by": None} for index, item in enumerate(data.milestones)],
        "reports": [], "extension": None, "completion": None, "send_backs": [],
    }
    try:
        doc = await create_case(ctx, TASK_WORKFLOW, fields, actor=acting_user, case_id=task_id,
                                history={"lead_department": assignment["lead"], "co_departments": assignment["co"]})
    except DuplicateKey:  # the same reserved id: stored by an earlier attempt of this request
        stored = await ctx.store.collection(TASKS).find_one({"_id": task_id})
        if stored is None or stored["supervisor"]["user_id"] != acting_user.user_id:
            raise
        doc = stored
    return await queries.task_for_staff(ctx, doc, viewer=acting_user)


async def do_decide_extension(ctx: Context, task_id: str, data: TaskExtensionDecisionIn, *, acting_user: Principal,
                              expected_version: int | None) -> dict[str, Any]:
    """Approved: the clock moves on by the days asked for (the kernel's EXTEND, with the reason);
    refused: nothing but the record. The supervisor or their deputy decides."""
    doc = await access_task_for_staff(ctx, acting_user, task_id)
    request = doc.get("extension") or {}
    outcome = "approved" if data.approve else "refused"
    changes = {"$set": {"extension.state": outcome, "extension.decided_at": ctx.clock.stored(),
                        "extension.decided_by": acting_user.user_id, "extension.comment": data.comment}}
    extension = Extension(request["days"], request["reason"], request["by"]) if request else None
    after = await _apply(ctx, doc, "decide_extension", acting_user, outcome=outcome, comment=data.comment,
                         expected_version=expected_version, changes=changes, extension=extension,
                         history={"approved": data.approve, "days": request.get("days")},
                         data={"approved": data.approve, "days": request.get("days"),
                               "decision_label": "已批准" if data.approve else "未获批准"})
    return await queries.task_for_staff(ctx, after, viewer=acting_user)


async def do_review_completion(ctx: Context, task_id: str, data: TaskReviewIn, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    """Accept the completion report (done; the clock stops, met or not) or send it back with the
    reason (in progress again; the clock resumes and the reporting period starts afresh)."""
    doc = await access_task_for_staff(ctx, acting_user, task_id)
    now = ctx.clock.now()
    stored_now = to_storage(now)
    if not data.accept:
        _expect(doc, "send_back")
        period = doc["reporting"]["period_days"]
        back = {"reason": data.reason, "by": acting_user.user_id, "at": stored_now}
        changes = {"$push": {"send_backs": back}, "$set": {
            "reporting.next_due_at": to_storage(add_workdays(now, period)), "reporting.reminded_at": None}}
        after = await _apply(ctx, doc, "send_back", acting_user, comment=data.reason, expected_version=expected_version,
                             changes=changes, data={"reason": data.reason}, now=now)
        return await queries.task_for_staff(ctx, after, viewer=acting_user)
    met = stopped(doc["deadline"], now)["met"] if doc.get("deadline") else None
    after = await _apply(ctx, doc, "accept", acting_user, expected_version=expected_version, now=now,
                         changes={"$set": {"completed_at": stored_now, "completion.accepted_at": stored_now}},
                         data={"met": met, "met_label": "按期办结" if met else "超期办结"})
    return await queries.task_for_staff(ctx, after, viewer=acting_user)


# --- the lead unit and co-units -------------------------------------------------------------

async def do_give_opinion(ctx: Context, task_id: str, data: TaskOpinionIn, *, acting_user: Principal,
                          expected_version: int | None) -> dict[str, Any]:
    """A co-unit's opinion (协办意见), which the lead unit needs before its completion report."""
    doc = await access_task_for_staff(ctx, acting_user, task_id)
    entry = opinion(acting_user.department or "", acting_user.user_id, data.text, ctx.clock.stored())
    names = doc.get("department_names") or {}
    after = await _apply(ctx, doc, "give_opinion", acting_user, comment=data.text, expected_version=expected_version,
                         changes={"$push": {"assignment.opinions": entry}},
                         data={"co_department": acting_user.department,
                               "co_department_name": names.get(acting_user.department or "")})
    return await queries.task_for_staff(ctx, after, viewer=acting_user)


async def do_report_progress(ctx: Context, task_id: str, data: TaskReportIn, *, acting_user: Principal,
                             expected_version: int | None) -> dict[str, Any]:
    """A progress report (进展报送). The lead unit's moves the next report due on by the period
    (from the due date, or from now when it comes late) and may mark milestones done; a
    co-unit's is recorded and told to the lead unit and the supervisor."""
    doc = await access_task_for_staff(ctx, acting_user, task_id)
    _expect(doc, "report")
    by_lead = acting_user.department == doc["assignment"]["lead"]
    milestones = [dict(item) for item in doc.get("milestones", [])]
    if data.milestones_done:
        if not by_lead:
            raise NotLeadUnit("只有主办单位可以标记节点完成")
        known = {item["id"]: item for item in milestones}
        unknown = [mid for mid in data.milestones_done if mid not in known]
        if unknown:
            raise invalid("milestones_done", f"节点 {'、'.join(unknown)} 不存在")
        done = [mid for mid in data.milestones_done if known[mid]["done_at"] is not None]
        if done:
            raise MilestoneAlreadyDone(details={"milestones": done})
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user)
    now = ctx.clock.now()
    stored_now = to_storage(now)
    marked = list(dict.fromkeys(data.milestones_done))
    report = {"id": new_id(), "department": acting_user.department, "by": acting_user.user_id, "text": data.text,
              "attachments": attachments, "milestones_done": marked, "by_lead": by_lead, "at": stored_now}
    sets: dict[str, Any] = {}
    if marked:
        for item in milestones:
            if item["id"] in marked:
                item.update(done_at=stored_now, done_by=acting_user.user_id)
        sets["milestones"] = milestones
    if by_lead:
        reporting = doc["reporting"]
        base = max(from_storage(reporting["next_due_at"]), now)
        sets.update({"reporting.next_due_at": to_storage(add_workdays(base, reporting["period_days"])),
                     "reporting.last_at": stored_now, "reporting.reminded_at": None})
    changes: dict[str, Any] = {"$push": {"reports": report}}
    if sets:
        changes["$set"] = sets
    if by_lead:
        changes["$inc"] = {"reporting.count": 1}
    names = doc.get("department_names") or {}
    after = await _apply(ctx, doc, "report", acting_user, outcome="lead" if by_lead else "co", comment=data.text,
                         expected_version=expected_version, changes=changes, now=now,
                         history={"milestones_done": marked} if marked else None,
                         data={"department": acting_user.department,
                               "department_name": names.get(acting_user.department or ""),
                               "milestones_done": [item["name"] for item in milestones if item["id"] in marked]})
    return await queries.task_for_staff(ctx, after, viewer=acting_user)


async def do_request_extension(ctx: Context, task_id: str, data: TaskExtensionIn, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    doc = await access_task_for_staff(ctx, acting_user, task_id)
    extension = {"state": "pending", "days": data.days, "reason": data.reason, "by": acting_user.user_id,
                 "requested_at": ctx.clock.stored()}
    after = await _apply(ctx, doc, "request_extension", acting_user, comment=data.reason,
                         expected_version=expected_version, changes={"$set": {"extension": extension}},
                         history={"days": data.days}, data={"days": data.days, "reason": data.reason})
    return await queries.task_for_staff(ctx, after, viewer=acting_user)


async def do_submit_completion(ctx: Context, task_id: str, data: TaskCompletionIn, *, acting_user: Principal,
                               expected_version: int | None) -> dict[str, Any]:
    """The lead unit's completion report (办结报告), once every co-unit has given its opinion;
    the supervisor reviews it meanwhile, with the clock paused."""
    doc = await access_task_for_staff(ctx, acting_user, task_id)
    _expect(doc, "submit_completion")
    attachments = await resolve_attachments(ctx, data.attachments, owner=acting_user)
    completion = {"text": data.text, "attachments": attachments, "by": acting_user.user_id,
                  "department": acting_user.department, "at": ctx.clock.stored(), "accepted_at": None}
    after = await _apply(ctx, doc, "submit_completion", acting_user, expected_version=expected_version,
                         changes={"$set": {"completion": completion}})
    return await queries.task_for_staff(ctx, after, viewer=acting_user)


# --- the reminder job -----------------------------------------------------------------------

async def do_remind_late_reports(ctx: Context) -> int:
    """Tell the lead unit of each task in progress whose progress report is overdue, once per
    period (the next report clears the mark). Returns how many were reminded. Safe to run in
    several processes at once: each reminder is a compare-and-set, a lost race is skipped."""
    now = ctx.clock.now()
    late = await ctx.store.collection(TASKS).find(
        {"state": TaskState.IN_PROGRESS.value, "reporting.next_due_at": {"$lt": to_storage(now)},
         "reporting.reminded_at": None}, sort=[("reporting.next_due_at", 1)], limit=REMINDER_BATCH)
    reminded = 0
    for doc in late:
        due = doc["reporting"]["next_due_at"]
        try:
            await _apply(ctx, doc, "remind_report", SYSTEM, now=now, comment="进展报送已逾期",
                         changes={"$set": {"reporting.reminded_at": to_storage(now)}},
                         data={"report_due_at": to_api(due),
                               "report_due_on": from_storage(due).astimezone(CHINA).date().isoformat()})
        except (VersionConflict, InvalidTransition):  # the task moved on meanwhile: the next run looks again
            continue
        reminded += 1
    return reminded
