"""A streaming .xlsx reader with flat memory: worksheets are read from the zip stream a block of rows
at a time, by a regular expression where the rows are plain and by expat where they are not (see
`XlsxReader.iter_rows`). python-calamine is faster per row but materialises a whole sheet (about 670 MB
for 1,000,000 rows × 7 columns), which breaks the 1 GiB budget of a million-row import; it still
reads .xls, whose sheets cannot exceed 65,536 rows.

Cell values follow calamine's conventions so both readers feed the same pipeline: text stays
`str` (leading zeros and all digits kept), every number is `float`, date-formatted numbers become
`datetime.date` (or `datetime.datetime` with a time), booleans `bool`, empty cells `''`.
"""

from __future__ import annotations

import datetime as dt
import functools
import posixpath
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat

from django.utils.translation import gettext as _

CHUNK = 1 << 20
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")
_LETTERS = re.compile(r"\$?[A-Z]{1,3}\$?")
_PREFIX = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?worksheet[\s>]")
# Built-in number formats that are dates, including the CJK ones (27-36, 50-58) a Chinese Excel uses.
_BUILTIN_DATE_FORMATS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47, *range(27, 37), *range(50, 59)})
_QUOTED = re.compile(r'"[^"]*"|\\.|\[(?!h\]|m\]|s\])[^\]]*\]', re.IGNORECASE)
_EPOCH_1900 = dt.datetime(1899, 12, 30)  # noqa: DTZ001 - spreadsheet serials carry no zone
_EPOCH_1904 = dt.datetime(1904, 1, 1)  # noqa: DTZ001
# Bytes that send a block of rows to expat: entities, and what expat normalises (CR) or rejects
# (control characters); a block holds one if deleting them all makes it shorter.
_DECLINED_BYTES = b"&\r" + bytes(range(9)) + b"\x0b\x0c" + bytes(range(14, 32))


class XlsxError(ValueError):
    """The archive is a zip but its workbook parts are missing or malformed."""


def column_index(letters: str) -> int:
    """`A` -> 0, `Z` -> 25, `AA` -> 26."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


def parse_range(text: str) -> tuple[int, int, int, int] | None:
    """`B2:D3` -> (1, 1, 2, 3): 0-based (row0, col0, row1, col1); None if it is not a cell range."""
    first, _colon, last = text.partition(":")
    start = _REF.match(first)
    end = _REF.match(last or first)
    if start is None or end is None:
        return None
    return (
        int(start.group(2)) - 1, column_index(start.group(1)),
        int(end.group(2)) - 1, column_index(end.group(1)),
    )


def sheet_prefix(start: bytes) -> str:
    """The namespace prefix a worksheet's tags carry (`x:` in `<x:worksheet>`), read from its first
    bytes; '' when it uses the default namespace."""
    match = _PREFIX.search(start[:4096])
    return (match.group(1).decode() + ":") if match and match.group(1) else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _read_xml(archive: zipfile.ZipFile, member: str) -> ElementTree.Element:
    try:
        with archive.open(member) as stream:
            return ElementTree.parse(stream).getroot()  # noqa: S314 - bundled expat refuses entity bombs
    except KeyError as exc:
        raise XlsxError(_("缺少 %(member)s") % {"member": member}) from exc
    except ElementTree.ParseError as exc:
        raise XlsxError(_("%(member)s 不是有效的 XML") % {"member": member}) from exc


def _relationships(archive: zipfile.ZipFile, member: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type suffix, target member) of a part's .rels file."""
    base = posixpath.dirname(posixpath.dirname(member))  # xl/_rels/workbook.xml.rels -> xl
    result: dict[str, tuple[str, str]] = {}
    if member not in archive.NameToInfo:
        return result
    for element in _read_xml(archive, member):
        target = element.get("Target", "")
        if element.get("TargetMode") == "External":
            continue
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        result[element.get("Id", "")] = (element.get("Type", "").rsplit("/", 1)[-1], resolved)
    return result


def is_date_format(code: str) -> bool:
    """Whether a number-format code shows a date or time (quoted text and [colour] blocks ignored)."""
    cleaned = _QUOTED.sub("", code).lower()
    if cleaned in {"general", "@", ""}:
        return False
    return any(char in cleaned for char in "ymdhs")


