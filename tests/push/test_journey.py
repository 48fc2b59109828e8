"""Real mailbox events, through a real Redis, to the fake WeChat server and real WebSocket clients."""

from __future__ import annotations

from backend.notifications.queries import QUOTAS
from tests.conftest import Harness
from tests.mailbox.conftest import dispatch, write_letter
from tests.push.conftest import (
    OA_PROGRESS,
    PROGRESS,
    REPLY,
    SUBSCRIBE_SEND,
    TEMPLATE_SEND,
    WECOM_SEND,
    Socket,
    follow,
    grant,
    inbox,
    receipt,
    settle,
    user_id,
    wait_for,
)


async def test_a_letter_notifies_everyone_on_every_channel(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    citizen_id = await user_id(citizen)
    await grant(harness, citizen, "li_si", PROGRESS, times=2)
    await grant(harness, citizen, "li_si", REPLY)
    oa_openid = await follow(harness, "li_si")
    center, env = await harness.staff("center"), await harness.staff("env")
    center_id, env_id = await user_id(center, "staff"), await user_id(env, "staff")

    # The citizen's app is online (token in the URL); the department's app authenticates by
    # message and follows its department's topic (and may not follow another's).
    citizen_ws = await Socket.open(harness, f"token={citizen.token}")
    assert (await citizen_ws.until("ready"))["user_id"] == citizen_id
    env_ws = await Socket.open(harness)
    await env_ws.send({"op": "auth", "token": env.token})
    await env_ws.until("ready")
    await env_ws.send({"op": "subscribe", "topics": ["department:qd-env", "department:qd-housing"]})
    subscribed = await env_ws.until("subscribed")
    assert subscribed["topics"] == ["department:qd-env"] and subscribed["refused"] == ["department:qd-housing"]

    # letter.submitted → the mailbox centre (role): inbox and WeCom, not the citizen.
    letter = await write_letter(citizen, title="小区夜间施工噪音扰民严重影响居民正常休息的问题")
    await settle(harness)
    submitted, = await inbox(harness, center_id)
    assert submitted["type"] == "letter.submitted" and submitted["channels"]["wecom"]["state"] == "sent"
    assert [call.body["touser"] for call in harness.wechat.calls_to(WECOM_SEND)] == ["center"]
    assert await inbox(harness, citizen_id) == []

    # letter.dispatched → the department (WeCom, live) and the citizen (subscribe, OA template, live).
    await dispatch(center, letter["id"], "qd-env")
    live = await citizen_ws.until("notification")
    assert live["notification"]["type"] == "letter.dispatched"
    assert live["notification"]["title"] == "您的信件已转交办理"
    topic = await env_ws.until("event")
    assert topic["topic"] == "department:qd-env" and topic["event"]["subject"]["id"] == letter["id"]
    assert (await env_ws.until("notification"))["notification"]["type"] == "letter.dispatched"
    await settle(harness)
    sent, = harness.wechat.calls_to(SUBSCRIBE_SEND)
    assert sent.body["touser"] == "openid-li_si" and sent.body["template_id"] == PROGRESS
    assert sent.body["page"] == f"pages/letters/detail?id={letter['id']}"
    data = {key: value["value"] for key, value in sent.body["data"].items()}
    assert data["phrase3"] == "已转办" and data["character_string1"] == letter["tracking_no"]
    assert data["thing2"] == "小区夜间施工噪音扰民严重影响居民正常休…" and len(data["thing2"]) == 20
    template, = harness.wechat.calls_to(TEMPLATE_SEND)
    assert template.body["touser"] == oa_openid and template.body["template_id"] == OA_PROGRESS
    assert template.body["miniprogram"]["pagepath"] == f"pages/letters/detail?id={letter['id']}"
    # One WeCom message per event: to the centre, then to everyone of 生态环境局 (its clerk and its head).
    sent = [set(call.body["touser"].split("|")) for call in harness.wechat.calls_to(WECOM_SEND)]
    assert sent == [{"center"}, {"env", "env_lead"}]
    dispatched, = await inbox(harness, citizen_id)
    channels = dispatched["channels"]
    assert {name: value["state"] for name, value in channels.items()} == {
        "inbox": "delivered", "websocket": "sent", "subscribe": "sent", "template": "sent"}
    assert (await inbox(harness, env_id))[0]["type"] == "letter.dispatched"
    quota = await harness.ctx.store.collection(QUOTAS).find_one({"_id": f"{citizen_id}:{PROGRESS}"})
    assert quota["remaining"] == 1

    # WeChat's delivery receipt for the template message lands on the notification.
    msg_id = channels["template"]["msg_id"]
    await receipt(harness, oa_openid, "TEMPLATESENDJOBFINISH",
                  f"<MsgID>{msg_id}</MsgID><Status><![CDATA[success]]></Status>")

    async def confirmed() -> bool:
        doc, = await inbox(harness, citizen_id)
        return doc["channels"]["template"]["state"] == "delivered"
    await wait_for(confirmed, what="the template receipt")

    # The department replies; the centre approves: the citizen is told on the reply template.
    assert (await env.post(f"/api/v1/letters/{letter['id']}/accept")).status == 200
    reply_text = "经核查，该工地夜间施工未办理夜间施工许可，已责令停止夜间作业。"
    assert (await env.post(f"/api/v1/letters/{letter['id']}/reply", {"text": reply_text})).status == 200
    assert (await center.post(f"/api/v1/letters/{letter['id']}/review", {"approve": True})).status == 200
    await settle(harness)
    replied = [n for n in await inbox(harness, citizen_id) if n["type"] == "letter.replied"]
    assert len(replied) == 1 and replied[0]["channels"]["subscribe"]["state"] == "sent"
    assert [call.body["template_id"] for call in harness.wechat.calls_to(SUBSCRIBE_SEND)] == [PROGRESS, PROGRESS, REPLY]
    assert [n["type"] for n in await inbox(harness, citizen_id)] == [
        "letter.dispatched", "letter.accepted", "letter.replied"]

    # The citizen reads it through the API; the WebSocket saw the same entries live.
    listed = await citizen.get("/mp/v1/notifications")
    assert [item["type"] for item in listed.body["items"]] == ["letter.replied", "letter.accepted", "letter.dispatched"]
    assert listed.body["unread_count"] == 3
    assert (await citizen_ws.until("notification"))["notification"]["type"] == "letter.accepted"
    assert (await citizen_ws.until("notification"))["notification"]["type"] == "letter.replied"
    citizen_ws.close()
    env_ws.close()
