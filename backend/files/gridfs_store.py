"""Files in MongoDB's GridFS, next to the documents (``AsyncGridFSBucket``).

Keyed by content: the GridFS filename is the sha256, so lookups use the bucket's own
(filename, uploadDate) index. GridFS writes the chunks first and the files document last, so
a file is visible only once complete; two concurrent puts of the same new bytes may both store
a copy, and reads take the newest — harmless, and simpler than a lock.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

from gridfs.errors import NoFile

from backend.config import Settings
from backend.errors import NotFound
from backend.files.checks import check_incoming, check_upload, is_file_id
from backend.files.interfaces import READ_CHUNK_BYTES, FileRef, IncomingFile


class GridFSFileStore:
    def __init__(self, bucket: Any, files: Any, *, settings: Settings) -> None:
        """``bucket`` is an ``AsyncGridFSBucket``; ``files`` its ``<bucket>.files`` collection."""
        self._bucket = bucket
        self._files = files
        self._settings = settings

    async def put(self, data: bytes, *, content_type: str, filename: str, derived: bool = False) -> FileRef:
        ref = await asyncio.get_running_loop().run_in_executor(
            None, lambda: check_upload(data, content_type=content_type, filename=filename, settings=self._settings,
                                       derived=derived))
        if not await self.exists(ref["id"]):
            await self._bucket.upload_from_stream(
                ref["id"], data, metadata={"content_type": ref["content_type"], "filename": ref["filename"]})
        return ref

    async def put_file(self, incoming: IncomingFile, *, content_type: str, filename: str) -> FileRef:
        try:
            ref = check_incoming(incoming, content_type=content_type, filename=filename, settings=self._settings)
            if not await self.exists(ref["id"]):
                # GridFS reads the file one chunk (255 KiB) at a time: from the page cache, since it
                # was just written, so these reads do not stall the loop the way a network read would.
                with open(incoming.path, "rb") as source:
                    await self._bucket.upload_from_stream(
                        ref["id"], source, metadata={"content_type": ref["content_type"], "filename": ref["filename"]})
            return ref
        finally:
            incoming.path.unlink(missing_ok=True)

    async def _open(self, file_id: str) -> Any:
        """The newest version's download stream (NotFound for an id that is no file)."""
        if not is_file_id(file_id):
            raise NotFound("文件不存在")
        try:
            return await self._bucket.open_download_stream_by_name(file_id)
        except NoFile:
            raise NotFound("文件不存在") from None

    async def get(self, file_id: str) -> bytes:
        return await (await self._open(file_id)).read()

    async def read_range(self, file_id: str, start: int, end: int) -> AsyncIterator[bytes]:
        """The download stream seeks to ``start`` (GridFS then fetches only the chunks from there)."""
        stream = await self._open(file_id)
        try:
            if start:
                await stream.seek(start)
            remaining = end - start
            while remaining > 0:
                chunk = await stream.read(min(READ_CHUNK_BYTES, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk
        finally:
            await stream.close()

    async def exists(self, file_id: str) -> bool:
        if not is_file_id(file_id):
            return False
        return await self._files.find_one({"filename": file_id}, projection={"_id": 1}) is not None
