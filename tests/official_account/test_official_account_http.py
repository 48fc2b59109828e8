"""The Official Account through the running server: callback in every mode, admin-configured
replies and menu, and the mini-program's phone binding."""

from __future__ import annotations

import base64
import json
import time

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from backend.identity.queries import USER_PHONE
from backend.personal_data import read_sealed
from tests.conftest import Harness
from tests.wechat.conftest import WeChatSim


async def post_callback(harness: Harness, sim: WeChatSim, xml: str, mode: str = "safe"):
    args, body = sim.request(xml, mode)
    return await harness.client.request("POST", "/wechat/callback", raw=body, params=args,
                                        headers={"Content-Type": "text/xml"})


async def test_url_verification_and_forged_signature(harness: Harness) -> None:
    sim = WeChatSim(harness.ctx.settings)
    resp = await harness.client.get("/wechat/callback", params=sim.signed(echostr="echo-123"))
    assert resp.status == 200 and resp.body == b"echo-123"
    forged = {**sim.signed(echostr="x"), "signature": "0" * 40}
    assert (await harness.client.get("/wechat/callback", params=forged)).status == 403
    args, body = sim.request(sim.text("o_user", "你好"), "safe")
    args["msg_signature"] = "f" * 40
    resp = await harness.client.request("POST", "/wechat/callback", raw=body, params=args)
    assert resp.status == 403


async def test_keyword_reply_configured_by_admin(harness: Harness) -> None:
    admin = await harness.staff("admin")
    added = await admin.post("/api/v1/wechat/keyword-replies",
                             {"keyword": "公积金", "match": "contains", "text": "公积金查询请点击菜单“便民服务”。"})
    assert added.status == 201
    assert (await admin.put("/api/v1/wechat/replies/default", {"text": "您的留言已收到。"})).status == 200
    sim = WeChatSim(harness.ctx.settings)
    for mode in ("safe", "compat"):
        resp = await post_callback(harness, sim, sim.text("o_user", "我想查询公积金余额"), mode)
        assert resp.status == 200, resp.body
        reply = sim.read_reply(resp.body)
        assert reply["Content"] == "公积金查询请点击菜单“便民服务”。" and reply["ToUserName"] == "o_user"
    # An AES key is set and compatibility mode is off: plaintext would be a downgrade.
    plain = await post_callback(harness, sim, sim.text("o_user", "我想查询公积金余额"), "plain")
    assert plain.status == 403 and plain.error_code == "wechat_plaintext_refused"
    other = sim.read_reply((await post_callback(harness, sim, sim.text("o_user", "天气怎么样"))).body)
    assert other["Content"] == "您的留言已收到。"
    assert (await admin.delete(f"/api/v1/wechat/keyword-replies/{added.body['id']}")).status == 204
    config = (await admin.get("/api/v1/wechat/config")).body
    assert config["keywords"] == [] and config["default"] == "您的留言已收到。"


async def test_menu_saved_published_and_clicked(harness: Harness) -> None:
    admin = await harness.staff("admin")
    menu = {"button": [
        {"name": "政府信箱", "type": "miniprogram", "url": "https://www.qingdao.gov.cn",
         "appid": harness.ctx.settings.mp_appid, "pagepath": "pages/letters/mine"},
        {"name": "便民服务", "sub_button": [
            {"name": "办事指南", "type": "click", "key": "GUIDE", "reply": "办事指南请访问“办事服务”小程序。"},
            {"name": "官网", "type": "view", "url": "https://www.qingdao.gov.cn"}]}]}
    assert (await admin.put("/api/v1/wechat/menu", menu)).status == 200
    bad = await admin.put("/api/v1/wechat/menu", {"button": [{"name": "x", "type": "click"}]})
    assert bad.status == 400
    published = await admin.post("/api/v1/wechat/menu/publish")
    assert published.status == 200, published.body
    sent = harness.wechat.calls_to("/cgi-bin/menu/create")[-1].body
    assert sent["button"][1]["sub_button"][0] == {"name": "办事指南", "type": "click", "key": "GUIDE"}
    sim = WeChatSim(harness.ctx.settings)
    click = sim.event("o_user", "CLICK", "<EventKey><![CDATA[GUIDE]]></EventKey>")
    reply = sim.read_reply((await post_callback(harness, sim, click)).body)
    assert reply["Content"] == "办事指南请访问“办事服务”小程序。"
    clerk = await harness.staff("housing")
    assert (await clerk.post("/api/v1/wechat/menu/publish")).status == 403


