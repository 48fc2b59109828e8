"""The file stores: embedded (data directory) and GridFS over mongomock.

The GridFS runs use PyMongo's synchronous GridFSBucket over mongomock behind async wrappers
(``backend/store/mongomock_shim.py``): they check our keying and limits, not a MongoDB server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest

from backend.config import Settings
from backend.errors import NotFound, PayloadTooLarge, ServiceError, ValidationFailed
from backend.files import FileStore, open_file_store
from backend.files.checks import clean_filename
from backend.files.embedded import EmbeddedFileStore
from backend.files.gridfs_store import GridFSFileStore
from backend.files.interfaces import READ_CHUNK_BYTES, IncomingFile
from backend.store.interface import DocumentStore
from backend.store.mongomock_shim import mongomock_store
from backend.store.sqlite import SQLiteStore

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x02" * 32
PDF = b"%PDF-1.7\n" + b"\x03" * 64


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, max_upload_bytes=4096, jwt_secret="x" * 32)


@pytest.fixture(params=["embedded", "gridfs-mongomock"])
async def files(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[FileStore]:
    async with file_store(request.param, settings) as opened:
        yield opened


@contextlib.asynccontextmanager
async def file_store(engine: str, settings: Settings) -> AsyncIterator[FileStore]:
    store: DocumentStore
    if engine == "embedded":
        store = SQLiteStore(settings.data_dir / "store.sqlite3")
    else:
        store = mongomock_store()
    await store.open()
    try:
        yield open_file_store(settings, store)
    finally:
        await store.close()


@pytest.mark.parametrize(("data", "content_type"), [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (PDF, "application/pdf"),
    (JPEG, "IMAGE/JPEG; charset=binary"),
])
async def test_put_get_roundtrip(files: FileStore, data: bytes, content_type: str) -> None:
    ref = await files.put(data, content_type=content_type, filename="C:\\Users\\张三\\现场照片.jpg")
    assert ref == {"id": hashlib.sha256(data).hexdigest(), "size": len(data),
                   "content_type": content_type.split(";")[0].lower(), "filename": "现场照片.jpg"}
    assert await files.exists(ref["id"])
    assert await files.get(ref["id"]) == data


def incoming(directory: Path, data: bytes) -> IncomingFile:
    """A streamed upload as the base handler leaves it: written, hashed, its head kept."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"upload-{hashlib.sha256(data).hexdigest()[:8]}"
    path.write_bytes(data)
    return IncomingFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest(), head=data[:16])


async def test_put_file_takes_the_temporary_file_over(files: FileStore, settings: Settings) -> None:
    upload = incoming(settings.data_dir / "incoming", JPEG)
    ref = await files.put_file(upload, content_type="image/jpeg", filename="现场.jpg")
    assert ref == {"id": hashlib.sha256(JPEG).hexdigest(), "size": len(JPEG), "content_type": "image/jpeg",
                   "filename": "现场.jpg"}
    assert await files.get(ref["id"]) == JPEG and not upload.path.exists()
    again = incoming(settings.data_dir / "incoming", JPEG)  # the same bytes: one copy, file removed
    assert (await files.put_file(again, content_type="image/jpeg", filename="b.jpg"))["id"] == ref["id"]
    assert not again.path.exists()
    for data, content_type, error in [(PDF, "image/png", ValidationFailed), (PNG + b"\x00" * 5000, "image/png",
                                                                             PayloadTooLarge)]:
        refused = incoming(settings.data_dir / "incoming", data)
        with pytest.raises(error):
            await files.put_file(refused, content_type=content_type, filename="x")
        assert not refused.path.exists()  # refused or not, the store took the file over


async def test_same_bytes_are_stored_once(files: FileStore) -> None:
    first, second = await asyncio.gather(files.put(PNG, content_type="image/png", filename="a.png"),
                                         files.put(PNG, content_type="image/png", filename="b.png"))
    assert first["id"] == second["id"] and (first["filename"], second["filename"]) == ("a.png", "b.png")
    again = await files.put(PNG, content_type="image/png", filename="c.png")
    assert again["id"] == first["id"]
    assert await files.get(first["id"]) == PNG


async def test_unknown_ids(files: FileStore) -> None:
    for file_id in ["0" * 64, "../../etc/passwd", "ABC", ""]:
        assert not await files.exists(file_id)
        with pytest.raises(NotFound):
            await files.get(file_id)


