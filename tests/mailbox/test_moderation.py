"""What citizens write goes through WeChat's content check and the city's sensitive words: a hit
is held for the centre (never refused silently), control characters are refused in titles and
names and stripped from bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.rediskit.embedded import EmbeddedRedis
from backend.wechat.fake_server import FakeWeChat
from tests.conftest import Harness, demo_settings, running_app
from tests.mailbox.conftest import LETTER, dispatch, write_letter


async def test_a_hit_is_held_for_the_centre_until_released(harness: Harness, center) -> None:
    citizen = await harness.citizen("li_si")
    letter = await write_letter(citizen, content="小区门口有人张贴办证刻章的小广告，到处都是，严重影响市容，请清理。")
    assert letter["held"] is True and letter["state"] == "submitted"  # stored, not refused
    seen = (await center.get(f"/api/v1/letters/{letter['id']}")).body
    assert seen["held"] and seen["moderation"]["words"] == ["办证刻章"] and seen["moderation"]["reasons"] == ["local"]
    listed = (await center.get("/api/v1/letters", params={"state": "submitted"})).body["items"]
    assert listed[0]["held"] is True
    blocked = await center.post(f"/api/v1/letters/{letter['id']}/dispatch", {"lead_department": "qd-urban"})
    assert blocked.status == 409 and blocked.error_code == "content_held"
    released = await center.post(f"/api/v1/letters/{letter['id']}/moderation/release", {"part": "letter"})
    assert released.status == 200 and released.body["held"] is False
    assert (await center.post(f"/api/v1/letters/{letter['id']}/moderation/release", {"part": "letter"})).status == 409
    await dispatch(center, letter["id"], "qd-urban")


async def test_wechat_risky_supplements_and_comments_are_held(harness: Harness, center) -> None:
    harness.wechat.risky_words.add("暴力威胁")
    citizen = await harness.citizen("li_si")
    letter = await write_letter(citizen)
    assert letter["held"] is False
    await dispatch(center, letter["id"], "qd-housing")
    housing = await harness.staff("housing")
    await housing.post(f"/api/v1/letters/{letter['id']}/accept")
    await housing.post(f"/api/v1/letters/{letter['id']}/info-request", {"question": "请提供具体地址"})
    supplied = await citizen.post(f"/mp/v1/letters/{letter['id']}/info", {"text": "地址在江西路，再不处理就暴力威胁施工方"})
    assert supplied.status == 200 and supplied.body["state"] == "handling"  # the clock resumes all the same
    dept = (await housing.get(f"/api/v1/letters/{letter['id']}")).body["supplements"][0]
    assert dept["held"] is True and dept["text"] is None  # the department does not read it yet
    centre = (await center.get(f"/api/v1/letters/{letter['id']}")).body["supplements"][0]
    assert centre["held"] is True and "暴力威胁" in centre["text"] and centre["moderation"]["reasons"] == ["wechat:risky"]
    await center.post(f"/api/v1/letters/{letter['id']}/moderation/release", {"part": "supplement", "index": 0})
    assert (await housing.get(f"/api/v1/letters/{letter['id']}")).body["supplements"][0]["text"]


async def test_a_city_can_keep_citizens_text_from_wechat(tmp_path: Path, demo_data_dir: Path,
                                                         redis_server: EmbeddedRedis, redis_client: Any,
                                                         fake_wechat: FakeWeChat) -> None:
    fake_wechat.risky_words.add("暴力威胁")
    settings = demo_settings(tmp_path, demo_data_dir, redis_server, fake_wechat, wechat_content_check=False)
    async with running_app(settings, fake_wechat) as harness:
        citizen = await harness.citizen("li_si")
        passed = await write_letter(citizen, content="施工方说再投诉就暴力威胁，请有关部门尽快处理施工噪音问题。")
        held = await write_letter(citizen, content="小区门口有人张贴办证刻章的小广告，到处都是，严重影响市容，请清理。")
    assert fake_wechat.calls_to("/wxa/msg_sec_check") == []  # nothing written reached WeChat
    assert passed["held"] is False and held["held"] is True  # the city's own list still holds


async def test_control_characters_are_refused_in_titles_and_stripped_from_bodies(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    for field, value in (("title", "小区\u202e噪音扰民"), ("title", "小区噪音\x00扰民"), ("writer_name", "张\u2066三")):
        refused = await citizen.post("/mp/v1/letters", {**LETTER, field: value})
        assert refused.status == 400 and refused.body["error"]["details"]["fields"][0]["field"] == field
    stripped = await write_letter(citizen, content="噪音\u202e严重影响\x00休息，\n请尽快处理夜间施工问题。")
    assert stripped["content"] == "噪音严重影响休息，\n请尽快处理夜间施工问题。"
