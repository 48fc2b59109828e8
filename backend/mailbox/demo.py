"""The mailbox's demo letters, one in each interesting state, written by the demo citizens
(``demo-citizen-1`` … in the sandbox) and handled by the demo staff through the use cases."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from backend.context import Context
from backend.demo_cast import DemoCast
from backend.mailbox import use_cases as do
from backend.mailbox.schemas import (
    DecisionIn,
    DisclosureIn,
    DispatchIn,
    InfoRequestIn,
    LetterIn,
    MergeIn,
    OpinionIn,
    RatingIn,
    ReasonIn,
    ReplyIn,
    ReturnIn,
)
from backend.mailbox.workflow import LETTERS

Step = Callable[[str], Awaitable[Any]]


def _letter(kind: str, title: str, content: str, **extra: Any) -> LetterIn:
    return LetterIn.model_validate({"type": kind, "title": title, "content": content,
                                    "addressee": {"kind": "mayor"}, **extra}, strict=False)


async def create_demo_letters(ctx: Context, cast: DemoCast) -> int:
    """Idempotent: a letter that exists is left as it is. Returns how many were made."""
    center, housing, env = [await cast.staff(name) for name in ("center", "housing", "env")]
    citizens = {n: await cast.citizen(n) for n in (1, 2, 3)}

    async def dispatched(letter_id: str, lead: str = "qd-housing", co: tuple[str, ...] = ()) -> None:
        await do.do_dispatch_letter(ctx, letter_id, DispatchIn(lead_department=lead, co_departments=list(co)),
                                    acting_user=center, expected_version=None)

    async def accepted(letter_id: str) -> None:
        await do.do_accept_letter(ctx, letter_id, acting_user=housing, expected_version=None)

    async def replied(letter_id: str) -> None:
        await do.do_reply_letter(ctx, letter_id, ReplyIn(text="经现场核查，问题已责令整改完毕，并将持续跟踪。"),
                                 acting_user=housing, expected_version=None)

    async def approved(letter_id: str) -> None:
        await do.do_review_reply(ctx, letter_id, DecisionIn(approve=True), acting_user=center, expected_version=None)

    async def published(letter_id: str) -> None:
        from backend.mailbox.queries import disclosure_draft  # noqa: PLC0415

        doc = await ctx.store.collection(LETTERS).find_one({"_id": letter_id})
        assert doc is not None
        await do.do_publish_letter(ctx, letter_id, DisclosureIn(**disclosure_draft(doc)), acting_user=center,
                                   expected_version=None)

    letters: list[tuple[str, int, LetterIn, list[Step]]] = [
        ("de00000000000000a001", 1, _letter("consult", "公交站台破损咨询维修时间",
                                            "我家附近的公交站台顶棚破损多日，下雨时无法避雨，请问何时维修？"), []),
        ("de00000000000000a002", 2, _letter("complain", "小区夜间施工噪音扰民",
                                            "小区旁工地每天夜间施工到凌晨，噪音严重影响休息，请尽快处理。", public=True,
                                            writer_name="王小明"), [dispatched]),
        ("de00000000000000a003", 3, _letter("help", "老旧小区加装电梯求助",
                                            "我们楼里老人多，希望了解老旧小区加装电梯的办理流程和补贴政策。"),
         [lambda i: dispatched(i, co=("qd-env",)), accepted]),
        ("de00000000000000a004", 1, _letter("complain", "路边餐馆油烟扰民",
                                            "楼下餐馆油烟直排，窗户都不敢开，请有关部门督促安装净化设备。"),
         [dispatched, accepted,
          lambda i: do.do_request_info(ctx, i, InfoRequestIn(question="请提供餐馆的具体地址和店名"),
                                       acting_user=housing, expected_version=None)]),
        ("de00000000000000a005", 2, _letter("suggest", "建议增设共享单车停放点",
                                            "地铁站出口共享单车乱停放严重，建议增设规范停放区域并安排管理。"),
         [dispatched, accepted, replied]),
        ("de00000000000000a006", 3, _letter("complain", "人行道地砖松动",
                                            "江西路人行道多处地砖松动，雨天踩上去溅水，老人容易摔倒，请维修。",
                                            public=True, writer_name="李华"), [dispatched, accepted, replied, approved,
                                                                           published]),
        ("de00000000000000a007", 1, _letter("consult", "公积金提取材料咨询",
                                            "请问租房提取住房公积金需要准备哪些材料，每年可以提取几次？"),
         [dispatched, accepted, replied, approved,
          lambda i: do.do_rate_letter(ctx, i, RatingIn.model_validate({"level": "satisfied"}, strict=False),
                                      acting_user=citizens[1])]),
        ("de00000000000000a008", 2, _letter("criticise", "某单位工作人员态度问题",
                                            "反映的内容无法核实具体单位和时间，只是笼统表达不满情绪而已。"),
         [lambda i: do.do_reject_letter(ctx, i, ReasonIn(reason="未能提供可核实的具体情况"), acting_user=center,
                                        expected_version=None)]),
        ("de00000000000000a009", 3, _letter("complain", "工地晚上施工声音太大",
                                            "附近工地天天夜里施工到两点，噪音很大影响睡觉，希望尽快处理夜间施工噪音。"),
         [lambda i: do.do_merge_letter(ctx, i, MergeIn(original_id="de00000000000000a002"), acting_user=center,
                                       expected_version=None)]),
        ("de00000000000000a010", 1, _letter("help", "河道垃圾漂浮求助",
                                            "小区旁边河道里漂浮很多垃圾，天热有异味，请安排清理。"),
         [lambda i: dispatched(i, lead="qd-env"),
          lambda i: do.do_return_letter(ctx, i, ReturnIn(reason="河道保洁由城管部门负责",
                                                         responsible_body="市城市管理局"),
                                        acting_user=env, expected_version=None)]),
        ("de00000000000000a011", 2, _letter("suggest", "建议延长社区图书馆开放时间",
                                            "社区图书馆晚上六点就关门，上班族没法去，建议延长到晚上九点。"),
         [lambda i: dispatched(i, co=("qd-env",)), accepted,
          lambda i: do.do_give_opinion(ctx, i, OpinionIn(text="同意主办部门意见，配合做好宣传"), acting_user=env,
                                       expected_version=None)]),
    ]
    made = 0
    for letter_id, writer, body, steps in letters:
        if await ctx.store.collection(LETTERS).find_one({"_id": letter_id}, projection=["_id"]):
            continue
        await do.do_submit_letter(ctx, body, acting_user=citizens[writer], letter_id=letter_id)
        for step in steps:
            await step(letter_id)
        made += 1
    return made
