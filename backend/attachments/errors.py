"""Attachment errors (codes the mini-program and staff apps branch on)."""

from backend.errors import UnsupportedMediaType


class NoThumbnail(UnsupportedMediaType):
    """``?thumbnail=1`` on a file that is not an image, or an image that cannot be decoded."""

    code = "thumbnail_unavailable"
    message = "该文件不是图片，没有缩略图"
