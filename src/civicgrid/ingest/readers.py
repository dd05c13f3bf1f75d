"""Table sources: the sheets of a file as rows of raw cells with their spreadsheet row numbers.
.xlsx streams through ingest.xlsx, .xls goes through python-calamine (at most 65,536 rows a sheet),
CSV through the csv module in the sniffed encoding, GeoJSON features become rows of properties."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from django.utils.translation import gettext as _

from civicgrid.ingest.files import FileInfo, FileRejected, SheetScan
from civicgrid.ingest.xlsx import XlsxError, XlsxReader

HEAD_ROWS = 13  # rows read for header detection: a title, notes, up to three header rows, and slack
GEOMETRY_HEADER = "geometry"

Merge = tuple[int, int, int, int]  # (row0, col0, row1, col1), 0-based, inclusive


@dataclass
class SheetHead:
    """The first rows of a sheet (0-based absolute row index -> cells) and its merged ranges."""

    rows: list[list[Any]]
    merges: list[Merge] = field(default_factory=list)


class TableSource(Protocol):
    """What the pipeline needs from a file, whatever its format."""

    def sheet_names(self) -> list[str]: ...

    def head(self, index: int) -> SheetHead: ...

    def rows(self, index: int) -> Iterator[tuple[int, list[Any]]]: ...

    def close(self) -> None: ...


class XlsxSource:
    """Worksheets of an .xlsx, streamed; merges come from the byte scan done when the file was
    checked (they sit after the data in the XML, too late for header detection)."""

    def __init__(self, path: Path, info: FileInfo) -> None:
        try:
            self.reader = XlsxReader(str(path))
        except XlsxError as exc:
            raise FileRejected(_("Excel 工作簿无法读取：%(error)s") % {"error": exc}) from exc
        scans = {scan.member: scan for scan in info.sheets}
        self.sheets: list[SheetScan] = [
            scans.get(member) or SheetScan(name=name, member=member, rows=0)
            for name, member in self.reader.parts.sheets
        ]

    def sheet_names(self) -> list[str]:
        return [sheet.name for sheet in self.sheets]

    def head(self, index: int) -> SheetHead:
        rows: list[list[Any]] = []
        for row_index, cells in self.rows(index):
            if row_index >= HEAD_ROWS:
                break
            while len(rows) < row_index:
                rows.append([])
            rows.append(cells)
        return SheetHead(rows=rows, merges=self.sheets[index].merges)

    def rows(self, index: int) -> Iterator[tuple[int, list[Any]]]:
        try:
            yield from self.reader.iter_rows(self.sheets[index].member)
        except XlsxError as exc:
            raise FileRejected(
                _("工作表“%(sheet)s”无法读取：%(error)s") % {"sheet": self.sheets[index].name, "error": exc}
            ) from exc

    def close(self) -> None:
        self.reader.close()


class XlsSource:
    """Sheets of an Excel 97-2003 workbook through python-calamine, one sheet in memory at a time."""

    def __init__(self, path: Path) -> None:
        from python_calamine import CalamineError, CalamineWorkbook

        self._error = CalamineError
        try:
            # From memory: calamine picks its reader by extension, and an .xls is small (≤ 65,536 rows a sheet).
            self.book = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
        except (CalamineError, OSError, ValueError) as exc:
            raise FileRejected(_("文件已损坏或不是 Excel 工作簿")) from exc
        self._names = list(self.book.sheet_names)
        self._cached: tuple[int, list[list[Any]], list[Merge]] | None = None

    def sheet_names(self) -> list[str]:
        return self._names

    def _load(self, index: int) -> tuple[list[list[Any]], list[Merge]]:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1], self._cached[2]
        try:
            sheet = self.book.get_sheet_by_index(index)
            # skip_empty_area=False keeps row and column 0 at A1, where merged ranges are counted from.
            grid = sheet.to_python(skip_empty_area=False)
            merges = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
        except (self._error, ValueError) as exc:
            raise FileRejected(_("工作表“%(sheet)s”无法读取") % {"sheet": self._names[index]}) from exc
        self._cached = (index, grid, merges)  # type: ignore[assignment]
        return grid, merges  # type: ignore[return-value]

    def head(self, index: int) -> SheetHead:
        grid, merges = self._load(index)
        return SheetHead(rows=[list(row) for row in grid[:HEAD_ROWS]], merges=merges)

    def rows(self, index: int) -> Iterator[tuple[int, list[Any]]]:
        grid, _ = self._load(index)
        yield from enumerate(grid)

    def close(self) -> None:
        self._cached = None
        self.book.close()


class CsvSource:
    """One sheet: the CSV file, decoded in the sniffed encoding; tab- or semicolon-separated files
    (Excel's "Unicode text" export) are recognised by their first line."""

    def __init__(self, path: Path, info: FileInfo, name: str) -> None:
        self.path = path
        self.encoding = info.encoding or "utf-8-sig"
        self.name = name
        with self._open() as handle:
            first = handle.readline()
        self.delimiter = max(",\t;", key=first.count) if first else ","

    def _open(self) -> io.TextIOWrapper:
        return io.TextIOWrapper(self.path.open("rb"), encoding=self.encoding, newline="")

    def sheet_names(self) -> list[str]:
        return [self.name]

    def head(self, index: int) -> SheetHead:
        rows = []
        for _row_index, cells in self.rows(index):
            rows.append(cells)
            if len(rows) >= HEAD_ROWS:
                break
        return SheetHead(rows=rows)

    def rows(self, index: int) -> Iterator[tuple[int, list[Any]]]:
        with self._open() as handle:
            try:
                yield from enumerate(csv.reader(handle, delimiter=self.delimiter))
            except csv.Error as exc:
                raise FileRejected(_("CSV 格式错误：%(error)s") % {"error": exc}) from exc
            except UnicodeDecodeError as exc:
                raise FileRejected(_("CSV 文字编码无法识别")) from exc

    def close(self) -> None:
        return None


class GeoJsonSource:
    """One sheet: a header row of the property names found, then one row per feature with its
    geometry in the last column. Row numbers are the features' 1-based positions (after the header)."""

    def __init__(self, path: Path, name: str) -> None:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
        self.features: list[Any] = document.get("features", [])
        self.name = name
        keys: dict[str, None] = {}
        for feature in self.features:
            properties = feature.get("properties") if isinstance(feature, dict) else None
            if isinstance(properties, dict):
                keys.update(dict.fromkeys(str(key) for key in properties))
        self.keys = list(keys)

    def sheet_names(self) -> list[str]:
        return [self.name]

    def head(self, index: int) -> SheetHead:
        return SheetHead(rows=[[*self.keys, GEOMETRY_HEADER]])

    def rows(self, index: int) -> Iterator[tuple[int, list[Any]]]:
        yield 0, [*self.keys, GEOMETRY_HEADER]
        for position, feature in enumerate(self.features, start=1):
            if not isinstance(feature, dict):
                yield position, ["" for _ in self.keys] + [{"type": "invalid"}]
                continue
            found = feature.get("properties")
            properties: dict[str, Any] = found if isinstance(found, dict) else {}
            cells: list[Any] = [_property_cell(properties.get(key)) for key in self.keys]
            geometry = feature.get("geometry")
            cells.append(geometry if geometry is not None else "")
            yield position, cells

    def close(self) -> None:
        return None


def _property_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # an integer code in JSON is exact, unlike Excel's floats
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def open_source(path: Path, info: FileInfo, *, display_name: str) -> TableSource:
    """The table source for a checked file."""
    if info.format == "xlsx":
        return XlsxSource(path, info)
    if info.format == "xls":
        return XlsSource(path)
    if info.format == "geojson":
        return GeoJsonSource(path, display_name or "GeoJSON")
    return CsvSource(path, info, display_name or "CSV")
