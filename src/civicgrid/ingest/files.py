"""What an uploaded file really is, and whether it is within the upload limits (security.md R24).
The type comes from the content (zip / OLE magic, decodable text), never from the extension alone;
an .xlsx is checked against a zip bomb before anything decompresses it for real."""

from __future__ import annotations

import codecs
import io
import json
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import ApplicationError

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A real worksheet compresses 5-30 times; a zip bomb thousands of times. Members smaller than
# RATIO_FLOOR bytes are too small to matter whatever their ratio.
MAX_COMPRESSION_RATIO = 200
RATIO_FLOOR = 1024 * 1024
SAMPLE_BYTES = 64 * 1024
ENCRYPTION_SCAN_BYTES = 4 * 1024 * 1024
ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")
CHUNK_BYTES = 1024 * 1024
# Binary formats people rename to .xlsx by mistake (or not), for a precise message.
_KNOWN_BINARY = (
    (b"MZ", gettext_lazy("可执行程序")),
    (b"%PDF", gettext_lazy("PDF 文档")),
    (b"\x89PNG", gettext_lazy("PNG 图片")),
    (b"\xff\xd8\xff", gettext_lazy("JPEG 图片")),
    (b"Rar!", gettext_lazy("RAR 压缩包")),
    (b"7z\xbc\xaf", gettext_lazy("7z 压缩包")),
    (b"\x1f\x8b", gettext_lazy("gzip 压缩包")),
    (b"\x7fELF", gettext_lazy("可执行程序")),
)
_MERGE_REF = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=\"([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)\"")


class FileRejected(ApplicationError):
    """The file is not what the import needs, or breaks an upload limit; nothing was written."""


@dataclass
class SheetScan:
    """One worksheet of an .xlsx as the byte scan saw it: how many <row> elements, which merges."""

    name: str
    member: str
    rows: int
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # (row0, col0, row1, col1), 0-based


@dataclass
class FileInfo:
    """The sniffed format ("xlsx", "xls", "csv" or "geojson"), the text encoding of a CSV, and an
    upper bound of the data rows (for the row limit and the progress bar)."""

    format: str
    size: int
    rows_estimate: int = 0
    encoding: str = ""
    sheets: list[SheetScan] = field(default_factory=list)

    @property
    def extension(self) -> str:
        return {"geojson": "geojson"}.get(self.format, self.format)


