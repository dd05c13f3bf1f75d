"""The downloadable error report: one line per bad row or cell (工作表, 行号, 列, 值, 原因) plus
sheet-level notes, written through core.exports (no formulas, text stays text). Lines spill to a
temporary file while the import runs, so a file full of errors does not fill the memory. Headers,
sheet names and labels are in the active language (the import runs in its uploader's language)."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from civicgrid.core.exports import write_sheet
from civicgrid.core.masking import mask_id_number, mask_phone
from civicgrid.ingest.parsers import as_text

HEADERS = (gettext_lazy("工作表"), gettext_lazy("行号"), gettext_lazy("列"), gettext_lazy("值"), gettext_lazy("原因"))
SORT_LIMIT = 200_000  # sort lines by sheet and row when there are at most this many
EXCEL_MAX_ROWS = 1_048_575


def masked(value: Any, sensitive: str) -> str:
    """The cell as text, masked when it holds an ID number or a phone number (GB/T 35273)."""
    text = as_text(value)
    if sensitive == "id_number":
        return mask_id_number(text)
    if sensitive == "phone":
        return mask_phone(text)
    return text[:200]


class ErrorReport:
    """Collects error lines and sheet notes during one import."""

    def __init__(self) -> None:
        self._spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._spool)
        self.count = 0  # lines about rows (sheet notes not included)
        self.rows_with_errors = 0
        self.notes: list[tuple[str, str]] = []
        self._last_row: tuple[int, int] | None = None

    def add(
        self, *, sheet: str, sheet_index: int, row: int, column: str, value: Any, reason: str, sensitive: str = ""
    ) -> None:
        """One error about a row (several errors of one row count as one bad row)."""
        self.count += 1
        if self._last_row != (sheet_index, row):
            self.rows_with_errors += 1
            self._last_row = (sheet_index, row)
        self._writer.writerow((sheet_index, row, sheet, column, masked(value, sensitive), reason))

    def note(self, sheet: str, reason: str) -> None:
        """A line about a whole sheet (skipped, no header found)."""
        self.notes.append((sheet, reason))

    @property
    def empty(self) -> bool:
        return self.count == 0 and not self.notes

    def _lines(self) -> Iterator[Sequence[Any]]:
        for sheet, reason in self.notes:
            yield (sheet, "", "", "", reason)
        self._spool.flush()
        self._spool.seek(0)
        reader = csv.reader(self._spool)
        if self.count <= SORT_LIMIT:
            lines = sorted(reader, key=lambda line: (int(line[0]), int(line[1])))
            source: Iterator[list[str]] = iter(lines)
        else:
            source = reader
        for written, line in enumerate(source):
            if written >= EXCEL_MAX_ROWS - len(self.notes) - 1:
                yield ("", "", "", "", _("错误过多，仅列出前 %(count)s 条") % {"count": written})
                return
            yield (line[2], int(line[1]), line[3], line[4], line[5])

    def write(self, target: Path, summary: Sequence[tuple[str, Any]]) -> None:
        """Write the report workbook: the errors sheet first, then a summary sheet."""
        target.parent.mkdir(parents=True, exist_ok=True)
        workbook = Workbook(write_only=True)
        write_sheet(workbook, _("错误明细"), [str(header) for header in HEADERS], self._lines())
        write_sheet(workbook, _("汇总"), (_("项目"), _("内容")), summary)
        workbook.save(str(target))

    def close(self) -> None:
        self._spool.close()
