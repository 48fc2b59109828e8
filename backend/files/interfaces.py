"""The file store contract."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Protocol, TypedDict

READ_CHUNK_BYTES = 256 * 1024  # what ``read_range`` yields at a time (GridFS's own chunk is 255 KiB)


class FileRef(TypedDict):
    """What the owning document keeps about an upload."""

    id: str  # sha256 of the content, lower-case hex
    size: int
    content_type: str  # as declared, checked against the content
    filename: str  # the uploader's name, without any path


@dataclass(frozen=True)
class IncomingFile:
    """An upload already written to a temporary file (streamed from the request, hashed on the
    way), so that its bytes never have to be held in memory."""

    path: Path
    size: int
    sha256: str  # lower-case hex of the whole content
    head: bytes  # the first bytes, enough to recognise the type by its magic bytes


class FileStore(Protocol):
    """Content-addressed: the id is the sha256 of the bytes, so storing the same bytes twice
    keeps one copy and the id proves the content.

    ``put`` and ``put_file`` refuse empty and oversized uploads (``PayloadTooLarge``, limit
    ``settings.max_upload_bytes``), types outside ``settings.upload_types`` and content that is
    not what its declared type says (``ValidationFailed``). ``put(..., derived=True)`` stores a
    file the server made from a stored one (a thumbnail): its type need not be an upload type but
    must be one recognised by its magic bytes. ``put_file`` takes the temporary file over: it is
    moved into the store or removed, whatever the outcome. ``get`` raises ``NotFound`` for an
    unknown or malformed id.

    ``read_range(file_id, start, end)`` streams bytes ``start`` to ``end - 1`` in chunks of at most
    ``READ_CHUNK_BYTES``, never the whole file in memory; the first step raises ``NotFound`` for an
    unknown or malformed id, before any byte. Close it (``contextlib.aclosing``) when stopping
    early, so that the file is released at once.
    """

    async def put(self, data: bytes, *, content_type: str, filename: str, derived: bool = False) -> FileRef: ...

    async def put_file(self, incoming: IncomingFile, *, content_type: str, filename: str) -> FileRef: ...

    async def get(self, file_id: str) -> bytes: ...

    def read_range(self, file_id: str, start: int, end: int) -> AsyncIterator[bytes]: ...

    async def exists(self, file_id: str) -> bool: ...