@dataclass
class WorkbookParts:
    """Where the worksheets, shared strings and styles of a workbook live."""

    sheets: list[tuple[str, str]]  # (sheet name, zip member) in workbook order
    shared_strings: str | None = None
    styles: str | None = None
    date1904: bool = False
    skipped: list[str] = field(default_factory=list)  # chart sheets and the like

    @classmethod
    def read(cls, archive: zipfile.ZipFile) -> WorkbookParts:
        """Find the parts through the package relationships, as a spreadsheet program does."""
        workbook_member = "xl/workbook.xml"
        for kind, target in _relationships(archive, "_rels/.rels").values():
            if kind == "officeDocument":
                workbook_member = target
        root = _read_xml(archive, workbook_member)
        rels_member = posixpath.join(
            posixpath.dirname(workbook_member), "_rels", posixpath.basename(workbook_member) + ".rels"
        )
        relationships = _relationships(archive, rels_member)
        parts = cls(sheets=[])
        for element in root.iter():
            tag = _local(element.tag)
            if tag == "workbookPr":
                parts.date1904 = element.get("date1904", "0").lower() in {"1", "true"}
            elif tag == "sheet":
                name = element.get("name", "")
                rel_id = next((value for key, value in element.attrib.items() if _local(key) == "id"), "")
                kind, target = relationships.get(rel_id, ("", ""))
                if kind == "worksheet" and target in archive.NameToInfo:
                    parts.sheets.append((name, target))
                else:
                    parts.skipped.append(name)
        for kind, target in relationships.values():
            if kind == "sharedStrings" and target in archive.NameToInfo:
                parts.shared_strings = target
            elif kind == "styles" and target in archive.NameToInfo:
                parts.styles = target
        if not parts.sheets and not parts.skipped:
            raise XlsxError(_("工作簿中没有工作表"))
        return parts


def _load_shared_strings(archive: zipfile.ZipFile, member: str | None) -> list[str]:
    if member is None:
        return []
    strings: list[str] = []
    parts: list[str] = []
    state = {"capture": False, "phonetic": 0}

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(":", 1)[-1]
        if local == "t":
            state["capture"] = not state["phonetic"]
        elif local == "si":
            parts.clear()
        elif local == "rPh":  # phonetic guide runs are not part of the text
            state["phonetic"] += 1

    def end(name: str) -> None:
        local = name.rsplit(":", 1)[-1]
        if local == "t":
            state["capture"] = False
        elif local == "si":
            strings.append("".join(parts))
        elif local == "rPh":
            state["phonetic"] -= 1

    def characters(data: str) -> None:
        if state["capture"]:
            parts.append(data)

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    with archive.open(member) as stream:
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    return strings


def _load_date_styles(archive: zipfile.ZipFile, member: str | None) -> frozenset[str]:
    """Style indices (as the `s` attribute text) whose number format is a date."""
    if member is None:
        return frozenset()
    root = _read_xml(archive, member)
    custom: dict[int, str] = {}
    dates: set[str] = set()
    for element in root:
        tag = _local(element.tag)
        if tag == "numFmts":
            for number_format in element:
                try:
                    custom[int(number_format.get("numFmtId", "-1"))] = number_format.get("formatCode", "")
                except ValueError:
                    continue
        elif tag == "cellXfs":
            for index, xf in enumerate(element):
                try:
                    format_id = int(xf.get("numFmtId", "0"))
                except ValueError:
                    continue
                if format_id in custom:
                    if is_date_format(custom[format_id]):
                        dates.add(str(index))
                elif format_id in _BUILTIN_DATE_FORMATS:
                    dates.add(str(index))
    return frozenset(dates)


