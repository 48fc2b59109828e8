"""Uploading one file: the raw body (streamed to a temporary file by the base handler), its
declared Content-Type, ``?filename=``."""

from __future__ import annotations

from typing import Any

from tornado.httputil import HTTPServerRequest

from backend.attachments.schemas import UploadOut
from backend.attachments.use_cases import do_upload_file
from backend.auth.permissions import Permission
from backend.errors import ValidationFailed
from backend.files.interfaces import IncomingFile
from backend.http.endpoint import endpoint


def upload_from_request(request: HTTPServerRequest, incoming: IncomingFile | None) -> tuple[IncomingFile, str, str]:
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if incoming is None or incoming.size == 0:
        raise ValidationFailed("上传的文件为空", details={"fields": [{"field": "body", "message": "文件为空"}]})
    raw_name = request.query_arguments.get("filename", [b"upload"])[-1]
    try:
        filename = raw_name.decode("utf-8")[:100] or "upload"
    except UnicodeDecodeError:
        raise ValidationFailed("文件名编码无效") from None
    return incoming, content_type, filename


class UploadEndpoint:
    """``POST`` of one file, for either face: ``class UploadHandler(UploadEndpoint, StaffHandler)``."""

    @endpoint(permission=Permission.AUTHENTICATED, summary="上传附件（请求体为文件，Content-Type 为其类型）",
              upload=True, idempotent=True, response=UploadOut, status=201, errors=(413, 503), tags=("files",))
    async def post(self: Any) -> dict[str, Any]:
        incoming, content_type, filename = upload_from_request(self.request, self.upload)
        return await do_upload_file(self.ctx, incoming, content_type=content_type, filename=filename,
                                    acting_user=self.principal, upload_id=self.new_object_id())
