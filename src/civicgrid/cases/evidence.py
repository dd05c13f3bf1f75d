"""Evidence photos: what an upload really is (from its bytes, never its name or the browser's word),
within the size limit, stored under a random name with the time of upload and, when given, where.

Accepted: JPEG, PNG and WebP with a readable header giving positive dimensions."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from civicgrid.core.errors import ApplicationError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_DIMENSION = 30_000
MAX_PHOTOS = 9  # per upload form, as a phone's picker allows


def max_bytes() -> int:
    """The largest photo accepted, in bytes (setting CIVICGRID_EVIDENCE_MAX_BYTES)."""
    return int(getattr(settings, "CIVICGRID_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES))


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if length < 2:
            return None
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if position + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def sniff_image(data: bytes) -> ImageInfo:
    """The image type and size read from the bytes; ApplicationError when it is no JPEG/PNG/WebP."""
    size: tuple[int, int] | None = None
    content_type = ""
    if data.startswith(b"\xff\xd8\xff"):
        content_type, size = "image/jpeg", _jpeg_size(data)
    elif data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        content_type, size = "image/png", struct.unpack(">II", data[16:24])
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        content_type, size = "image/webp", _webp_size(data)
    if not content_type:
        raise ApplicationError(_("上传的文件不是图片，仅支持 JPEG、PNG、WebP 照片"))
    if size is None or not (0 < size[0] <= MAX_DIMENSION and 0 < size[1] <= MAX_DIMENSION):
        raise ApplicationError(_("图片已损坏或尺寸无法识别"))
    return ImageInfo(content_type, size[0], size[1])


def read_upload(upload: Any) -> tuple[bytes, ImageInfo]:
    """The bytes of an uploaded photo, checked for size (before reading it all) and type."""
    limit = max_bytes()
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise ApplicationError(_("照片超过大小上限 %(limit)s MB") % {"limit": limit // (1024 * 1024)})
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ApplicationError(_("照片超过大小上限 %(limit)s MB") % {"limit": limit // (1024 * 1024)})
    if not data:
        raise ApplicationError(_("照片文件是空的"))
    return data, sniff_image(data)


def check_uploads(uploads: Iterable[Any]) -> list[tuple[bytes, ImageInfo]]:
    """Read and check every photo of a form before anything is written."""
    photos = [upload for upload in uploads if upload is not None]
    if len(photos) > MAX_PHOTOS:
        raise ApplicationError(_("一次最多上传 %(count)s 张照片") % {"count": MAX_PHOTOS})
    return [read_upload(upload) for upload in photos]


def check_coordinates(lon: float | None, lat: float | None) -> None:
    """Both or neither, within WGS 84 ranges."""
    if (lon is None) != (lat is None):
        raise ApplicationError(_("经度和纬度须同时填写"))
    if lon is not None and lat is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ApplicationError(_("坐标超出范围"))


def content_file(data: bytes) -> ContentFile[bytes]:
    """The bytes as a Django file for a FileField (the field's upload_to chooses the name)."""
    return ContentFile(data, name="photo")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
