"""Header detection for real ledgers (台账): a merged title above the header, one to three header
rows whose merged upper cells group the lower ones ("户主信息 / 姓名"), notes in brackets, required
markers (*), full-width characters. The best-matching block within the first rows wins."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from civicgrid.ingest.parsers import as_text
from civicgrid.ingest.readers import HEAD_ROWS, SheetHead
from civicgrid.ingest.registry import Column, ImportSchema

MAX_HEADER_DEPTH = 3
SCAN_ROWS = 10  # a header starts within the first ten rows
_NOISE = re.compile(r"[\s\u3000*＊※:：]+")
_BRACKETS = re.compile(r"[(\[【〔][^)\]】〕]*[)\]】〕]")


def normalise(text: str) -> str:
    """Header text for comparison: no spaces, asterisks or colons; ASCII brackets; lower case."""
    text = text.replace("（", "(").replace("）", ")").replace("［", "[").replace("］", "]")
    return _NOISE.sub("", text).lower()


@dataclass
class HeaderMatch:
    """Where the header is (0-based first and last row) and which column index feeds which field."""

    first_row: int
    last_row: int
    columns: dict[int, Column]
    texts: dict[int, str]  # column index -> header text as shown ("上级 / 下级")
    missing: list[Column] = field(default_factory=list)

    @property
    def matched_required(self) -> int:
        return sum(1 for column in self.columns.values() if column.required)

    def found_texts(self) -> list[str]:
        return [text for _, text in sorted(self.texts.items()) if text]


def _filled_grid(head: SheetHead) -> list[list[str]]:
    """The head rows as text with every merged range filled with its top-left value."""
    width = max((len(row) for row in head.rows), default=0)
    grid = [[as_text(value) for value in row] + [""] * (width - len(row)) for row in head.rows]
    for row0, col0, row1, col1 in head.merges:
        if row0 >= len(grid) or col0 >= width:
            continue
        value = grid[row0][col0]
        for row in range(row0, min(row1, len(grid) - 1) + 1):
            for column in range(col0, min(col1, width - 1) + 1):
                grid[row][column] = value
    return grid


def _alias_table(schema: ImportSchema) -> dict[str, tuple[Column, int]]:
    table: dict[str, tuple[Column, int]] = {}
    for column in schema.columns:
        for rank, alias in enumerate(column.headers):
            table.setdefault(normalise(alias), (column, rank))
    return table


def _candidates(parts: Sequence[str]) -> list[str]:
    """Texts to try for one column, most specific first: the whole combined header, the parts run
    together, then each part from the lowest row up; each also without bracketed notes."""
    normalised = [normalise(part) for part in parts]
    ordered = ["".join(normalised), *reversed(normalised)]
    result: list[str] = []
    for text in ordered:
        for variant in (text, _BRACKETS.sub("", text)):
            if variant and variant not in result:
                result.append(variant)
    return result


def _match_block(grid: list[list[str]], first: int, last: int, aliases: dict[str, tuple[Column, int]]) -> HeaderMatch:
    width = len(grid[0]) if grid else 0
    best: dict[str, tuple[int, int]] = {}  # field -> (alias rank, column index)
    texts: dict[int, str] = {}
    by_field: dict[str, Column] = {}
    for column_index in range(width):
        parts = list(dict.fromkeys(grid[row][column_index] for row in range(first, last + 1) if grid[row][column_index]))
        if not parts:
            continue
        texts[column_index] = " / ".join(parts)
        for candidate in _candidates(parts):
            hit = aliases.get(candidate)
            if hit is None:
                continue
            column, rank = hit
            current = best.get(column.field)
            if current is None or rank < current[0]:
                best[column.field] = (rank, column_index)
                by_field[column.field] = column
            break
    columns = {index: by_field[name] for name, (_, index) in best.items()}
    return HeaderMatch(first_row=first, last_row=last, columns=columns, texts=texts)


def detect(schema: ImportSchema, head: SheetHead) -> HeaderMatch | None:
    """The header block that matches most of the schema's columns (required ones first), ending as
    early as possible; None if not a single column matches."""
    grid = _filled_grid(head)
    if not grid:
        return None
    aliases = _alias_table(schema)
    best: HeaderMatch | None = None
    best_score: tuple[int, int, int, int] | None = None
    for first in range(min(SCAN_ROWS, len(grid))):
        for depth in range(1, MAX_HEADER_DEPTH + 1):
            last = first + depth - 1
            if last >= min(len(grid), HEAD_ROWS):
                break
            match = _match_block(grid, first, last, aliases)
            if not match.columns:
                continue
            score = (match.matched_required, len(match.columns), -last, -depth)
            if best_score is None or score > best_score:
                best, best_score = match, score
    if best is not None:
        matched = {column.field for column in best.columns.values()}
        best.missing = [column for column in schema.required_columns if column.field not in matched]
    return best


def describe_missing(match: HeaderMatch | None, schema: ImportSchema, sheet: str) -> str:
    """The message for a sheet whose header lacks required columns: what is missing, what was found."""
    missing = match.missing if match is not None else schema.required_columns
    wanted = "、".join(f"“{column.label}”" for column in missing)
    found = "、".join(match.found_texts()[:30]) if match is not None else ""
    found = found or _("（未找到可识别的列）")
    return _("工作表“%(sheet)s”缺少必需的列：%(wanted)s；找到的列：%(found)s") % {
        "sheet": sheet, "wanted": wanted, "found": found,
    }


def first_row_text(head: SheetHead) -> list[str]:
    """Non-empty texts of the first non-empty row (for messages about sheets without any header)."""
    for row in head.rows:
        texts = [as_text(value) for value in row if as_text(value)]
        if texts:
            return texts
    return []