@pytest.mark.parametrize(("data", "content_type", "error", "message"), [
    (b"", "image/png", ValidationFailed, "文件内容为空"),
    (PNG + b"\x00" * 5000, "image/png", PayloadTooLarge, "文件大小不能超过 0.00390625 MB"),
    (b"GIF89a" + b"\x00" * 10, "image/gif", ValidationFailed, "不支持的文件类型"),
    (b"<html><script>", "text/html", ValidationFailed, "不支持的文件类型"),
    (PDF, "image/png", ValidationFailed, "文件内容与声明的类型不符"),
    (b"<svg onload=alert(1)>", "image/jpeg", ValidationFailed, "文件内容与声明的类型不符"),
    (b"RIFF\x10\x00\x00\x00AVI LIST", "image/webp", ValidationFailed, "文件内容与声明的类型不符"),
])
async def test_refused_uploads(files: FileStore, data: bytes, content_type: str,
                               error: type[ServiceError], message: str) -> None:
    with pytest.raises(error) as caught:
        await files.put(data, content_type=content_type, filename="x")
    assert caught.value.message == message


async def test_embedded_layout(settings: Settings) -> None:
    files = EmbeddedFileStore(settings.data_dir / "files", settings=settings)
    ref = await files.put(PDF, content_type="application/pdf", filename="回复.pdf")
    path = settings.data_dir / "files" / ref["id"][:2] / ref["id"][2:]
    assert path.read_bytes() == PDF
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


async def read(files: FileStore, file_id: str, start: int, end: int) -> list[bytes]:
    return [chunk async for chunk in files.read_range(file_id, start, end)]


@pytest.mark.parametrize("engine", ["embedded", "gridfs-mongomock"])
async def test_read_range_streams_in_chunks(engine: str, settings: Settings) -> None:
    big = b"%PDF-1.7\n" + os.urandom(2 * READ_CHUNK_BYTES + 1000)
    async with file_store(engine, settings.replace(max_upload_bytes=len(big))) as files:
        ref = await files.put(big, content_type="application/pdf", filename="大.pdf")
        whole = await read(files, ref["id"], 0, len(big))
        assert b"".join(whole) == big and [len(c) for c in whole] == [READ_CHUNK_BYTES] * 2 + [1009]
        assert b"".join(await read(files, ref["id"], READ_CHUNK_BYTES - 5, READ_CHUNK_BYTES + 5)) == \
            big[READ_CHUNK_BYTES - 5:READ_CHUNK_BYTES + 5]
        assert await read(files, ref["id"], len(big) - 1, len(big)) == [big[-1:]]
        async with aclosing(files.read_range(ref["id"], 0, len(big))) as chunks:  # stopped early: released
            assert await anext(chunks) == big[:READ_CHUNK_BYTES]
        for file_id in ("0" * 64, "../../etc/passwd"):
            with pytest.raises(NotFound):
                await read(files, file_id, 0, 10)


@pytest.mark.parametrize("engine", ["embedded", "gridfs-mongomock"])
async def test_derived_files_need_a_recognised_type(engine: str, settings: Settings) -> None:
    """A thumbnail is stored even where uploads do not take its type; content that is not what it
    says, or of a type we cannot recognise, is not."""
    async with file_store(engine, settings.replace(upload_types=("application/pdf",))) as files:
        with pytest.raises(ValidationFailed):
            await files.put(JPEG, content_type="image/jpeg", filename="t.jpg")
        ref = await files.put(JPEG, content_type="image/jpeg", filename="t.jpg", derived=True)
        assert await files.get(ref["id"]) == JPEG
        for data, content_type in ((PDF, "image/jpeg"), (b"plain text", "text/plain")):
            with pytest.raises(ValidationFailed):
                await files.put(data, content_type=content_type, filename="x", derived=True)


def test_factory_picks_gridfs_for_mongo(settings: Settings) -> None:
    assert isinstance(open_file_store(settings, mongomock_store()), GridFSFileStore)


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\temp\\报告.pdf", "报告.pdf"),
    ("..hidden", "hidden"),
    ("evil\u202egpj.exe", "evilgpj.exe"),  # right-to-left override removed
    ("a\x00b\nc.png", "abc.png"),
    ("", "file"),
    ("/", "file"),
    ("x" * 300 + ".jpeg", "x" * 115 + ".jpeg"),  # 120 characters, extension kept
], ids=range(8))
def test_clean_filename(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean
