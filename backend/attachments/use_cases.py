"""Uploading a file, and resolving upload ids into attachment records for a document."""

from __future__ import annotations

from typing import Any

from backend.auth.tokens import Principal
from backend.clock import now_stored
from backend.context import Context
from backend.errors import ValidationFailed
from backend.files.interfaces import FileRef, IncomingFile

UPLOADS = "uploads"


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


async def resolve_attachments(ctx: Context, upload_ids: list[str], *, owner: Principal,
                              images_only: bool = False) -> list[dict[str, Any]]:
    """The attachment records for ``upload_ids``, each uploaded by ``owner``; otherwise a 400."""
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
    if images_only and any(not found[i]["content_type"].startswith("image/") for i in upload_ids):
        raise ValidationFailed("只能上传图片", details={"fields": [{"field": "attachments", "message": "只能上传图片"}]})
    return [upload_out(found[upload_id]) for upload_id in upload_ids]
