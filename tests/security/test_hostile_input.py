"""Hostile input through HTTP: each is refused with the documented error and writes nothing."""

from __future__ import annotations

import logging

import aiohttp

from tests.conftest import Harness
from tests.mailbox.conftest import LETTER, PNG


async def letters_count(harness: Harness) -> int:
    return await harness.ctx.store.collection("letters").count({})


async def test_deeply_nested_and_oversized_json(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    nested = b'{"type": "complain", "title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    resp = await citizen.post("/mp/v1/letters", raw=nested)
    assert resp.status in (400, 413) and resp.body["error"]["code"] in ("invalid_json", "payload_too_large",
                                                                        "validation_failed")
    huge = await citizen.post("/mp/v1/letters", {**LETTER, "content": "字" * 400_000})
    assert huge.status == 413 and huge.error_code == "payload_too_large"
    assert await letters_count(harness) == 0


async def test_operator_injection_is_a_plain_value(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    resp = await citizen.post("/mp/v1/letters", {**LETTER, "title": {"$gt": ""}})
    assert resp.status == 400 and resp.body["error"]["details"]["fields"][0]["field"] == "title"
    center = await harness.staff("center")
    for params in ({"state[$ne]": "closed"}, {"state": '{"$ne": "closed"}'}, {"department": '{"$gt": ""}'}):
        resp = await center.get("/api/v1/letters", params=params)
        assert resp.status == 400, (params, resp.body)
    public = await harness.client.get("/mp/v1/public/letters", params={"q": '{"$where": "1"}'})
    assert public.status == 200 and public.body["items"] == []
    assert await letters_count(harness) == 0


async def test_invalid_utf8_everywhere(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    assert (await citizen.post("/mp/v1/letters", raw=b'{"title": "\xff\xfe"}')).status == 400
    resp = await harness.client.request("GET", "/mp/v1/public/letters?q=%FF%FE")
    assert resp.status == 400
    assert await letters_count(harness) == 0


async def test_huge_headers_refused(harness: Harness) -> None:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(harness.client.base + "/healthz", headers={"X-Big": "a" * 200_000}) as resp:
                assert resp.status in (400, 431)
        except aiohttp.ClientError:
            pass  # the server closed the connection: also a refusal
    assert (await harness.client.get("/healthz")).status == 200  # and it keeps serving


async def test_path_traversal_in_file_names(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    for name in ("../../../etc/passwd.png", "..\\..\\windows\\system32.png", "/abs/path.png", "a\x00b.png"):
        resp = await citizen.post("/mp/v1/files", raw=PNG, headers={"Content-Type": "image/png"},
                                  params={"filename": name})
        assert resp.status == 201, resp.body
        assert "/" not in resp.body["filename"] and "\\" not in resp.body["filename"]
        assert ".." not in resp.body["filename"] and "\x00" not in resp.body["filename"]
    files_dir = harness.ctx.settings.data_dir / "files"
    assert all(path.resolve().is_relative_to(files_dir.resolve()) for path in files_dir.rglob("*"))
    lie = await citizen.post("/mp/v1/files", raw=b"MZ\x90\x00 not an image", headers={"Content-Type": "image/png"})
    assert lie.status == 400


async def test_personal_data_never_logged(harness: Harness, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("yzt.access").setLevel(logging.INFO)
    session_key = "c2Vzc2lvbi1rZXktc2VjcmV0"
    code = harness.wechat.register_login(openid="openid-pii", unionid="unionid-pii", session_key=session_key)
    token = (await harness.client.post("/mp/v1/auth/login", {"code": code})).body["access_token"]
    citizen = harness.client.as_(token)
    phone_code = harness.wechat.register_phone("13955556666", openid="openid-pii")
    await citizen.post("/mp/v1/me/phone", {"code": phone_code})
    letter = await citizen.post("/mp/v1/letters", {
        **LETTER, "contact_phone": "13812345678",
        "content": "我的身份证号是370202199001011234，电话13812345678，请尽快联系我处理。"})
    assert letter.status == 201
    await citizen.post("/mp/v1/letters", {**LETTER, "contact_phone": "12"})  # a failing one is logged too
    logged = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    for secret in ("13812345678", "370202199001011234", "13955556666", session_key, token):
        assert secret not in logged, f"{secret} leaked into the logs"
    assert "/mp/v1/letters" in logged  # the access log did record the requests
    me = await citizen.get("/mp/v1/me")
    assert "13955556666" not in str(me.body) and "session_key" not in str(me.body)
