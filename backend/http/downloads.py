"""Serving a stored file: the one download path of both faces (``@endpoint(download=True)``).

A download handler finds the attachment record through the object that holds it (the module's
``access_*`` and its ``…_file`` query: the object's own 404 for a stranger or a file it does not
hold) and returns it; the base handler then calls ``send_file``, which answers:

- ``Content-Type``: the stored type (``application/octet-stream`` for a record without one);
  ``X-Content-Type-Options: nosniff``; ``Content-Disposition: attachment`` with an ASCII
  ``filename="…"`` and the real (Chinese) name in ``filename*=UTF-8''…`` (RFC 6266 / 5987),
  never a path; ``Content-Security-Policy: sandbox`` in case a browser shows it anyway.
- ``ETag``: the file id (the sha256 of the bytes), so ``If-None-Match`` gets 304 — after the
  access check, like everything here. ``Cache-Control: private, max-age=300``: the bytes of an
  id never change, but who may read them can (a letter dispatched elsewhere, a delegation ending),
  so no shared cache keeps them and a client's own copy is reused for five minutes at most, then
  revalidated (a 304 costs one access check and no bytes).
- ``Accept-Ranges: bytes``; one range (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) gets 206 with
  ``Content-Range``; a range starting beyond the end gets 416 with ``Content-Range: bytes */size``
  and the JSON error; several ranges, another unit, a malformed header or an ``If-Range`` that is
  not the ETag get the whole file (200), as RFC 9110 allows.
- ``?thumbnail=1`` on an image: its thumbnail (JPEG within 320×320, upright, no metadata), made
  once and kept (``backend/attachments/use_cases.py``), served the same way; 415
  ``thumbnail_unavailable`` for anything else.

The bytes are streamed from the file store in chunks (``FileStore.read_range``), each written and
flushed before the next is read, so a slow client holds one chunk in memory, not the file.
"""

from __future__ import annotations

import unicodedata
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tornado.iostream import StreamClosedError

from backend.attachments.use_cases import get_or_make_thumbnail
from backend.errors import RangeNotSatisfiable
from backend.files.checks import clean_filename
from backend.schemas import QueryModel

if TYPE_CHECKING:
    from backend.http.base import JsonHandler

CACHE_CONTROL = "private, max-age=300"
FALLBACK_TYPE = "application/octet-stream"
_MAX_DIGITS = 18  # beyond any file size; longer numbers are treated as "past the end"
_RFC5987_SAFE = "!#$&+^`|"  # attr-char besides ALPHA / DIGIT / "-._~" (which quote keeps)


class DownloadQuery(QueryModel):
    thumbnail: bool = False  # images only: the small JPEG for list views


def content_disposition(filename: str) -> str:
    """``attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>``: the last path part
    only, printable characters only; the ASCII fallback without quotes, backslashes or anything
    outside printable ASCII (a name with no ASCII stem falls back to ``file`` plus its extension)."""
    name = clean_filename(filename)
    ascii_name = "".join(ch for ch in unicodedata.normalize("NFKD", name) if " " <= ch <= "~" and ch not in '"\\')
    stem, dot, ext = ascii_name.rpartition(".")
    stem, ext = (stem, ext.strip()) if dot else (ascii_name, "")
    stem = stem.strip(" .") or "file"
    ascii_name = f"{stem}.{ext}" if ext else stem
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe=_RFC5987_SAFE)}"


def _number(text: str) -> int | None:
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text) if len(text) <= _MAX_DIGITS else 10 ** _MAX_DIGITS


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)``, end exclusive, of a single ``bytes`` range over a file of ``size`` bytes;
    None for the whole file (no header, another unit, several ranges, a malformed one);
    ``RangeNotSatisfiable`` for a range that starts at or beyond the end (or ``bytes=-0``)."""
    if not header:
        return None
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.partition("-")
    if not dash:
        return None
    first, last = _number(first_text), _number(last_text)
    if not first_text.strip():  # bytes=-n: the last n bytes
        if last is None:
            return None
        if last == 0:
            raise RangeNotSatisfiable(size)
        return max(size - last, 0), size
    if first is None or (last_text.strip() and (last is None or last < first)):
        return None
    if first >= size:
        raise RangeNotSatisfiable(size)
    return first, size if last is None else min(last + 1, size)


async def send_file(handler: "JsonHandler", record: dict[str, Any]) -> None:
    """Answer the request with the file of ``record`` (an attachment record the caller may see),
    or its thumbnail when the query asks for it."""
    query = handler.query
    if isinstance(query, DownloadQuery) and query.thumbnail:
        record = await get_or_make_thumbnail(handler.ctx, record)
    file_id, size = record["file_id"], int(record["size"])
    handler.set_header("Content-Type", record.get("content_type") or FALLBACK_TYPE)
    handler.set_header("Content-Disposition", content_disposition(record.get("filename") or "file"))
    handler.set_header("Content-Security-Policy", "sandbox")
    handler.set_header("ETag", f'"{file_id}"')
    handler.set_header("Cache-Control", CACHE_CONTROL)
    handler.set_header("Vary", "Authorization")
    handler.set_header("Accept-Ranges", "bytes")
    if handler.check_etag_header():
        handler.set_status(304)
        handler.finish()
        return
    if_range = handler.request.headers.get("If-Range")
    byte_range = None
    if if_range is None or if_range.strip() == f'"{file_id}"':
        byte_range = requested_range(handler.request.headers.get("Range"), size)
    start, end = byte_range or (0, size)
    async with aclosing(handler.ctx.files.read_range(file_id, start, end)) as chunks:
        first = await anext(chunks, b"")  # NotFound (a record whose file is gone) before any header is sent
        if byte_range is not None:
            handler.set_status(206)
            handler.set_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        handler.set_header("Content-Length", str(end - start))
        handler.write(first)
        try:
            await handler.flush()
            async for chunk in chunks:
                handler.write(chunk)
                await handler.flush()
        except StreamClosedError:
            return  # the client went away: nothing more to send, the file is closed on the way out
    handler.finish()
