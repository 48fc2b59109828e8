"""Public disclosure shows, indexes and matches only the text a person checked and published.

Attacks this closes (issue 9, items 2 and 3): the public search index was built from the
unmasked letter, so ``q=139<4 digits>5678`` recovered a masked phone number in at most 10⁴
unauthenticated requests and a full ID number could be confirmed; and letters went public the
moment a reply was approved, masked by rule only.
"""

from __future__ import annotations

from tests.conftest import Harness
from tests.mailbox.conftest import dispatch, write_letter

PHONE = "13812345678"
ID_CARD = "370202199001011234"
REPLY = f"已处理。施工负责人电话0532-88886666，身份证{ID_CARD}。"


async def replied_letter(harness: Harness, center, **changes) -> str:
    citizen = await harness.citizen("li_si")
    letter = await write_letter(citizen, **changes)
    await dispatch(center, letter["id"], "qd-housing")
    housing = await harness.staff("housing")
    assert (await housing.post(f"/api/v1/letters/{letter['id']}/accept")).status == 200
    assert (await housing.post(f"/api/v1/letters/{letter['id']}/reply", {"text": REPLY})).status == 200
    assert (await center.post(f"/api/v1/letters/{letter['id']}/review", {"approve": True})).status == 200
    return letter["id"]


async def public_ids(harness: Harness, **params) -> list[str]:
    resp = await harness.client.get("/mp/v1/public/letters", params=params or None)
    assert resp.status == 200, resp.body
    return [item["id"] for item in resp.body["items"]]


async def test_nothing_is_public_until_the_centre_publishes_checked_text(harness: Harness, center) -> None:
    letter_id = await replied_letter(harness, center)
    assert await public_ids(harness) == []  # approved, but no person has checked it yet
    assert (await harness.client.get(f"/mp/v1/public/letters/{letter_id}")).status == 404

    draft = await center.get(f"/api/v1/letters/{letter_id}/disclosure")
    assert draft.status == 200 and draft.body["state"] == "draft"
    assert PHONE not in str(draft.body) and ID_CARD not in str(draft.body) and "88886666" not in str(draft.body)
    assert "138****5678" in draft.body["content"]

    edited = {**{k: draft.body[k] for k in ("title", "content", "reply")}, "content": draft.body["content"] + "（已编辑）"}
    published = await center.post(f"/api/v1/letters/{letter_id}/disclosure", edited)
    assert published.status == 200 and published.body["state"] == "published"
    detail = (await harness.client.get(f"/mp/v1/public/letters/{letter_id}")).body
    assert detail["content"] == edited["content"] and detail["reply"]["text"] == edited["reply"]
    assert detail["writer"] == "张*" and detail["department"] == detail["reply"]["department"] == "市住房和城乡建设局"
    assert "contact_phone" not in detail and "citizen_id" not in detail
    history = (await center.get(f"/api/v1/letters/{letter_id}")).body["history"]
    assert history[-1]["action"] == "publish"

    # Withdrawn: gone from the list, the detail and the search.
    withdrawn = await center.post(f"/api/v1/letters/{letter_id}/disclosure/withdrawal", {"reason": "发现遗漏的个人信息"})
    assert withdrawn.status == 200 and withdrawn.body["state"] == "withdrawn"
    assert await public_ids(harness) == [] and await public_ids(harness, q="噪音") == []


async def test_public_search_never_matches_unpublished_text(harness: Harness, center) -> None:
    letter_id = await replied_letter(harness, center)
    draft = (await center.get(f"/api/v1/letters/{letter_id}/disclosure")).body
    await center.post(f"/api/v1/letters/{letter_id}/disclosure",
                      {k: draft[k] for k in ("title", "content", "reply")})
    assert await public_ids(harness, q="噪音") == [letter_id]  # published words are found
    # The brute force of the attack: candidates for the hidden digits, the real one among them.
    for middle in ("0000", "1234", "9999"):
        assert await public_ids(harness, q=f"138{middle}5678") == []
    assert await public_ids(harness, q=ID_CARD) == [] and await public_ids(harness, q="88886666") == []


async def test_a_letter_without_consent_cannot_be_published(harness: Harness, center) -> None:
    letter_id = await replied_letter(harness, center, public=False)
    draft = (await center.get(f"/api/v1/letters/{letter_id}/disclosure")).body
    refused = await center.post(f"/api/v1/letters/{letter_id}/disclosure",
                                {k: draft[k] for k in ("title", "content", "reply")})
    assert refused.status == 409 and refused.error_code == "letter_not_public"
    assert await public_ids(harness) == []


async def test_only_the_centre_publishes(harness: Harness, center) -> None:
    letter_id = await replied_letter(harness, center)
    housing = await harness.staff("housing")
    body = {"title": "小区夜间施工噪音扰民", "content": "内容", "reply": "答复"}
    assert (await housing.get(f"/api/v1/letters/{letter_id}/disclosure")).status == 403
    assert (await housing.post(f"/api/v1/letters/{letter_id}/disclosure", body)).status == 403
    assert await public_ids(harness) == []


async def test_the_draft_hides_what_a_person_can_be_found_by(harness: Harness, center) -> None:
    content = ("我叫王小明，住在江西路18号3号楼2单元501室，车牌鲁B12345的车每晚被施工车辆堵住。"
               "联系人：李四，邮箱wangxm@qq.com，微信号 wxm_1990，银行卡6222021234567890123。\n王小明")
    letter_id = await replied_letter(harness, center, content=content, writer_name="王小明")
    draft = (await center.get(f"/api/v1/letters/{letter_id}/disclosure")).body
    shown = f"{draft['title']} {draft['content']} {draft['reply']}"
    for secret in ("王小明", "18号3号楼2单元501室", "B12345", "李四", "wangxm@", "wxm_1990", "6222021234567890123",
                   "88886666", ID_CARD):
        assert secret not in shown, secret
    assert "江西路" in draft["content"] and "施工车辆" in draft["content"]  # still reads as a letter
