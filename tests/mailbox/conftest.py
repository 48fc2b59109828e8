"""Mailbox test helpers: a letter written by a citizen, and the events it produced."""

from __future__ import annotations

from typing import Any

from tests.conftest import ApiClient, Harness

LETTER = {
    "type": "complain", "title": "小区夜间施工噪音扰民",
    "content": "我家附近工地每天夜间施工到凌晨两点，噪音严重影响休息，联系电话13812345678，请有关部门尽快处理。",
    "addressee": {"kind": "mayor"}, "public": True, "contact_phone": "13812345678", "writer_name": "张三",
}

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


async def upload(client: ApiClient, data: bytes = PNG, content_type: str = "image/png",
                 filename: str = "现场照片.png", *, path: str = "/mp/v1/files") -> dict[str, Any]:
    """An upload by ``client`` (a citizen's; staff upload at ``/api/v1/files``)."""
    resp = await client.post(path, raw=data, headers={"Content-Type": content_type}, params={"filename": filename})
    assert resp.status == 201, resp.body
    return resp.body


async def write_letter(citizen: ApiClient, **changes: Any) -> dict[str, Any]:
    resp = await citizen.post("/mp/v1/letters", {**LETTER, **changes})
    assert resp.status == 201, resp.body
    return resp.body


async def dispatch(center: ApiClient, letter_id: str, department: str, **extra: Any) -> dict[str, Any]:
    resp = await center.post(f"/api/v1/letters/{letter_id}/dispatch", {"lead_department": department, **extra})
    assert resp.status == 200, resp.body
    return resp.body


async def published_events(harness: Harness) -> list[dict[str, Any]]:
    """Every event relayed to the stream so far, each once (relaying first, as the background
    relay would; delivery is at least once, so events are told apart by id)."""
    return await harness.settle()
