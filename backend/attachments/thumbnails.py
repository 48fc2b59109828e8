"""Thumbnails of image attachments for list views (缩略图): a small JPEG, the photo turned upright
as its EXIF orientation says, without any of its metadata (EXIF with GPS position, camera, time;
ICC profile; comments): nothing is copied from the original but its pixels.

``make_thumbnail`` is pure and CPU-bound: run it in an executor. Images are decoded only in the
formats uploads may take, and a JPEG is decoded at a reduced scale (Pillow's ``draft``), so a
12-megapixel photo costs a fraction of a full decode.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from backend.attachments.errors import NoThumbnail

THUMBNAIL_BOX = (320, 320)  # fits within, aspect ratio kept
THUMBNAIL_TYPE = "image/jpeg"
# Part of the cache key: change it with the box, format or quality, and new thumbnails are made.
THUMBNAIL_SPEC = "jpeg-320-q80"
MAX_PIXELS = 40_000_000  # larger images are refused rather than decoded (memory: 4 bytes a pixel)
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")


def make_thumbnail(data: bytes) -> bytes:
    """The JPEG thumbnail of an image; ``NoThumbnail`` when it cannot be decoded or is too large."""
    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as original:
            if original.width * original.height > MAX_PIXELS:
                raise NoThumbnail("图片尺寸过大，无法生成缩略图")
            original.draft("RGB", (THUMBNAIL_BOX[0] * 2, THUMBNAIL_BOX[1] * 2))
            image = ImageOps.exif_transpose(original)
            image.thumbnail(THUMBNAIL_BOX, Image.Resampling.LANCZOS)
            flat = _flattened(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise NoThumbnail("无法为该图片生成缩略图") from None
    out = io.BytesIO()
    flat.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()


def _flattened(image: Image.Image) -> Image.Image:
    """The pixels alone, on a new image (Pillow would otherwise carry some of the original's
    ``info``, such as a JPEG comment, into the thumbnail), in a mode JPEG takes: transparency
    laid on white."""
    if image.mode in ("RGB", "L"):
        clean = Image.new(image.mode, image.size)
        clean.paste(image)
        return clean
    rgba = image.convert("RGBA")
    clean = Image.new("RGB", rgba.size, "white")
    clean.paste(rgba, mask=rgba.getchannel("A"))
    return clean