async def test_subscribe_welcome_and_unsubscribe(harness: Harness) -> None:
    admin = await harness.staff("admin")
    await admin.put("/api/v1/wechat/replies/welcome", {"text": "欢迎关注青岛一站通！"})
    sim = WeChatSim(harness.ctx.settings)
    scan = sim.event("o_new", "subscribe", "<EventKey><![CDATA[qrscene_hall_3]]></EventKey><Ticket>t</Ticket>")
    reply = sim.read_reply((await post_callback(harness, sim, scan)).body)
    assert reply["Content"] == "欢迎关注青岛一站通！"
    follower = await harness.ctx.store.collection("wechat_followers").find_one({"_id": "o_new"})
    assert follower["followed"] is True and follower["scene"] == "hall_3"
    leave = sim.event("o_new", "unsubscribe", create_time=int(time.time()) + 1)
    assert (await post_callback(harness, sim, leave)).body == b"success"
    follower = await harness.ctx.store.collection("wechat_followers").find_one({"_id": "o_new"})
    assert follower["followed"] is False


def legacy_phone_blob(session_key: str, appid: str, phone: str) -> tuple[str, str]:
    iv = b"0123456789abcdef"
    plain = json.dumps({"phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
                        "watermark": {"appid": appid, "timestamp": int(time.time())}}).encode()
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(base64.b64decode(session_key)), modes.CBC(iv)).encryptor()
    data = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    return base64.b64encode(data).decode(), base64.b64encode(iv).decode()


async def test_phone_binding_new_and_legacy(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    openid = "openid-li_si"
    code = harness.wechat.register_phone("13912345678", openid=openid)
    bound = await citizen.post("/mp/v1/me/phone", {"code": code})
    assert bound.status == 200, bound.body
    assert bound.body["phone"] == "139****5678"
    assert "13912345678" not in str(bound.body)
    stored = await harness.ctx.store.collection("users").find_one({"openid": openid})
    assert stored["phone"] != "13912345678"  # sealed at rest (tests/security/test_data_at_rest.py)
    assert read_sealed(harness.ctx.personal_data, USER_PHONE, stored) == "13912345678"
    reused = await citizen.post("/mp/v1/me/phone", {"code": code})
    assert reused.status == 400 and reused.error_code == "phone_code_invalid"

    session_key = base64.b64encode(b"sixteen byte key").decode()
    login_code = harness.wechat.register_login(openid="openid-zhou", unionid="u-zhou", session_key=session_key)
    token = (await harness.client.post("/mp/v1/auth/login", {"code": login_code})).body["access_token"]
    zhou = harness.client.as_(token)
    data, iv = legacy_phone_blob(session_key, harness.ctx.settings.mp_appid, "13700001111")
    legacy = await zhou.post("/mp/v1/me/phone", {"encrypted_data": data, "iv": iv})
    assert legacy.status == 200 and legacy.body["phone"] == "137****1111"
    foreign, iv = legacy_phone_blob(session_key, "wx_some_other_app", "13700002222")
    wrong_app = await zhou.post("/mp/v1/me/phone", {"encrypted_data": foreign, "iv": iv})
    assert wrong_app.status == 400 and wrong_app.error_code == "phone_watermark_mismatch"
    garbage = await zhou.post("/mp/v1/me/phone", {"encrypted_data": "bm90IGNpcGhlcg==", "iv": iv})
    assert garbage.status == 400
    neither = await zhou.post("/mp/v1/me/phone", {"iv": iv})
    assert neither.status == 400
    zhou_doc = await harness.ctx.store.collection("users").find_one({"openid": "openid-zhou"})
    assert read_sealed(harness.ctx.personal_data, USER_PHONE, zhou_doc) == "13700001111"
