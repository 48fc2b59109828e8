"""The mailbox's part of the test kit: a letter with a photo, dispatched to 市住建局, which 生态环境局
must not see."""

from __future__ import annotations

from typing import Any

from tests.kit import UNKNOWN_ID, Kit


async def make(harness: Any, citizen: Any) -> dict[str, str]:
    from tests.mailbox.conftest import dispatch, upload, write_letter  # noqa: PLC0415 - conftest imports the harness

    photo = await upload(citizen)
    letter = await write_letter(citizen, attachments=[photo["id"]])
    await dispatch(await harness.staff("center"), letter["id"], "qd-housing")
    return {"letter_id": letter["id"], "file_id": photo["file_id"]}


KIT = Kit(make=make, foreign="env", object_params=frozenset({"letter_id"}), bodies={
    "ReturnIn": {"reason": "不属于本单位职责", "responsible_body": "市城市管理局"},
    "InfoRequestIn": {"question": "请补充具体地址"},
    "ReplyIn": {"text": "经核查已经处理完毕，特此答复。"},
    "ExtensionIn": {"reason": "需要现场核查", "days": 3},
    "DecisionIn": {"approve": True},
    "DispatchIn": {"lead_department": "qd-env"},
    "ReasonIn": {"reason": "内容无法核实"},
    "MergeIn": {"original_id": UNKNOWN_ID},
    "OpinionIn": {"text": "同意主办部门意见"},
    "ReleaseIn": {"part": "letter"},
    "DisclosureIn": {"title": "小区夜间施工噪音", "content": "内容", "reply": "答复"},
})
