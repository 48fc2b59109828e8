"""A letter's files through HTTP: who may download which (the letter's own access rules, 404
otherwise), PDFs in letters, thumbnails in the list and detail views."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import backend.attachments.use_cases
from backend.rediskit.embedded import EmbeddedRedis
from backend.wechat.fake_server import FakeWeChat
from tests.attachments.images import GPS_IFD, photo_with_gps
from tests.conftest import ApiClient, Harness, demo_settings, running_app
from tests.mailbox.conftest import LETTER, PNG, dispatch, upload, write_letter

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def letter_with_files(harness: Harness, citizen: ApiClient) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    photo = await upload(citizen, photo_with_gps(), "image/jpeg", "现场照片.jpg")
    pdf = await upload(citizen, PDF, "application/pdf", "施工许可公示.pdf")
    letter = await write_letter(citizen, attachments=[photo["id"], pdf["id"]])
    return letter, photo, pdf


async def test_the_writer_and_the_departments_handling_it_download_the_letters_files(harness: Harness,
                                                                                     center: ApiClient) -> None:
    citizen = await harness.citizen("li_si")
    letter, photo, pdf = await letter_with_files(harness, citizen)
    letter_id = letter["id"]
    mine = f"/mp/v1/letters/{letter_id}/files"
    staff = f"/api/v1/letters/{letter_id}/files"

    # The detail and the list link each file; images have a thumbnail, the PDF none.
    assert [(a["filename"], a["content_type"], a["url"], a["thumbnail_url"]) for a in letter["attachments"]] == [
        ("现场照片.jpg", "image/jpeg", f"{mine}/{photo['file_id']}", f"{mine}/{photo['file_id']}?thumbnail=1"),
        ("施工许可公示.pdf", "application/pdf", f"{mine}/{pdf['file_id']}", None)]
    listed = (await citizen.get("/mp/v1/letters")).body["items"]
    assert listed[0]["thumbnail_url"] == f"{mine}/{photo['file_id']}?thumbnail=1"
    inbox = (await center.get("/api/v1/letters")).body["items"]
    assert inbox[0]["thumbnail_url"] == f"{staff}/{photo['file_id']}?thumbnail=1"
    detail = (await center.get(f"/api/v1/letters/{letter_id}")).body
    assert detail["attachments"][1]["url"] == f"{staff}/{pdf['file_id']}"

    got = await citizen.get(f"{mine}/{pdf['file_id']}")
    assert got.status == 200 and got.body == PDF and got.headers["Content-Type"] == "application/pdf"
    assert (await center.get(f"{staff}/{photo['file_id']}")).body == photo_with_gps()  # the original, EXIF and all

    # Dispatched to 市住建局 with 市城市管理局 co-handling: both see the files, 生态环境局 does not.
    await dispatch(center, letter_id, "qd-housing", co_departments=["qd-urban"])
    for name in ("housing", "urban_lead"):
        assert (await (await harness.staff(name)).get(f"{staff}/{pdf['file_id']}")).status == 200, name
    env = await harness.staff("env")
    for path in (f"{staff}/{pdf['file_id']}", f"{staff}/{photo['file_id']}?thumbnail=1"):
        refused = await env.get(path)
        assert refused.status == 404 and refused.error_code == "letter_not_found"
        assert refused.headers["Content-Type"].startswith("application/json")
    # Another citizen, and a file the letter does not hold: the letter's own 404.
    stranger = await harness.citizen("wang_wu")
    assert (await stranger.get(f"{mine}/{pdf['file_id']}")).error_code == "letter_not_found"
    elsewhere = await upload(citizen, PNG, "image/png", "别的.png")  # the writer's, but not on this letter
    for client, path in ((citizen, f"{mine}/{elsewhere['file_id']}"), (center, f"{staff}/{elsewhere['file_id']}"),
                         (citizen, f"{mine}/{'0' * 64}")):
        missing = await client.get(path)
        assert missing.status == 404 and missing.error_code == "letter_not_found"
    # Not a file id at all (a path, a short name): no such route.
    for bad in ("..%2F..%2Fetc%2Fpasswd", "abc", photo["file_id"].upper()):
        assert (await citizen.get(f"{mine}/{bad}")).error_code == "not_found"


async def test_supplements_and_the_approved_reply(harness: Harness, center: ApiClient) -> None:
    citizen = await harness.citizen("li_si")
    letter = await write_letter(citizen)
    letter_id = letter["id"]
    await dispatch(center, letter_id, "qd-housing")
    housing = await harness.staff("housing")
    assert (await housing.post(f"/api/v1/letters/{letter_id}/accept")).status == 200
    assert (await housing.post(f"/api/v1/letters/{letter_id}/info-request", {"question": "请提供施工许可照片"})).status == 200

    # The citizen's supplement takes a PDF as well as photos.
    scan = await upload(citizen, PDF, "application/pdf", "补充说明.pdf")
    supplied = await citizen.post(f"/mp/v1/letters/{letter_id}/info",
                                  {"text": "附上物业出具的情况说明", "attachments": [scan["id"]]})
    assert supplied.status == 200, supplied.body
    shown = supplied.body["supplements"][0]["attachments"][0]
    assert shown["url"] == f"/mp/v1/letters/{letter_id}/files/{scan['file_id']}" and shown["thumbnail_url"] is None
    assert (await citizen.get(shown["url"])).body == PDF
    staff_view = (await housing.get(f"/api/v1/letters/{letter_id}")).body
    assert (await housing.get(staff_view["supplements"][0]["attachments"][0]["url"])).body == PDF

    # The reply's document: the centre reviews it first, the citizen sees it once approved.
    notice = await upload(housing, PDF + b"% reply\n", "application/pdf", "处理决定书.pdf", path="/api/v1/files")
    replied = await housing.post(f"/api/v1/letters/{letter_id}/reply",
                                 {"text": "经核查，已责令施工单位停止夜间作业。", "attachments": [notice["id"]]})
    assert replied.status == 200, replied.body
    review_url = replied.body["reply"]["attachments"][0]["url"]
    assert (await center.get(review_url)).status == 200
    citizen_url = f"/mp/v1/letters/{letter_id}/files/{notice['file_id']}"
    hidden = await citizen.get(citizen_url)
    assert hidden.status == 404 and hidden.error_code == "letter_not_found"
    assert (await center.post(f"/api/v1/letters/{letter_id}/review", {"approve": True})).status == 200
    seen = (await citizen.get(f"/mp/v1/letters/{letter_id}")).body
    assert seen["reply"]["attachments"][0]["url"] == citizen_url
    got = await citizen.get(citizen_url)
    assert got.status == 200 and got.body == PDF + b"% reply\n"
    assert "filename*=UTF-8''%E5%A4%84%E7%90%86%E5%86%B3%E5%AE%9A%E4%B9%A6.pdf" in got.headers["Content-Disposition"]


async def test_thumbnails_are_small_upright_without_metadata_and_made_once(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = backend.attachments.use_cases.make_thumbnail

    def counted(data: bytes) -> bytes:
        calls.append(len(data))
        return original(data)

    monkeypatch.setattr(backend.attachments.use_cases, "make_thumbnail", counted)
    citizen = await harness.citizen("li_si")
    letter, photo, pdf = await letter_with_files(harness, citizen)
    thumbnail_url = letter["attachments"][0]["thumbnail_url"]

    first = await citizen.get(thumbnail_url)
    assert first.status == 200 and first.headers["Content-Type"] == "image/jpeg"
    thumbnail = Image.open(io.BytesIO(first.body))
    # 800×400 stored, EXIF orientation 6 (turned 90°): upright it is 400×800, so 160×320 within 320×320.
    assert thumbnail.format == "JPEG" and thumbnail.size == (160, 320)
    assert dict(thumbnail.getexif()) == {} and not thumbnail.getexif().get_ifd(GPS_IFD)
    assert "comment" not in thumbnail.info and "icc_profile" not in thumbnail.info and b"13812345678" not in first.body
    assert thumbnail.getpixel((150, 10))[2] > 150  # the blue mark, top-left before turning, is now top-right
    assert first.headers["ETag"] == f'"{hashlib.sha256(first.body).hexdigest()}"'
    assert "filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87-%E7%BC%A9%E7%95%A5%E5%9B%BE.jpg" in \
        first.headers["Content-Disposition"]

    # Kept: the second request, and the same photo on another letter, reuse it.
    again = await citizen.get(thumbnail_url)
    other = await write_letter(citizen, attachments=[(await upload(citizen, photo_with_gps(), "image/jpeg"))["id"]])
    third = await citizen.get(other["attachments"][0]["thumbnail_url"])
    assert again.body == third.body == first.body and len(calls) == 1
    assert await harness.ctx.store.collection("thumbnails").count({}) == 1
    # Revalidation: the same ETag gets 304, no body.
    unchanged = await citizen.get(thumbnail_url, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status == 304 and unchanged.body is None

    refused = await citizen.get(f"{letter['attachments'][1]['url']}?thumbnail=1")
    assert refused.status == 415 and refused.error_code == "thumbnail_unavailable"
    assert refused.body["error"]["message"] == "该文件不是图片，没有缩略图"
    broken = await write_letter(citizen, attachments=[(await upload(citizen, PNG, "image/png"))["id"]])  # does not decode
    undecodable = await citizen.get(broken["attachments"][0]["thumbnail_url"])
    assert undecodable.status == 415 and undecodable.body["error"]["message"] == "无法为该图片生成缩略图"
    assert len(calls) == 2 and await harness.ctx.store.collection("thumbnails").count({}) == 1  # nothing kept
    assert (await citizen.get(f"{letter['attachments'][1]['url']}?size=big")).status == 400


async def test_letters_take_images_and_pdfs_only(tmp_path: Path, demo_data_dir: Path, redis_server: EmbeddedRedis,
                                                 redis_client: Any, fake_wechat: FakeWeChat) -> None:
    """Uploads here also take plain text (an operator's setting): letters still refuse it."""
    settings = demo_settings(tmp_path, demo_data_dir, redis_server, fake_wechat,
                             upload_types=("image/png", "image/jpeg", "application/pdf", "text/plain"))
    async with running_app(settings, fake_wechat) as harness:
        citizen = await harness.citizen("li_si")
        text = await upload(citizen, "施工时间表".encode(), "text/plain", "时间表.txt")
        pdf = await upload(citizen, PDF, "application/pdf", "说明.pdf")
        photo = await upload(citizen, PNG, "image/png", "现场.png")
        refused = await citizen.post("/mp/v1/letters", {**LETTER, "attachments": [photo["id"], text["id"]]})
        assert refused.status == 400 and refused.error_code == "validation_failed"
        assert refused.body["error"]["details"]["fields"] == [
            {"field": "attachments", "message": "不接受 text/plain 类型的文件：时间表.txt"}]
        assert (await citizen.get("/mp/v1/letters")).body["items"] == []
        accepted = await write_letter(citizen, attachments=[photo["id"], pdf["id"]])
        assert [a["content_type"] for a in accepted["attachments"]] == ["image/png", "application/pdf"]
