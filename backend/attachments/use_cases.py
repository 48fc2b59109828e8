"""Uploading a file, resolving upload ids into attachment records for a document, and the
thumbnails of image attachments."""

from __future__ import annotations

import asyncio
from typing import Any, Collection

from backend.attachments.errors import NoThumbnail
from backend.attachments.queries import is_image
from backend.attachments.thumbnails import THUMBNAIL_SPEC, THUMBNAIL_TYPE, make_thumbnail
from backend.auth.tokens import Principal
from backend.clock import now_stored
from backend.context import Context
from backend.errors import DuplicateKey, ValidationFailed
from backend.files.interfaces import FileRef, IncomingFile

UPLOADS = "uploads"
THUMBNAILS = "thumbnails"


def upload_out(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], "file_id": doc["file_id"], "filename": doc["filename"],
            "content_type": doc["content_type"], "size": doc["size"]}


async def do_upload_file(ctx: Context, incoming: IncomingFile, *, content_type: str, filename: str,
                         acting_user: Principal, upload_id: str) -> dict[str, Any]:
    """Store a streamed upload (content-addressed; limits and type checked by the file store,
    which takes the temporary file over) and record who uploaded it: only the uploader can
    attach it to something."""
    ref = await ctx.files.put_file(incoming, content_type=content_type, filename=filename)
    return await _record(ctx, ref, acting_user, upload_id)


async def do_upload_bytes(ctx: Context, data: bytes, *, content_type: str, filename: str, acting_user: Principal,
                          upload_id: str) -> dict[str, Any]:
    """A small file already in memory (demo data, generated documents), checked as an upload is."""
    ref = await ctx.files.put(data, content_type=content_type, filename=filename)
    return await _record(ctx, ref, acting_user, upload_id)


async def _record(ctx: Context, ref: FileRef, acting_user: Principal, upload_id: str) -> dict[str, Any]:
    doc = {"_id": upload_id, "owner": acting_user.user_id, "file_id": ref["id"], "filename": ref["filename"],
           "content_type": ref["content_type"], "size": ref["size"], "created_at": now_stored()}
    existing = await ctx.store.collection(UPLOADS).find_one({"_id": upload_id})
    if existing is None:
        await ctx.store.collection(UPLOADS).insert_one(doc)
    return upload_out(existing or doc)


def accepts(content_type: str, accept: Collection[str]) -> bool:
    """Whether ``content_type`` is among ``accept``: exact types, or ``image/*`` for a family."""
    family = content_type.split("/", 1)[0] + "/*"
    return content_type in accept or family in accept


async def resolve_attachments(ctx: Context, upload_ids: list[str], *, owner: Principal,
                              accept: Collection[str] | None = None) -> list[dict[str, Any]]:
    """The attachment records for ``upload_ids``, each uploaded by ``owner`` and, if ``accept``
    is given, of a type it accepts (``backend.attachments.use_cases.accepts``); otherwise a 400."""
    if not upload_ids:
        return []
    if len(set(upload_ids)) != len(upload_ids):
        raise ValidationFailed("附件重复", details={"fields": [{"field": "attachments", "message": "附件重复"}]})
    docs = await ctx.store.collection(UPLOADS).find({"_id": {"$in": upload_ids}, "owner": owner.user_id})
    found = {doc["_id"]: doc for doc in docs}
    missing = [upload_id for upload_id in upload_ids if upload_id not in found]
    if missing:
        raise ValidationFailed("附件不存在或不属于当前用户", details={"fields": [
            {"field": "attachments", "message": f"附件 {upload_id} 不存在"} for upload_id in missing]})
    refused = [found[i] for i in upload_ids if accept is not None and not accepts(found[i]["content_type"], accept)]
    if refused:
        raise ValidationFailed("附件类型不符合要求", details={"allowed": sorted(accept or ()), "fields": [
            {"field": "attachments", "message": f"不接受 {doc['content_type']} 类型的文件：{doc['filename']}"}
            for doc in refused]})
    return [upload_out(found[upload_id]) for upload_id in upload_ids]


async def get_or_make_thumbnail(ctx: Context, record: dict[str, Any]) -> dict[str, Any]:
    """The thumbnail of an image attachment, as a record of the same shape (``file_id``,
    ``filename``, ``content_type``, ``size``); ``NoThumbnail`` (415) for a file that is not an
    image or cannot be decoded.

    Made once per image and kept: the thumbnail is itself a content-addressed file, and the
    ``thumbnails`` collection maps the image's file id (with ``THUMBNAIL_SPEC``) to it, so the same
    photo held by several objects has one thumbnail. Decoding runs in the executor. Two first
    requests at the same moment may both make it: they store the same bytes under the same id,
    and the second record is refused as a duplicate, harmlessly.
    """
    if not is_image(record):
        raise NoThumbnail()
    key = f"{record['file_id']}:{THUMBNAIL_SPEC}"
    thumbnails = ctx.store.collection(THUMBNAILS)
    cached = await thumbnails.find_one({"_id": key})
    if cached is None:
        original = await ctx.files.get(record["file_id"])
        data = await asyncio.get_running_loop().run_in_executor(None, make_thumbnail, original)
        ref = await ctx.files.put(data, content_type=THUMBNAIL_TYPE, filename="thumbnail.jpg", derived=True)
        cached = {"_id": key, "source": record["file_id"], "file_id": ref["id"], "size": ref["size"],
                  "content_type": ref["content_type"], "created_at": now_stored()}
        try:
            await thumbnails.insert_one(cached)
        except DuplicateKey:
            pass  # made by a concurrent request: the same bytes, the same file
    stem = record["filename"].rsplit(".", 1)[0] if "." in record["filename"] else record["filename"]
    return {"file_id": cached["file_id"], "size": cached["size"], "content_type": cached["content_type"],
            "filename": f"{stem}-缩略图.jpg"}
