"""Request bodies taken in as they arrive (the base handler is ``stream_request_body``).

Nothing of a body is read before ``prepare`` has authenticated the caller and checked the
declared ``Content-Length``: a refused request is answered at once and its connection closed
with the body unread, so a stranger cannot make the server hold megabytes. A body still
arriving is counted chunk by chunk (``Transfer-Encoding: chunked`` declares no length), JSON
in memory up to its limit, an upload straight into a temporary file in the data directory,
hashed on the way, so that an upload never sits in memory whole.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from backend.datadir import private_dir
from backend.errors import PayloadTooLarge
from backend.files.checks import HEAD_BYTES
from backend.files.interfaces import IncomingFile


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(details={"limit_bytes": limit})


class JsonSink:
    """A JSON body collected in memory, refused past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buffer = bytearray()

    async def write(self, chunk: bytes) -> None:
        if len(self._buffer) + len(chunk) > self._limit:
            raise too_large(self._limit)
        self._buffer += chunk

    def close(self) -> bytes:
        return bytes(self._buffer)


class FileSink:
    """An upload written to a temporary file (mode 0600) as it arrives. Disk work runs in the
    default executor; Tornado waits for each write before reading on (back-pressure)."""

    def __init__(self, directory: Path, limit: int) -> None:
        self._directory = directory
        self._limit = limit
        self._size = 0
        self._head = b""
        self._hash = hashlib.sha256()
        self._file: BinaryIO | None = None
        self.path: Path | None = None

    async def write(self, chunk: bytes) -> None:
        if self._size + len(chunk) > self._limit:
            raise too_large(self._limit)
        self._size += len(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[:HEAD_BYTES - len(self._head)]
        await asyncio.get_running_loop().run_in_executor(None, self._write, chunk)

    def _open(self) -> BinaryIO:
        if self._file is None:
            private_dir(self._directory)
            fd, name = tempfile.mkstemp(dir=self._directory, prefix="upload-")
            self.path = Path(name)
            self._file = os.fdopen(fd, "wb")
        return self._file

    def _write(self, chunk: bytes) -> None:
        self._hash.update(chunk)  # hashlib releases the GIL for large chunks
        self._open().write(chunk)

    async def finish(self) -> IncomingFile:
        """The complete upload, its temporary file closed (created even when empty)."""
        await asyncio.get_running_loop().run_in_executor(None, lambda: (self._open(), self._close()))
        assert self.path is not None
        return IncomingFile(path=self.path, size=self._size, sha256=self._hash.hexdigest(), head=self._head)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Remove the temporary file, if the file store did not take it over. Synchronous (called
        from ``on_finish``): closing and unlinking are single quick system calls."""
        self._close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None
