"""WeChat's receipts move notifications' states; ``yzt worker`` delivers on its own."""

from __future__ import annotations

import asyncio

from backend.notifications.queries import QUOTAS
from push.app import run_worker
from tests.conftest import Harness
from tests.push.conftest import (
    FAST,
    PROGRESS,
    SUBSCRIBE_SEND,
    emit,
    grant,
    inbox,
    person,
    receipt,
    settle,
    user_id,
    wait_for,
)


async def test_subscribe_receipts_confirm_and_switch_off(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    await grant(harness, citizen, "li_si", PROGRESS, times=2)
    await emit(harness, "letter.accepted", person(uid))
    await settle(harness)
    await receipt(harness, "openid-li_si", "subscribe_msg_sent_event",
                  f"<SubscribeMsgSentEvent><List><TemplateId><![CDATA[{PROGRESS}]]></TemplateId>"
                  "<MsgID>1700827132819554304</MsgID><ErrorCode>0</ErrorCode>"
                  "<ErrorStatus><![CDATA[success]]></ErrorStatus></List></SubscribeMsgSentEvent>")

    async def delivered() -> bool:
        doc, = await inbox(harness, uid)
        return doc["channels"]["subscribe"]["state"] == "delivered"
    await wait_for(delivered, what="the subscribe receipt")

    # The user switches the template off in WeChat's settings: no quota left, nothing more sent.
    await receipt(harness, "openid-li_si", "subscribe_msg_change_event",
                  f"<SubscribeMsgChangeEvent><List><TemplateId><![CDATA[{PROGRESS}]]></TemplateId>"
                  "<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString></List></SubscribeMsgChangeEvent>")

    async def switched_off() -> bool:
        quota = await harness.ctx.store.collection(QUOTAS).find_one({"_id": f"{uid}:{PROGRESS}"})
        return quota["remaining"] == 0
    await wait_for(switched_off, what="the change receipt")
    await emit(harness, "letter.accepted", person(uid))
    await settle(harness)
    assert len(harness.wechat.calls_to(SUBSCRIBE_SEND)) == 1


async def test_a_worker_process_delivers_without_the_server(harness: Harness) -> None:
    """``yzt worker``: its own bootstrap on the same Redis and store, push and nothing else."""
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    await grant(harness, citizen, "li_si", PROGRESS)
    worker = asyncio.get_running_loop().create_task(run_worker(harness.ctx.settings, FAST))
    try:
        await emit(harness, "letter.accepted", person(uid))
        await settle(harness)
        docs = await inbox(harness, uid)
        assert len(harness.wechat.calls_to(SUBSCRIBE_SEND)) == 1
        assert docs[0]["channels"]["subscribe"]["state"] == "sent"
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