class XlsxReader:
    """Rows of the worksheets of one .xlsx, streamed."""

    def __init__(self, path: str) -> None:
        try:
            self.archive = zipfile.ZipFile(path)
            self.parts = WorkbookParts.read(self.archive)
        except zipfile.BadZipFile as exc:
            raise XlsxError(_("压缩包已损坏")) from exc
        self._strings: list[str] | None = None
        self._date_styles: frozenset[str] | None = None

    def close(self) -> None:
        self.archive.close()

    def __enter__(self) -> XlsxReader:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    @property
    def strings(self) -> list[str]:
        if self._strings is None:
            self._strings = _load_shared_strings(self.archive, self.parts.shared_strings)
        return self._strings

    @property
    def date_styles(self) -> frozenset[str]:
        if self._date_styles is None:
            self._date_styles = _load_date_styles(self.archive, self.parts.styles)
        return self._date_styles

    def iter_rows(self, member: str) -> Iterator[tuple[int, list[Any]]]:
        """(0-based row index, cell values) for every row element of a worksheet, in order. Empty
        rows are not in the file and so not yielded; cells missing inside a row are ''.

        Two parsers share the work. Rows in the plain form spreadsheet programs write (cells with
        `r`, optional `s` and `t`, a `<v>` or an inline `<is><t>`) are read a block at a time by
        one regular expression (`_RowScanner`), about four times faster than expat's callbacks.
        Everything else, and every block the scanner cannot account for completely (a formula, an
        entity, rich text, a comment), goes through expat, which also reads the parts before and
        after the rows and so checks that the document as a whole is well formed."""
        epoch = _EPOCH_1904 if self.parts.date1904 else _EPOCH_1900
        convert = functools.partial(_cell_value, self.strings, self.date_styles, epoch)
        with self.archive.open(member) as stream:
            first = stream.read(CHUNK)
            prefix = sheet_prefix(first)
            tag_row, tag_c, tag_v, tag_t, tag_rph = (prefix + name for name in ("row", "c", "v", "t", "rPh"))
            pending: list[tuple[int, list[Any]]] = []
            columns: dict[str, int] = {}
            # Parser state lives in locals of this frame, reached through nonlocal: the cheapest
            # access Python offers in a callback that runs for every cell.
            cells: list[Any] = []
            text = ""
            row_index = -1
            cell_column = 0
            cell_type: str | None = None
            cell_style: str | None = None
            capture = False
            phonetic = False
            row_closed_at = -1  # expat's byte offset of the last </row> it read

            def start(name: str, attrs: dict[str, str]) -> None:
                nonlocal cells, row_index, cell_column, cell_type, cell_style, capture, phonetic, text
                if name == tag_c:
                    ref = attrs.get("r")
                    if ref:
                        letters = ref.rstrip("0123456789")
                        column = columns.get(letters)
                        if column is None:
                            if _LETTERS.fullmatch(letters) is None:
                                raise XlsxError(_("单元格引用“%(ref)s”无效") % {"ref": ref[:20]})
                            column = columns[letters] = column_index(letters.lstrip("$"))
                        cell_column = column
                    else:
                        cell_column = len(cells)
                    cell_type = attrs.get("t")
                    cell_style = attrs.get("s")
                    text = ""
                elif name == tag_v:
                    capture = True
                elif name == tag_row:
                    number = attrs.get("r")
                    row_index = int(number) - 1 if number else row_index + 1
                    cells = []
                elif name == tag_t:
                    capture = not phonetic
                elif name == tag_rph:
                    phonetic = True

            def end(name: str) -> None:
                nonlocal capture, phonetic, row_closed_at
                if name in (tag_v, tag_t):
                    capture = False
                elif name == tag_c:
                    _put(cells, cell_column, convert(cell_type or "", cell_style or "", text))
                elif name == tag_row:
                    pending.append((row_index, cells))
                    row_closed_at = parser.CurrentByteIndex
                elif name == tag_rph:
                    phonetic = False

            def characters(data: str) -> None:
                nonlocal text
                if capture:
                    text += data

            parser = expat.ParserCreate()
            parser.buffer_text = True
            parser.buffer_size = 1 << 16
            parser.StartElementHandler = start
            parser.EndElementHandler = end
            parser.CharacterDataHandler = characters
            scanner = _RowScanner(prefix.encode(), convert)
            fed = 0  # bytes given to expat; the blocks the scanner reads are not

            def feed(data: bytes) -> None:
                nonlocal fed
                parser.Parse(data, False)
                fed += len(data)

            def read_block(block: bytes) -> None:
                """A run of whole rows: scanned if expat stands between rows (its last event was a
                row's end, at the end of what it was fed) and the scanner accounts for every tag
                in the block, otherwise given to expat."""
                nonlocal row_index
                rows = scanner.scan(block) if row_closed_at + len(scanner.row_end) == fed else None
                if rows is None:
                    feed(block)
                elif rows:
                    pending.extend(rows)
                    row_index = rows[-1][0]

            in_head, in_rows = True, False  # before <sheetData>, inside it; after it, neither
            buffer = first
            try:
                while True:
                    if in_head:
                        opening = scanner.sheet_data.search(buffer)
                        if opening is None:
                            keep = min(len(buffer), 64)  # the tag may straddle two chunks
                            feed(buffer[: len(buffer) - keep])
                            buffer = buffer[len(buffer) - keep :]
                        else:
                            feed(buffer[: opening.end()])
                            buffer = buffer[opening.end() :]
                            in_head, in_rows = False, not opening.group(1)  # <sheetData/> holds no rows
                            row_closed_at = fed - len(scanner.row_end)  # between rows, as after a </row>
                    if in_rows:
                        closing = buffer.find(scanner.sheet_data_end)
                        if closing >= 0:
                            read_block(buffer[:closing])
                            buffer = buffer[closing:]
                            in_rows = False
                        else:
                            cut = buffer.rfind(scanner.row_end)
                            if cut >= 0:
                                cut += len(scanner.row_end)
                                read_block(buffer[:cut])
                                buffer = buffer[cut:]
                            elif len(buffer) > 4 * CHUNK:  # no row ends in sight: let expat have it
                                feed(buffer)
                                buffer = b""
                    if not in_head and not in_rows:
                        feed(buffer)
                        buffer = b""
                    if pending:
                        yield from pending
                        pending.clear()
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    buffer += chunk
                feed(buffer)
                parser.Parse(b"", True)
            except expat.ExpatError as exc:
                raise XlsxError(_("工作表 XML 无效（%(error)s）") % {"error": exc}) from exc
            yield from pending