def _limits() -> tuple[int, int, int]:
    return (
        int(settings.CIVICGRID_UPLOAD_MAX_BYTES),
        int(settings.CIVICGRID_UPLOAD_MAX_UNCOMPRESSED_BYTES),
        int(settings.CIVICGRID_UPLOAD_MAX_ROWS),
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else _("%(size)d 字节") % {"size": size}


def store(source: Any, directory: Path, *, suffix: str = ".upload") -> Path:
    """Copy an uploaded file (or a file on disk) under `directory`, refusing it as soon as it
    exceeds the size limit so an oversize upload never fills the disk."""
    max_bytes = _limits()[0]
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{uuid.uuid4().hex}{suffix}"
    written = 0
    try:
        with target.open("wb") as out:
            for chunk in _chunks(source):
                written += len(chunk)
                if written > max_bytes:
                    raise FileRejected(
                        _("文件超过大小上限 %(limit)s") % {"limit": _megabytes(max_bytes)}
                    )
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def _chunks(source: Any) -> Iterable[bytes]:
    if isinstance(source, str | Path):
        with Path(source).open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk
        return
    if hasattr(source, "chunks"):  # Django UploadedFile
        source.seek(0)
        yield from source.chunks(CHUNK_BYTES)
        return
    while chunk := source.read(CHUNK_BYTES):
        yield chunk


def inspect(path: Path, *, file_format: str) -> FileInfo:
    """Sniff the file type from its content and enforce the upload limits; FileRejected says why
    (in the active language). `file_format` is the schema's: "table" or "geojson"."""
    max_bytes = _limits()[0]
    size = path.stat().st_size
    if size == 0:
        raise FileRejected(_("文件是空的"))
    if size > max_bytes:
        raise FileRejected(_("文件超过大小上限 %(limit)s") % {"limit": _megabytes(max_bytes)})
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if file_format == "geojson":
        return _inspect_geojson(path, head, size)
    if head.startswith(ZIP_MAGIC):
        return _inspect_xlsx(path, size)
    if head.startswith(OLE_MAGIC):
        return _inspect_xls(path, size)
    for magic, kind in _KNOWN_BINARY:
        if head.startswith(magic):
            raise FileRejected(
                _("文件实际是%(kind)s，不是 Excel 或 CSV 表格") % {"kind": kind}
            )
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejected(_("文件不是 Excel 或 CSV 表格（二进制内容）"))
    return _inspect_csv(path, head, size)


def _inspect_xlsx(path: Path, size: int) -> FileInfo:
    max_uncompressed, max_rows = _limits()[1:]
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected(_("文件已损坏，无法作为 Excel 工作簿打开")) from exc
    with archive:
        names = set(archive.namelist())
        if "mimetype" in names and archive.getinfo("mimetype").file_size < 200 and b"opendocument.spreadsheet" in (
            archive.read("mimetype")
        ):
            raise FileRejected(
                _("文件是 OpenDocument 表格（.ods），请在 WPS 或 Excel 中另存为 .xlsx 后导入")
            )
        if "[Content_Types].xml" not in names or not any(name.endswith("workbook.xml") for name in names):
            raise FileRejected(
                _("文件是压缩包但不是 Excel 工作簿（.xlsx）")
            )
        declared = 0
        for member in archive.infolist():
            declared += member.file_size
            if member.file_size > RATIO_FLOOR and member.file_size > MAX_COMPRESSION_RATIO * max(
                member.compress_size, 1
            ):
                raise FileRejected(
                    _("文件解压后体积异常（疑似压缩炸弹），已拒绝")
                )
        if declared > max_uncompressed:
            raise FileRejected(
                _("文件解压后超过 %(limit)s，已拒绝") % {"limit": _megabytes(max_uncompressed)}
            )
        from civicgrid.ingest.xlsx import WorkbookParts, XlsxError

        try:
            parts = WorkbookParts.read(archive)
        except XlsxError as exc:
            raise FileRejected(_("Excel 工作簿结构无效：%(error)s") % {"error": exc}) from exc
        scans = []
        seen_bytes = 0
        for name, sheet_member in parts.sheets:
            scan, read = _scan_sheet(archive, name, sheet_member, max_uncompressed - seen_bytes)
            seen_bytes += read
            scans.append(scan)
            if sum(s.rows for s in scans) > max_rows + 100 * len(scans):
                raise FileRejected(
                    _("文件行数超过上限 %(max_rows)s 行，请拆分后导入") % {"max_rows": max_rows}
                )
    return FileInfo(format="xlsx", size=size, rows_estimate=sum(s.rows for s in scans), sheets=scans)


def _scan_sheet(archive: zipfile.ZipFile, name: str, member: str, budget: int) -> tuple[SheetScan, int]:
    """Count rows and collect merged ranges of one worksheet by scanning its bytes (no XML parse);
    the real decompressed size is checked as it streams, so a lying zip header cannot fool us.
    Rows are counted as occurrences of `<row` (with the sheet's namespace prefix) before
    `</sheetData>`: inside sheetData only row tags start so, since text cannot hold a bare `<`."""
    from civicgrid.ingest.xlsx import parse_range, sheet_prefix

    rows = 0
    read = 0
    carry = b""
    tail = b""
    after_data = False
    row_tag = data_end = b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                read += len(chunk)
                if read > budget:
                    raise FileRejected(_("文件解压后超过上限，已拒绝"))
                if after_data:
                    tail += chunk
                    continue
                data = carry + chunk
                if not row_tag:
                    prefix = sheet_prefix(data).encode()
                    row_tag, data_end = b"<" + prefix + b"row", b"</" + prefix + b"sheetData>"
                end = data.find(data_end)
                if end >= 0:
                    rows += data.count(row_tag, 0, end)
                    tail = data[end + len(data_end) :]
                    after_data = True
                    continue
                # A tag cut at the chunk's end is counted with the next chunk.
                limit = max(len(data) - 32, 0)
                rows += data.count(row_tag) - data.count(row_tag, limit)
                carry = data[limit:]
    except zipfile.BadZipFile as exc:
        raise FileRejected(_("文件已损坏（压缩数据校验失败）")) from exc
    except (OSError, EOFError, ValueError) as exc:  # zlib errors surface as these
        raise FileRejected(_("文件已损坏，无法解压")) from exc
    merges = []
    for match in _MERGE_REF.finditer(tail):
        merged = parse_range(match.group(1).decode())
        if merged is not None:
            merges.append(merged)
    return SheetScan(name=name, member=member, rows=rows, merges=merges), read


def _inspect_xls(path: Path, size: int) -> FileInfo:
    from python_calamine import CalamineError, CalamineWorkbook

    max_rows = _limits()[2]
    with path.open("rb") as handle:
        start = handle.read(ENCRYPTION_SCAN_BYTES)
    # A password-protected .xlsx is an OLE container holding an "EncryptionInfo" stream.
    if ENCRYPTION_INFO in start:
        raise FileRejected(_("文件已加密，请去掉打开密码后再导入"))
    rows = 0
    names: list[str] = []
    try:
        # calamine picks the reader by extension; the stored file may still carry the upload's.
        with CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes())) as book:
            names = list(book.sheet_names)
            for index in range(len(names)):
                rows += book.get_sheet_by_index(index).height
    except (CalamineError, OSError, ValueError) as exc:
        text = str(exc).lower()
        if "password" in text or "encrypt" in text:
            raise FileRejected(_("文件已加密，请去掉密码后再导入")) from exc
        raise FileRejected(_("文件已损坏或不是 Excel 97-2003 工作簿（.xls）")) from exc
    if rows > max_rows + 100 * max(len(names), 1):
        raise FileRejected(_("文件行数超过上限 %(max_rows)s 行，请拆分后导入") % {"max_rows": max_rows})
    return FileInfo(
        format="xls", size=size, rows_estimate=rows,
        sheets=[SheetScan(name=name, member=str(index), rows=0) for index, name in enumerate(names)],
    )


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes strictly, else GB18030 (a superset of GBK)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    try:
        decoder.decode(head, final=False)  # a character cut at the sample's end is not an error
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _inspect_csv(path: Path, head: bytes, size: int) -> FileInfo:
    max_rows = _limits()[2]
    encoding = detect_encoding(head)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    lines = 0
    last = ""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                text = decoder.decode(chunk)
                lines += text.count("\n")
                last = text[-1:] or last
                if lines > max_rows + 100:
                    raise FileRejected(
                        _("文件行数超过上限 %(max_rows)s 行，请拆分后导入") % {"max_rows": max_rows}
                    )
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise FileRejected(
            _("无法识别文件的文字编码，请另存为 UTF-8 或 GBK 编码的 CSV")
        ) from exc
    if "\x00" in head.decode(encoding, errors="ignore"):
        raise FileRejected(_("文件不是 CSV 文本"))
    if last not in ("\n", ""):
        lines += 1  # the last line has no line break
    return FileInfo(format="csv", size=size, rows_estimate=lines, encoding=encoding)


def _inspect_geojson(path: Path, head: bytes, size: int) -> FileInfo:
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if not stripped.startswith(b"{"):
        raise FileRejected(_("文件不是 GeoJSON（应为 FeatureCollection 的 JSON 文本）"))
    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileRejected(_("GeoJSON 文件不是有效的 JSON")) from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" or not isinstance(
        document.get("features"), list
    ):
        raise FileRejected(_("GeoJSON 文件应为 FeatureCollection"))
    max_rows = _limits()[2]
    if len(document["features"]) > max_rows:
        raise FileRejected(_("要素数量超过上限 %(max_rows)s") % {"max_rows": max_rows})
    return FileInfo(format="geojson", size=size, rows_estimate=len(document["features"]))


def remove(path: Path | str | None) -> None:
    """Delete a stored file if it exists (after a rejection)."""
    if path:
        Path(path).unlink(missing_ok=True)


def copy(source: Path, target: Path) -> None:
    """Copy a file, creating the directory."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
