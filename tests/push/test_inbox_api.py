"""The inbox, preferences and consent through HTTP, on both faces."""

from __future__ import annotations

from tests.conftest import Harness
from tests.push.conftest import PROGRESS, REPLY, notify_progress, user_id


async def test_inbox_pages_filters_and_marks_read(push: Harness) -> None:
    harness = push
    citizen = await harness.citizen("li_si")
    uid = await user_id(citizen)
    await notify_progress(harness, uid)
    first = await citizen.get("/mp/v1/notifications", params={"limit": 2})
    assert first.status == 200 and [i["type"] for i in first.body["items"]] == ["letter.replied", "letter.accepted"]
    assert first.body["unread_count"] == 3 and first.body["next_cursor"]
    rest = await citizen.get("/mp/v1/notifications", params={"limit": 2, "cursor": first.body["next_cursor"]})
    assert [i["type"] for i in rest.body["items"]] == ["letter.dispatched"] and rest.body["next_cursor"] is None

    newest = first.body["items"][0]
    read = await citizen.post(f"/mp/v1/notifications/{newest['id']}/read")
    assert read.status == 200 and read.body["read_at"] and read.body["version"] == 2
    again = await citizen.post(f"/mp/v1/notifications/{newest['id']}/read")
    assert again.body["read_at"] == read.body["read_at"] and again.body["version"] == 2  # idempotent
    unread = await citizen.get("/mp/v1/notifications", params={"unread": "true"})
    assert [i["type"] for i in unread.body["items"]] == ["letter.accepted", "letter.dispatched"]
    assert (await citizen.post("/mp/v1/notifications/read-all")).body == {"updated": 2}
    assert (await citizen.get("/mp/v1/notifications")).body["unread_count"] == 0

    # Someone else's notification is simply not found, on either face.
    other = await harness.citizen("wang_wu")
    assert (await other.post(f"/mp/v1/notifications/{newest['id']}/read")).error_code == "notification_not_found"
    staff = await harness.staff("env")
    assert (await staff.post(f"/api/v1/notifications/{newest['id']}/read")).status == 404
    assert (await staff.get("/api/v1/notifications")).body == {"items": [], "next_cursor": None, "unread_count": 0}
    assert (await citizen.get("/mp/v1/notifications", params={"cursor": "nonsense"})).status == 400


async def test_preferences_per_audience(harness: Harness) -> None:
    citizen, staff = await harness.citizen("li_si"), await harness.staff("env")
    prefs = await citizen.get("/mp/v1/notification-preferences")
    assert prefs.body["channels"] == {"subscribe": True, "template": True}
    assert {m["type"] for m in prefs.body["mandatory"]} == {"letter.info_requested", "letter.replied",
                                                            "letter.merged_replied", "letter.rejected"}
    assert prefs.headers["ETag"] == '"0"'
    wrong = await citizen.request("PUT", "/mp/v1/notification-preferences", {"channels": {"wecom": False}})
    assert wrong.status == 400 and wrong.body["error"]["details"]["fields"][0]["field"] == "channels.wecom"
    changed = await citizen.request("PUT", "/mp/v1/notification-preferences", {"channels": {"template": False}},
                                    headers={"If-Match": '"0"'})
    assert changed.status == 200 and changed.body["channels"] == {"subscribe": True, "template": False}
    stale = await citizen.request("PUT", "/mp/v1/notification-preferences", {"channels": {"subscribe": False}},
                                  headers={"If-Match": '"0"'})
    assert stale.status == 409
    staff_prefs = await staff.get("/api/v1/notification-preferences")
    assert staff_prefs.body["channels"] == {"wecom": True}
    assert "letter.overdue_warning" in {m["type"] for m in staff_prefs.body["mandatory"]}
    assert (await staff.request("PUT", "/api/v1/notification-preferences",
                                {"channels": {"inbox": False}})).status == 400


async def test_subscription_consent_is_recorded_once_per_request(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    harness.ctx.settings = harness.ctx.settings.replace(long_term_templates=(REPLY,))
    unknown = await citizen.post("/mp/v1/subscriptions", {"results": {PROGRESS: "accept", "other-template": "reject"}})
    assert unknown.status == 400 and unknown.body["error"]["details"]["fields"][0]["field"] == "results.other-template"
    assert (await citizen.get("/mp/v1/subscriptions")).body["items"][0]["remaining"] == 0  # nothing was stored
    body = {"results": {PROGRESS: "accept", REPLY: "accept"}}
    first = await citizen.post("/mp/v1/subscriptions", body, headers={"Idempotency-Key": "k1"})
    assert first.status == 200
    replay = await citizen.post("/mp/v1/subscriptions", body, headers={"Idempotency-Key": "k1"})
    assert replay.body == first.body  # a retried report is not counted twice
    await citizen.post("/mp/v1/subscriptions", {"results": {PROGRESS: "accept"}})
    items = {item["template_id"]: item for item in (await citizen.get("/mp/v1/subscriptions")).body["items"]}
    assert items[PROGRESS]["remaining"] == 2 and items[PROGRESS]["title"] == "信件办理进度通知"
    assert items[REPLY] == {**items[REPLY], "long_term": True, "remaining": 1, "last_result": "accept"}
    assert "other-template" not in items
    await citizen.post("/mp/v1/subscriptions", {"results": {REPLY: "reject"}})
    items = {item["template_id"]: item for item in (await citizen.get("/mp/v1/subscriptions")).body["items"]}
    assert items[REPLY]["remaining"] == 0
    bad = await citizen.post("/mp/v1/subscriptions", {"results": {PROGRESS: "maybe"}})
    assert bad.status == 400
    assert (await citizen.post("/mp/v1/subscriptions", {"results": {}})).status == 400
