"""Upload rules shared by both file stores: size, type, content sniffing, file names."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from backend.config import Settings
from backend.errors import PayloadTooLarge, ValidationFailed
from backend.files.interfaces import FileRef, IncomingFile

_FILE_ID = re.compile(r"[0-9a-f]{64}\Z")
_MAX_FILENAME = 120
HEAD_BYTES = 16  # enough for every signature below

# Magic bytes of the types we can recognise; a declared type among these must match.
_SIGNATURES = {
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda data: data[:4] == b"RIFF" and data[8:12] == b"WEBP",
    "application/pdf": lambda data: data.startswith(b"%PDF-"),
}


def is_file_id(file_id: str) -> bool:
    return bool(_FILE_ID.match(file_id))


def clean_filename(filename: str) -> str:
    """The last path part, printable characters only (no control or bidi-override tricks),
    no leading dots, at most 120 characters keeping the extension."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", "".join(ch for ch in name if ch.isprintable()))
    name = name.strip().lstrip(".").strip()
    if len(name) > _MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:16] if dot and stem else ""
        name = name[:_MAX_FILENAME - len(ext) - 1] + "." + ext if ext else name[:_MAX_FILENAME]
    return name or "file"


def _checked_type(head: bytes, size: int, *, content_type: str, settings: Settings, derived: bool = False) -> str:
    """The declared type, once size, type and magic bytes are acceptable. A ``derived`` file
    (made by the server, e.g. a thumbnail) may be of any type recognised by its magic bytes."""
    declared = content_type.split(";", 1)[0].strip().lower()
    if size == 0:
        raise ValidationFailed("文件内容为空", details={"field": "file"})
    if size > settings.max_upload_bytes:
        limit_mb = settings.max_upload_bytes / (1024 * 1024)
        raise PayloadTooLarge(f"文件大小不能超过 {limit_mb:g} MB",
                              details={"field": "file", "max_bytes": settings.max_upload_bytes})
    if declared not in (_SIGNATURES if derived else settings.upload_types):
        raise ValidationFailed("不支持的文件类型", details={"field": "file", "content_type": declared,
                                                     "allowed": list(settings.upload_types)})
    signature = _SIGNATURES.get(declared)
    if signature is not None and not signature(head):
        raise ValidationFailed("文件内容与声明的类型不符", details={"field": "file", "content_type": declared})
    return declared


def check_upload(data: bytes, *, content_type: str, filename: str, settings: Settings,
                 derived: bool = False) -> FileRef:
    """Validate an upload held in memory and describe it. CPU-bound for large files (sha256):
    run it in an executor."""
    declared = _checked_type(data[:HEAD_BYTES], len(data), content_type=content_type, settings=settings,
                             derived=derived)
    return FileRef(id=hashlib.sha256(data).hexdigest(), size=len(data), content_type=declared,
                   filename=clean_filename(filename))


def check_incoming(incoming: IncomingFile, *, content_type: str, filename: str, settings: Settings) -> FileRef:
    """Validate a streamed upload and describe it (size and hash were taken while it arrived)."""
    declared = _checked_type(incoming.head, incoming.size, content_type=content_type, settings=settings)
    return FileRef(id=incoming.sha256, size=incoming.size, content_type=declared, filename=clean_filename(filename))
