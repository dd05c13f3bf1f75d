"""Builders of real-looking files for import tests: openpyxl workbooks with merged titles and headers,
CSV in several encodings, zip archives that are not workbooks, zip bombs."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook


@dataclass
class Sheet:
    title: str
    rows: list[list[Any]]
    merges: list[str] = field(default_factory=list)


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> Path:
    """A workbook as a spreadsheet program saves it (shared strings, merged cells). Python str cells
    are text, int/float cells are numbers (as when a clerk types an ID number into a General cell)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for spec in sheets:
        sheet = workbook.create_sheet(spec.title)
        for row in spec.rows:
            sheet.append(row)
        for merged in spec.merges:
            sheet.merge_cells(merged)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: Iterable[Sequence[Any]], *, encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


REPORT_SHEET = "错误明细"
REPORT_HEADERS = ("工作表", "行号", "列", "值", "原因")
REPORT_SHEET_EN = "Errors"
REPORT_HEADERS_EN = ("Sheet", "Row", "Column", "Value", "Reason")


def read_report(
    path: Path, *, sheet: str = REPORT_SHEET, headers: tuple[str, ...] = REPORT_HEADERS
) -> list[tuple[Any, ...]]:
    """The error lines of an error report workbook (header row excluded); the sheet name and headers
    are checked (Chinese unless the import ran in another language)."""
    workbook = load_workbook(path, read_only=True)
    rows = [tuple("" if cell is None else cell for cell in row) for row in workbook[sheet].iter_rows(values_only=True)]
    assert rows[0] == headers
    return rows[1:]


def write_zip(path: Path, members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def write_zip_bomb(path: Path, *, size: int) -> Path:
    """An archive that looks like an .xlsx but holds a worksheet of `size` zeros (compresses ~1000×)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"0" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return path


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8")
    return path


def square(lon: float, lat: float, size: float = 0.01) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
    }
