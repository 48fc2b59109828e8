"""Real images for the download tests, made with Pillow: a phone photo with its EXIF (orientation,
GPS position, camera) and a JPEG comment, as a citizen's camera would send it."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
ROTATED_90 = 6  # the camera was held upright: show the stored landscape pixels turned 90° clockwise


def photo_with_gps(width: int = 800, height: int = 400, *, orientation: int = ROTATED_90) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    for x in range(width // 2):  # a mark in the top-left quarter, so the orientation can be seen
        for y in range(height // 4):
            image.putpixel((x, y), (20, 20, 220))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "DemoPhone"
    exif[GPS_IFD] = {1: "N", 2: (36.0, 4.0, 12.5), 3: "E", 4: (120.0, 22.0, 48.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment="李四 13812345678".encode())
    return out.getvalue()


def png(width: int = 64, height: int = 48) -> bytes:
    """A valid PNG with transparency (the mailbox kit's 1×1 PNG does not decode)."""
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 128, 0, 128)).save(out, "PNG")
    return out.getvalue()
