"""``yzt init-demo``'s cases: every module shows something in each interesting state, written
through the use cases (so they have histories, clocks and to-dos), and a second run adds nothing."""

from __future__ import annotations

from backend.demo import create_demo_data
from backend.wechat.fake_server import sandbox_openid
from tests.conftest import Harness


async def states(harness: Harness, collection: str) -> set[str]:
    return {doc["state"] for doc in await harness.ctx.store.collection(collection).find({}, projection=["state"])}


async def test_demo_cases_in_each_state_and_idempotent(harness: Harness) -> None:
    await create_demo_data(harness.ctx)
    counts = {name: await harness.ctx.store.collection(name).count({})
              for name in ("letters", "office_documents", "office_incoming", "supervision_tasks")}
    await create_demo_data(harness.ctx)
    assert counts == {name: await harness.ctx.store.collection(name).count({}) for name in counts}
    assert await states(harness, "letters") >= {"submitted", "dispatched", "handling", "awaiting_info",
                                                "reply_review", "replied", "closed", "rejected", "merged", "returned"}
    assert await states(harness, "office_documents") == {"draft", "in_approval", "signed", "distributed"}
    assert await states(harness, "office_incoming") >= {"delivered", "circulating", "closed", "returned"}
    assert await states(harness, "supervision_tasks") == {"in_progress", "completion_review", "done"}
    public = await harness.client.get("/mp/v1/public/letters")
    assert len(public.body["items"]) == 1
    # The cases' to-dos reach their people once the events flow.
    await harness.settle()
    urban_lead = await harness.staff("urban_lead")
    todos = (await urban_lead.get("/api/v1/todos")).body
    assert {item["label"] for item in todos["items"]} >= {"审批公文", "阅读公文"}
    code = harness.wechat.register_login(openid=sandbox_openid("demo-citizen-1"))
    citizen = await harness.client.post("/mp/v1/auth/login", {"code": code})
    mine = await harness.client.as_(citizen.body["access_token"]).get("/mp/v1/letters")
    assert len(mine.body["items"]) >= 3
