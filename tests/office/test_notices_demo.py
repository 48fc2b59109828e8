"""The demo notices: one of each state, and running the demo again changes nothing."""

from __future__ import annotations

from backend.demo import ACCOUNTS
from backend.office.notices.demo import CLOSED_ID, DRAFT_ID, INCOMING_ID, MEETING_ID, PUBLISHED_ID, create_demo_notices
from tests.conftest import Harness
from tests.office.test_notices import NOTICES, todos

STORED = ("office_notices", "office_notice_receipts", "office_groups")


async def snapshot(harness: Harness) -> dict[str, list]:
    return {name: await harness.ctx.store.collection(name).find({}, sort=[("_id", 1)],
                                                                projection=["state", "version"]) for name in STORED}


async def test_the_demo_notices_show_each_state_once(harness: Harness) -> None:
    accounts = [{"username": username} for username, *_rest in ACCOUNTS]
    ids = await create_demo_notices(harness.ctx, accounts)
    assert ids == [DRAFT_ID, PUBLISHED_ID, MEETING_ID, INCOMING_ID, CLOSED_ID]
    first = await snapshot(harness)
    assert await create_demo_notices(harness.ctx, accounts) == ids
    assert await snapshot(harness) == first

    housing = await harness.staff("housing")
    states = {item["id"]: item["state"] for item in (await housing.get(NOTICES, params={"box": "issued"})).body["items"]}
    assert states == {DRAFT_ID: "draft", PUBLISHED_ID: "published", MEETING_ID: "published", CLOSED_ID: "closed"}
    published = (await housing.get(f"{NOTICES}/{PUBLISHED_ID}/receipts/summary")).body
    assert (published["read"], published["unread"]) == (2, 5)
    meeting = (await housing.get(f"{NOTICES}/{MEETING_ID}/attendance")).body
    assert meeting["counts"] == {"attending": 2, "on_leave": 2, "no_reply": 3}
    assert {item["substitute"]["name"] for item in meeting["items"] if item["substitute"]} == {"王强（执法二中队）"}
    assert await todos(harness, housing, DRAFT_ID) == [(DRAFT_ID, "发布通知", "handle")]
    assert [label for _subject, label, _kind in await todos(harness, housing, INCOMING_ID)] == ["阅读通知"]