class _RowScanner:
    """Reads a block of whole `<row>` elements with one regular expression, or declines (None).

    Every `<` in the block must start a token the pattern knows: a row's start (with its `r`),
    a row's end, or a whole cell in the plain forms `<c r=".." s=".." t=".."/>`,
    `...><v>..</v></c>` and `...><is><t>..</t></is></c>`; anything else matches the bare `<`
    alternative, and the block is declined. Rows must not nest and cells must sit inside rows, so
    a block the scanner accepts is well formed. Blocks holding `&` (entities) or characters that
    expat normalises or rejects (carriage returns, control characters) are declined too.

    A ledger's data rows mostly look alike: the same cells with the same style and type. The
    scanner learns the commonest such row shape from a block and puts a pattern for a whole row of
    that shape first in its expression, so most rows are one match and one list instead of a match
    and a few branches per cell. Rows of any other shape still match cell by cell."""

    LEARN_TRIES = 3  # blocks to learn from before settling for cell-by-cell matching
    LEARN_MIN_ROWS = 8  # rows of one shape a block must hold for it to be learned

    def __init__(self, prefix: bytes, convert: Callable[[str, str, str], Any]) -> None:
        self.p = p = re.escape(prefix.decode())
        self.cell = (
            '<' + p + r'c r="([A-Z]{1,3})\d+"(?: s="(\d+)")?(?: t="([a-zA-Z]+)")?'
            r'(?:\s*/>|><' + p + 'v>([^<]*)</' + p + 'v></' + p + 'c>'
            '|><' + p + 'is><' + p + r't(?: xml:space="preserve")?>([^<]*)</' + p + 't></' + p + 'is></' + p + 'c>)'
            '|<' + p + r'row\s[^<>]*?(?<=\s)r="(\d+)"[^<>]*?(/?)>'
            '|(</' + p + 'row>)'
            '|<'
        )
        self.pattern = re.compile(self.cell)
        self.sheet_data = re.compile(rb"<" + re.escape(prefix) + rb"sheetData(?:\s[^<>]*?)?(/?)>")
        self.sheet_data_end = b"</" + prefix + b"sheetData>"
        self.row_end = b"</" + prefix + b"row>"
        self.convert = convert  # _cell_value bound to the workbook: (type, style, text) -> value
        self.columns: dict[str, int] = {}
        # The learned row shape: its width in groups (0: none yet) and, per column, how to convert.
        self.shape_width = 0
        self.shape_gaps: list[int] = []
        self.shape_fixes: list[tuple[int, Callable[[str], Any]]] = []
        self.learn_tries = self.LEARN_TRIES

    def scan(self, block: bytes) -> list[tuple[int, list[Any]]] | None:
        if len(block.translate(None, _DECLINED_BYTES)) != len(block):
            return None
        try:
            text = block.decode()
        except UnicodeDecodeError:
            return None
        result = self._scan(text)
        if result is not None and self.learn_tries and result[1] * 2 < len(result[0]):
            self.learn_tries -= 1
            self._learn(text)
        return None if result is None else result[0]

    def _learn(self, text: str) -> None:
        """Put a pattern for the commonest row shape of the block first: a row with exactly those
        cells (in the same columns), each with its style and type, empty (`<c .../>`) or not."""
        shapes: Counter[tuple[tuple[str, str, str], ...]] = Counter()
        cells: list[tuple[str, str, str]] = []
        for letters, style, kind, _number, _inline, row_number, _empty, _end in re.findall(self.cell, text):
            if letters:
                cells.append((letters, style, kind))
            elif row_number:
                cells = []
            elif cells:
                shapes[tuple(cells)] += 1
        if not shapes:
            return
        shape, count = shapes.most_common(1)[0]
        if count < self.LEARN_MIN_ROWS:
            return
        p = self.p
        parts = ['<' + p + r'row\s[^<>]*?(?<=\s)r="(\d+)"[^<>]*?(?<!/)>']
        fixes: list[tuple[int, Callable[[str], Any]]] = []
        gaps: list[int] = []  # columns with no cell, in order: '' goes there
        column = -1
        for letters, style, kind in shape:
            previous, column = column, column_index(letters)
            if column <= previous:  # cells out of order: no shape to learn
                return
            gaps.extend(range(previous + 1, column))
            attributes = f' r="{letters}\\d+"' + (f' s="{style}"' if style else "") + (f' t="{kind}"' if kind else "")
            if kind == "inlineStr":
                body = '><' + p + 'is><' + p + r't(?: xml:space="preserve")?>([^<]*)</' + p + 't></' + p + 'is></' + p + 'c>'
            else:
                body = '><' + p + 'v>([^<]*)</' + p + 'v></' + p + 'c>'
                fixes.append((column, functools.partial(self.convert, kind, style)))
            parts.append('<' + p + 'c' + attributes + r'(?:\s*/>|' + body + ')')
        parts.append('</' + p + 'row>')
        self.pattern = re.compile("(?:" + "".join(parts) + ")|" + self.cell)
        self.shape_width = len(shape) + 1
        self.shape_gaps = gaps
        self.shape_fixes = fixes

    def _scan(self, text: str) -> tuple[list[tuple[int, list[Any]]], int] | None:
        """The block's rows and how many of them matched the learned shape, or None."""
        convert = self.convert
        columns = self.columns
        width = self.shape_width
        gaps = self.shape_gaps
        fixes = self.shape_fixes
        rows: list[tuple[int, list[Any]]] = []
        shaped = 0
        cells: list[Any] | None = None
        row_index = 0
        for token in self.pattern.findall(text):
            if width:
                if token[0]:  # a whole row of the learned shape
                    if cells is not None:
                        return None
                    values = list(token[1:width])
                    for index in gaps:
                        values.insert(index, "")
                    for index, fix in fixes:
                        values[index] = fix(values[index])
                    rows.append((int(token[0]) - 1, values))
                    shaped += 1
                    continue
                token = token[width:]  # noqa: PLW2901 - the cell-by-cell groups
            letters, style, kind, number, inline, row_number, empty_row, row_end = token
            if letters:
                if cells is None:
                    return None
                column = columns.get(letters)
                if column is None:
                    column = columns[letters] = column_index(letters)
                _put(cells, column, inline if kind == "inlineStr" else convert(kind, style, number))
            elif row_number:
                if cells is not None:
                    return None
                row_index = int(row_number) - 1
                if empty_row:
                    rows.append((row_index, []))
                else:
                    cells = []
            elif row_end and cells is not None:
                rows.append((row_index, cells))
                cells = None
            else:  # a tag the pattern does not know, or a row end outside a row
                return None
        return None if cells is not None else (rows, shaped)


