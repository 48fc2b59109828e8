"""The one download path (``backend/http/downloads.py``) through HTTP, on a letter's files: the
headers, byte ranges, revalidation, streaming from the store; and the contract in OpenAPI."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from backend.files.interfaces import READ_CHUNK_BYTES
from tests.conftest import ApiClient, Harness
from tests.mailbox.conftest import upload, write_letter

# Larger than several read chunks, and not a multiple of one.
BIG = b"%PDF-1.7\n" + os.urandom(3 * READ_CHUNK_BYTES + 12_345)


async def letter_file(harness: Harness, data: bytes, filename: str) -> tuple[ApiClient, str]:
    citizen = await harness.citizen("li_si")
    pdf = await upload(citizen, data, "application/pdf", filename)
    letter = await write_letter(citizen, attachments=[pdf["id"]])
    return citizen, letter["attachments"][0]["url"]


async def test_headers(harness: Harness) -> None:
    citizen, url = await letter_file(harness, BIG[:1000], '季度"报告"\x07;v2.pdf')
    resp = await citizen.get(url)
    assert resp.status == 200 and resp.body == BIG[:1000]
    file_id = hashlib.sha256(BIG[:1000]).hexdigest()
    assert {name: resp.headers[name] for name in (
        "Content-Type", "Content-Length", "Content-Disposition", "X-Content-Type-Options", "Cache-Control", "ETag",
        "Accept-Ranges")} == {
        "Content-Type": "application/pdf", "Content-Length": "1000",
        # Quotes and the control character gone from the ASCII fallback; the name itself percent-encoded.
        "Content-Disposition": "attachment; filename=\";v2.pdf\"; "
                               "filename*=UTF-8''%E5%AD%A3%E5%BA%A6%22%E6%8A%A5%E5%91%8A%22%3Bv2.pdf",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300", "ETag": f'"{file_id}"',
        "Accept-Ranges": "bytes"}
    assert resp.headers["Content-Security-Policy"] == "sandbox"
    chinese_only = await letter_file(harness, BIG[:500], "../../现场照片说明.pdf")
    disposition = (await citizen.get(chinese_only[1])).headers["Content-Disposition"]
    assert disposition == ("attachment; filename=\"file.pdf\"; "
                           "filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87%E8%AF%B4%E6%98%8E.pdf")


@pytest.mark.parametrize(("header", "status", "content_range", "part"), [
    ("bytes=0-9", 206, "bytes 0-9/{size}", slice(0, 10)),
    ("bytes=100-", 206, "bytes 100-{last}/{size}", slice(100, None)),
    ("bytes=-7", 206, "bytes {tail}-{last}/{size}", slice(-7, None)),
    # Across read chunks, and a range running past the end is cut at it.
    (f"bytes={READ_CHUNK_BYTES - 3}-{2 * READ_CHUNK_BYTES + 5}", 206,
     f"bytes {READ_CHUNK_BYTES - 3}-{2 * READ_CHUNK_BYTES + 5}/{{size}}",
     slice(READ_CHUNK_BYTES - 3, 2 * READ_CHUNK_BYTES + 6)),
    ("bytes=5-99999999999", 206, "bytes 5-{last}/{size}", slice(5, None)),
    ("bytes=-99999999999", 206, "bytes 0-{last}/{size}", slice(None)),
    # The whole file: several ranges, another unit, malformed ones.
    ("bytes=0-1,5-6", 200, None, slice(None)),
    ("items=0-9", 200, None, slice(None)),
    ("bytes=abc", 200, None, slice(None)),
    ("bytes=9-3", 200, None, slice(None)),
    ("bytes=0x10-", 200, None, slice(None)),
    ("bytes=", 200, None, slice(None)),
], ids=lambda value: str(value)[:24])
async def test_ranges(harness: Harness, header: str, status: int, content_range: str | None, part: slice) -> None:
    citizen, url = await letter_file(harness, BIG, "大文件.pdf")
    size = len(BIG)
    resp = await citizen.get(url, headers={"Range": header})
    assert resp.status == status, resp.body
    assert resp.body == BIG[part] and resp.headers["Content-Length"] == str(len(BIG[part]))
    expected = content_range.format(size=size, last=size - 1, tail=size - 7) if content_range else None
    assert resp.headers.get("Content-Range") == expected


async def test_unsatisfiable_ranges_and_if_range(harness: Harness) -> None:
    citizen, url = await letter_file(harness, BIG, "大文件.pdf")
    size = len(BIG)
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0", "bytes=" + "9" * 40 + "-"):
        resp = await citizen.get(url, headers={"Range": header})
        assert resp.status == 416 and resp.error_code == "range_not_satisfiable", header
        assert resp.headers["Content-Range"] == f"bytes */{size}"
        assert resp.body["error"]["details"] == {"size": size}
    etag = (await citizen.get(url, headers={"Range": "bytes=0-0"})).headers["ETag"]
    current = await citizen.get(url, headers={"Range": "bytes=0-3", "If-Range": etag})
    assert current.status == 206 and current.body == BIG[:4]
    stale = await citizen.get(url, headers={"Range": "bytes=0-3", "If-Range": '"another-version"'})
    assert stale.status == 200 and stale.body == BIG


async def test_revalidation_needs_access_too(harness: Harness) -> None:
    citizen, url = await letter_file(harness, BIG[:2000], "说明.pdf")
    etag = (await citizen.get(url)).headers["ETag"]
    unchanged = await citizen.get(url, headers={"If-None-Match": etag})
    assert unchanged.status == 304 and unchanged.body is None and unchanged.headers["ETag"] == etag
    assert (await citizen.get(url, headers={"If-None-Match": '"other"'})).status == 200
    stranger = await harness.citizen("wang_wu")
    refused = await stranger.get(url, headers={"If-None-Match": etag})
    assert refused.status == 404 and refused.error_code == "letter_not_found"


async def test_large_files_stream_from_the_store(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    citizen, url = await letter_file(harness, BIG, "大文件.pdf")

    async def whole_file(file_id: str) -> Any:
        raise AssertionError("a download read the whole file into memory")

    monkeypatch.setattr(harness.ctx.files, "get", whole_file)
    assert (await citizen.get(url)).body == BIG


async def test_openapi_documents_uploads_and_downloads(harness: Harness) -> None:
    paths = (await harness.client.get("/openapi.json")).body["paths"]
    upload_types = list(harness.ctx.settings.upload_types)
    for face in ("/mp/v1/files", "/api/v1/files"):
        assert list(paths[face]["post"]["requestBody"]["content"]) == upload_types
    download = paths["/mp/v1/letters/{letter_id}/files/{file_id}"]["get"]
    assert {"200", "206", "304", "404", "415", "416"} <= set(download["responses"])
    for status in ("200", "206"):
        content = download["responses"][status]["content"]
        assert set(content) == {*upload_types, "application/octet-stream"}
        assert all(entry["schema"] == {"type": "string", "format": "binary"} for entry in content.values())
    assert "Content-Range" in download["responses"]["206"]["headers"]
    assert "Content-Range" in download["responses"]["416"]["headers"]
    names = {(p["in"], p["name"]) for p in download["parameters"]}
    assert {("path", "letter_id"), ("path", "file_id"), ("query", "thumbnail"), ("header", "Range")} <= names
    for path in ("/api/v1/letters/{letter_id}/files/{file_id}", "/api/v1/office/documents/{document_id}/files/{file_id}",
                 "/api/v1/office/incoming/{incoming_id}/files/{file_id}", "/api/v1/office/tasks/{task_id}/files/{file_id}"):
        assert "206" in paths[path]["get"]["responses"], path
