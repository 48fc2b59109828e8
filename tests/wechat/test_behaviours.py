"""The default Official Account behaviours, end to end: WeChat's encrypted push in, our encrypted
reply out, and what ended up in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import redis.asyncio as aioredis

from backend.config import Settings
from backend.ids import new_id
from backend.store.interface import DocumentStore
from backend.wechat.behaviours import DEFAULT_TEXT, WELCOME_TEXT, DefaultBehaviours
from backend.wechat.callback import OfficialAccountCallback
from backend.wechat.client import WeChatClient

from .conftest import WeChatSim


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DocumentStore]:
    from backend.store.sqlite import SQLiteStore  # noqa: PLC0415 - the engine is optional for the other tests

    engine = SQLiteStore(tmp_path / "wechat.sqlite3")
    await engine.open()
    yield engine
    await engine.close()


class OA:
    """The callback with the default behaviours, and WeChat pushing to it."""

    def __init__(self, callback: OfficialAccountCallback, behaviours: DefaultBehaviours, sim: WeChatSim,
                 store: DocumentStore) -> None:
        self.callback, self.behaviours, self.sim, self.store = callback, behaviours, sim, store

    async def push(self, xml: str) -> dict[str, str] | str:
        return self.sim.read_reply(await self.callback.handle_post(*self.sim.request(xml, "safe")))

    async def configure(self, **doc: Any) -> None:
        await self.store.collection("oa_config").insert_one({"_id": new_id(), **doc})
        self.behaviours.config_changed()  # as the admin use cases do

    async def docs(self, collection: str, **filter: Any) -> list[dict[str, Any]]:
        return await self.store.collection(collection).find(filter)


@pytest.fixture
async def oa(settings: Settings, redis: aioredis.Redis, client: WeChatClient, sim: WeChatSim,
             store: DocumentStore) -> AsyncIterator[OA]:
    behaviours = DefaultBehaviours(store=store)
    callback = OfficialAccountCallback(settings=settings, redis=redis, client=client, responder=behaviours)
    yield OA(callback, behaviours, sim, store)
    await callback.aclose()


def content(reply: dict[str, str] | str) -> str:
    assert isinstance(reply, dict) and reply["MsgType"] == "text", reply
    return reply["Content"]


async def test_subscribe_welcomes_and_records_the_follower(oa: OA) -> None:
    reply = await oa.push(oa.sim.event("o_li_si", "subscribe", "<UnionId><![CDATA[u_li_si]]></UnionId>"))
    assert content(reply) == WELCOME_TEXT
    follower, = await oa.docs("wechat_followers")
    assert (follower["_id"], follower["openid"], follower["unionid"]) == ("o_li_si", "o_li_si", "u_li_si")
    assert follower["followed"] is True and follower["scene"] is None
    assert follower["version"] == 1 and follower["created_at"]


async def test_subscribe_by_scanning_a_qr_code_keeps_the_scene(oa: OA) -> None:
    await oa.configure(kind="welcome", text="欢迎关注市政务服务！")
    reply = await oa.push(oa.sim.event("o_zhang", "subscribe", "<EventKey><![CDATA[qrscene_hall_12]]></EventKey>"
                                                                "<Ticket><![CDATA[TICKET]]></Ticket>"))
    assert content(reply) == "欢迎关注市政务服务！"
    follower, = await oa.docs("wechat_followers")
    assert follower["scene"] == "hall_12" and "unionid" not in follower


async def test_unsubscribe_keeps_the_record_and_deletes_the_followers_locations(oa: OA) -> None:
    await oa.push(oa.sim.event("o_li_si", "subscribe", create_time=1763776800))
    for openid, at in (("o_li_si", 1763776801), ("o_li_si", 1763776802), ("o_zhang", 1763776801)):
        await oa.push(oa.sim.event(openid, "LOCATION", "<Latitude>36.0671</Latitude><Longitude>120.3826</Longitude>"
                                                       "<Precision>65.0</Precision>", create_time=at))
    assert len(await oa.docs("wechat_locations")) == 3
    assert await oa.push(oa.sim.event("o_li_si", "unsubscribe", create_time=1763776900)) == "success"
    follower, = await oa.docs("wechat_followers")
    assert follower["followed"] is False and follower["unfollowed_at"] and follower["version"] == 2
    remaining, = await oa.docs("wechat_locations")
    assert remaining["openid"] == "o_zhang"
    # Following again starts a new record of the same follower.
    await oa.push(oa.sim.event("o_li_si", "subscribe", create_time=1763777000))
    assert (await oa.docs("wechat_followers"))[0]["followed"] is True


async def test_location_is_stored(oa: OA) -> None:
    report = "<Latitude>36.0671</Latitude><Longitude>120.3826</Longitude><Precision>65.0</Precision>"
    reply = await oa.push(oa.sim.event("o_li_si", "LOCATION", report, create_time=1763776800))
    assert reply == "success"
    location, = await oa.docs("wechat_locations")
    assert (location["openid"], location["latitude"], location["longitude"]) == ("o_li_si", 36.0671, 120.3826)
    assert location["reported_at"].startswith("2025-11-22T02:00:00")


async def test_menu_clicks_get_their_configured_reply(oa: OA) -> None:
    await oa.configure(kind="click", key="HOTLINE", text="政务服务热线：12345")
    assert content(await oa.push(oa.sim.event("o_li_si", "CLICK", "<EventKey><![CDATA[HOTLINE]]></EventKey>"))) \
        == "政务服务热线：12345"
    assert await oa.push(oa.sim.event("o_li_si", "CLICK", "<EventKey><![CDATA[UNSET]]></EventKey>")) == "success"


async def test_text_gets_keyword_replies(oa: OA) -> None:
    await oa.configure(kind="keyword", keyword="社保", match="exact", text="社保查询请点击菜单“便民服务”。")
    await oa.configure(kind="keyword", keyword="公积金", match="contains", text="公积金业务指南")
    await oa.configure(kind="keyword", keyword="公积金提取", match="contains", text="公积金提取需要身份证和银行卡")
    await oa.configure(kind="keyword", keyword="WiFi", match="exact", text="政务大厅WiFi：yzt-guest")
    sim = oa.sim
    assert content(await oa.push(sim.text("o_li_si", " 社保 "))) == "社保查询请点击菜单“便民服务”。"
    assert content(await oa.push(sim.text("o_li_si", "请问公积金怎么贷款"))) == "公积金业务指南"
    assert content(await oa.push(sim.text("o_li_si", "我想办理公积金提取"))) == "公积金提取需要身份证和银行卡"
    assert content(await oa.push(sim.text("o_li_si", "ＷＩＦＩ"))) == "政务大厅WiFi：yzt-guest"  # full-width
    assert content(await oa.push(sim.text("o_li_si", "社保卡丢了怎么办"))) == DEFAULT_TEXT  # exact only
    await oa.configure(kind="default", text="您的留言已收到，工作人员会尽快回复。")
    assert content(await oa.push(sim.text("o_li_si", "你好"))) == "您的留言已收到，工作人员会尽快回复。"


async def test_template_delivery_receipt_is_stored(oa: OA) -> None:
    reply = await oa.push(oa.sim.event("o_li_si", "TEMPLATESENDJOBFINISH",
                                       "<MsgID>200163836</MsgID><Status><![CDATA[failed:user block]]></Status>"))
    assert reply == "success"
    receipt, = await oa.docs("wechat_receipts")
    assert (receipt["kind"], receipt["msg_id"], receipt["status"]) == ("template", "200163836", "failed:user block")


async def test_subscription_events_are_stored_as_receipts(oa: OA) -> None:
    popup = ("<SubscribeMsgPopupEvent>"
             "<List><TemplateId><![CDATA[tpl-reply]]></TemplateId><SubscribeStatusString><![CDATA[accept]]>"
             "</SubscribeStatusString><PopupScene>2</PopupScene></List>"
             "<List><TemplateId><![CDATA[tpl-notice]]></TemplateId><SubscribeStatusString><![CDATA[reject]]>"
             "</SubscribeStatusString><PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent>")
    change = ("<SubscribeMsgChangeEvent><List><TemplateId><![CDATA[tpl-reply]]></TemplateId>"
              "<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString></List></SubscribeMsgChangeEvent>")
    sent = ("<SubscribeMsgSentEvent><List><TemplateId><![CDATA[tpl-reply]]></TemplateId>"
            "<MsgID>1700827132819554304</MsgID><ErrorCode>0</ErrorCode><ErrorStatus><![CDATA[success]]></ErrorStatus></List></SubscribeMsgSentEvent>")
    for event, inner in (("subscribe_msg_popup_event", popup), ("subscribe_msg_change_event", change),
                         ("subscribe_msg_sent_event", sent)):
        assert await oa.push(oa.sim.event("o_li_si", event, inner)) == "success"
    receipts = {(r["kind"], r["template_id"]): r for r in await oa.docs("wechat_receipts")}
    assert receipts[("subscribe_msg_popup_event", "tpl-reply")]["status"] == "accept"
    assert receipts[("subscribe_msg_popup_event", "tpl-notice")]["status"] == "reject"
    assert receipts[("subscribe_msg_change_event", "tpl-reply")]["status"] == "reject"
    delivered = receipts[("subscribe_msg_sent_event", "tpl-reply")]
    assert (delivered["status"], delivered["msg_id"], delivered["error_code"]) == \
        ("success", "1700827132819554304", "0")
    assert len(receipts) == 4


async def test_unknown_messages_are_acknowledged_and_logged(oa: OA, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="backend.wechat.behaviours")
    image = ("<xml><ToUserName>gh</ToUserName><FromUserName>o_li_si</FromUserName><CreateTime>1763776800</CreateTime>"
             "<MsgType>image</MsgType><PicUrl>https://mmbiz.example/x.jpg</PicUrl><MediaId>m1</MediaId>"
             "<MsgId>6054768590064713728</MsgId></xml>")
    assert await oa.push(image) == "success"
    assert await oa.push(oa.sim.event("o_li_si", "some_future_event")) == "success"
    assert "type=image" in caplog.text and "event=some_future_event" in caplog.text
    for collection in ("wechat_followers", "wechat_locations", "wechat_receipts"):
        assert await oa.docs(collection) == []