def _cell_value(
    strings: list[str], date_styles: frozenset[str], epoch: dt.datetime, kind: str, style: str, raw: str
) -> Any:
    """A cell's value from its type (`t`, '' if none), style (`s`) and text, as calamine gives it."""
    if not kind or kind == "n":
        if not raw:
            return ""
        try:
            number = float(raw)
        except ValueError:
            return raw
        return _serial_to_date(number, epoch) if style in date_styles else number
    if kind == "s":
        try:
            return strings[int(raw)]
        except (ValueError, IndexError):
            return ""
    if kind == "b":
        return raw == "1"
    if kind == "d":
        return _iso_date(raw)
    return raw  # inlineStr, str (a formula's text), e (an error such as #N/A)


def _put(cells: list[Any], column: int, value: Any) -> None:
    """Set a row's cell, filling the columns skipped before it with ''."""
    gap = column - len(cells)
    if gap == 0:
        cells.append(value)
    elif gap > 0:
        cells.extend([""] * gap)
        cells.append(value)
    else:
        cells[column] = value


def _serial_to_date(serial: float, epoch: dt.datetime) -> dt.date | dt.datetime | float:
    if not 0 <= serial < 2958466:
        return serial
    if serial.is_integer():
        return (epoch + dt.timedelta(days=serial)).date()
    # Excel stores times as fractions of a day; round to the millisecond as spreadsheet programs do.
    return epoch + dt.timedelta(milliseconds=round(serial * 86_400_000))


def _iso_date(text: str) -> dt.date | dt.datetime | str:
    try:
        moment = dt.datetime.fromisoformat(text.rstrip("Z"))
    except ValueError:
        return text
    return moment.date() if moment.time() == dt.time(0) else moment
