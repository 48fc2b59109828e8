"""The file store contract."""

from __future__ import annotations

from typing import Protocol, TypedDict


class FileRef(TypedDict):
    """What the owning document keeps about an upload."""

    id: str  # sha256 of the content, lower-case hex
    size: int
    content_type: str  # as declared, checked against the content
    filename: str  # the uploader's name, without any path


class FileStore(Protocol):
    """Content-addressed: the id is the sha256 of the bytes, so storing the same bytes twice
    keeps one copy and the id proves the content.

    ``put`` refuses empty and oversized uploads (``PayloadTooLarge``, limit
    ``settings.max_upload_bytes``), types outside ``settings.upload_types`` and content that is
    not what its declared type says (``ValidationFailed``). ``get`` raises ``NotFound`` for an
    unknown or malformed id.
    """

    async def put(self, data: bytes, *, content_type: str, filename: str) -> FileRef: ...

    async def get(self, file_id: str) -> bytes: ...

    async def exists(self, file_id: str) -> bool: ...
