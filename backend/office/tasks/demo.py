"""Demo supervision tasks for ``yzt init-demo``: one in each interesting state, so the app shows
something on first start. The demo city has no leader or 督查室 accounts, so its clerks stand in:
``center`` (市政府信箱办公室) supervises for its office, ``shinan_admin`` is the leader who gave
the instructions, ``housing`` (qd-housing) and ``env`` (qd-env) handle them.

Each task is made through the use cases, as people would have, at the times they would have
(the context's clock is moved back for the steps, then restored), so histories, deadlines and
warning levels are real: the overdue one gets its warning and report reminder from the jobs of
the first ``yzt serve``. Idempotent: each task has a fixed id, and one that exists is left alone.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterator

from backend.auth.permissions import permissions_of
from backend.auth.tokens import Principal
from backend.clock import CHINA, utcnow
from backend.identity.queries import USERS
from backend.office.tasks import use_cases as do
from backend.office.tasks.schemas import (
    TaskCompletionIn,
    TaskExtensionDecisionIn,
    TaskExtensionIn,
    TaskIn,
    TaskOpinionIn,
    TaskReportIn,
    TaskReviewIn,
)
from backend.office.tasks.workflow import TASKS

if TYPE_CHECKING:
    from backend.context import Context

People = dict[str, Principal]


def _id(n: int) -> str:
    return f"{0xd0b5:04x}{n:016x}"  # fixed, 20 hex characters like every object id


@contextmanager
def _at(ctx: "Context", moment: datetime) -> Iterator[None]:
    """Run the block with the clock at ``moment``, then put it back where it was (a sandbox's
    clock may itself be moved)."""
    offset = ctx.clock.now() - utcnow()
    ctx.clock.travel(moment)
    try:
        yield
    finally:
        ctx.clock.travel(utcnow() + offset)


async def _people(ctx: "Context", usernames: list[str]) -> People:
    found: People = {}
    for doc in await ctx.store.collection(USERS).find({"username": {"$in": usernames}, "kind": "staff"}):
        roles = tuple(doc.get("roles", []))
        found[doc["username"]] = Principal(user_id=doc["_id"], audience="staff", roles=roles,
                                           department=doc.get("department"), family="", jti="", issued_at=0.0,
                                           expires_at=float("inf"), permissions=permissions_of(roles))
    return found


def _task(title: str, requirement: str, *, leader: str, lead: str, co: list[str], days: int, every: int,
          milestones: list[tuple[str, date]]) -> TaskIn:
    return TaskIn.model_validate({
        "title": title, "requirement": requirement,
        "source": {"kind": "instruction", "text": "请抓紧办理，按期报送进展。", "leader_id": leader},
        "lead_department": lead, "co_departments": co, "deadline_days": days, "report_every_days": every,
        "milestones": [{"name": name, "due_on": due} for name, due in milestones]}, strict=False)


async def create_demo_tasks(ctx: "Context", accounts: list[dict[str, Any]]) -> list[str]:
    """Returns the ids of the tasks made now (none on a second run)."""
    people = await _people(ctx, [account["username"] for account in accounts])
    if not {"center", "housing", "env", "shinan_admin"} <= set(people):
        return []
    center, housing, env = people["center"], people["housing"], people["env"]
    leader = people["shinan_admin"].user_id
    now = ctx.clock.now()

    def ago(days: int, hour: int = 9) -> datetime:
        day = (now - timedelta(days=days)).astimezone(CHINA).date()
        return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA)

    def day(moment: datetime, plus: int) -> date:
        return (moment + timedelta(days=plus)).astimezone(CHINA).date()

    made = []

    # 1. In progress, with a progress report and a milestone done; the co-unit's opinion awaited.
    start = ago(6)
    if await _new(ctx, _id(1)):
        with _at(ctx, start):
            await do.do_create_task(ctx, _task(
                "老旧小区加装电梯专项督办", "按照市政府常务会议要求，年内完成全市试点小区加装电梯的审批与开工建设。",
                leader=leader, lead="qd-housing", co=["qd-env"], days=40, every=5,
                milestones=[("完成试点小区摸底", day(start, 5)), ("完成审批", day(start, 30))]),
                acting_user=center, task_id=_id(1))
        with _at(ctx, ago(2, 15)):
            await do.do_report_progress(ctx, _id(1), TaskReportIn.model_validate(
                {"text": "已完成12个试点小区的摸底调查，居民同意率均超过三分之二。", "milestones_done": ["m1"]}),
                acting_user=housing, expected_version=None)
        made.append(_id(1))

    # 2. Overdue: the deadline has passed and the last progress report is late.
    start = ago(40)
    if await _new(ctx, _id(2)):
        with _at(ctx, start):
            await do.do_create_task(ctx, _task(
                "建筑工地扬尘治理专项督办", "对全市在建工地开展扬尘治理专项检查，落实“六个百分之百”措施并建立整改台账。",
                leader=leader, lead="qd-housing", co=[], days=15, every=5,
                milestones=[("完成专项检查", day(start, 10))]), acting_user=center, task_id=_id(2))
        with _at(ctx, ago(30, 16)):
            await do.do_report_progress(ctx, _id(2), TaskReportIn.model_validate(
                {"text": "已检查在建工地86处，发现问题31处，已下达整改通知。"}), acting_user=housing, expected_version=None)
        made.append(_id(2))

    # 3. Awaiting review: the co-unit gave its opinion, an extension was granted, the lead unit reported completion.
    start = ago(20)
    if await _new(ctx, _id(3)):
        with _at(ctx, start):
            await do.do_create_task(ctx, _task(
                "近岸海域垃圾清理专项督办", "组织开展近岸海域及岸滩垃圾集中清理，建立常态化保洁机制。",
                leader=leader, lead="qd-env", co=["qd-housing"], days=15, every=5, milestones=[]),
                acting_user=center, task_id=_id(3))
        with _at(ctx, ago(15, 10)):
            await do.do_give_opinion(ctx, _id(3), TaskOpinionIn.model_validate({"text": "沿海施工工地垃圾由住建部门督促清运"}),
                                     acting_user=housing, expected_version=None)
            await do.do_request_extension(ctx, _id(3), TaskExtensionIn.model_validate(
                {"reason": "受台风天气影响，海上作业暂停", "days": 5}), acting_user=env, expected_version=None)
        with _at(ctx, ago(14, 10)):
            await do.do_decide_extension(ctx, _id(3), TaskExtensionDecisionIn.model_validate(
                {"approve": True, "comment": "同意延期5个工作日"}), acting_user=center, expected_version=None)
        with _at(ctx, ago(1, 11)):
            await do.do_submit_completion(ctx, _id(3), TaskCompletionIn.model_validate(
                {"text": "共清理岸滩垃圾320吨，已建立沿海各区市每日巡查保洁制度。"}), acting_user=env, expected_version=None)
        made.append(_id(3))

    # 4. Sent back: the completion report lacked what the supervisor asked for.
    start = ago(12)
    if await _new(ctx, _id(4)):
        with _at(ctx, start):
            await do.do_create_task(ctx, _task(
                "城中村改造项目手续办理督办", "加快推进城中村改造项目规划、用地、施工许可等手续办理，按期开工。",
                leader=leader, lead="qd-housing", co=[], days=30, every=10, milestones=[]),
                acting_user=center, task_id=_id(4))
        with _at(ctx, ago(5, 10)):
            await do.do_submit_completion(ctx, _id(4), TaskCompletionIn.model_validate(
                {"text": "项目规划及用地手续已办结，施工许可正在办理中。"}), acting_user=housing, expected_version=None)
        with _at(ctx, ago(4, 16)):
            await do.do_review_completion(ctx, _id(4), TaskReviewIn.model_validate(
                {"accept": False, "reason": "施工许可尚未办结，请办结后再报"}), acting_user=center, expected_version=None)
        made.append(_id(4))

    # 5. Done: accepted on time.
    start = ago(30)
    if await _new(ctx, _id(5)):
        with _at(ctx, start):
            await do.do_create_task(ctx, _task(
                "餐饮油烟扰民问题集中整治督办", "对群众反映集中的餐饮油烟扰民问题逐一排查，督促安装净化设施并达标排放。",
                leader=leader, lead="qd-env", co=[], days=10, every=5, milestones=[]),
                acting_user=center, task_id=_id(5))
        with _at(ctx, ago(25, 10)):
            await do.do_report_progress(ctx, _id(5), TaskReportIn.model_validate(
                {"text": "已完成全部投诉点位排查，形成问题清单。"}), acting_user=env, expected_version=None)
        with _at(ctx, ago(22, 10)):
            await do.do_submit_completion(ctx, _id(5), TaskCompletionIn.model_validate(
                {"text": "问题清单所列27家餐饮单位已全部安装净化设施，经监测达标排放。"}), acting_user=env,
                expected_version=None)
        with _at(ctx, ago(21, 10)):
            await do.do_review_completion(ctx, _id(5), TaskReviewIn.model_validate({"accept": True}),
                                          acting_user=center, expected_version=None)
        made.append(_id(5))
    return made


async def _new(ctx: "Context", task_id: str) -> bool:
    return await ctx.store.collection(TASKS).find_one({"_id": task_id}, projection=["_id"]) is None
