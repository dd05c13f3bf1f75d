"""The worksheet reader's two parsers (the block scanner for plain rows, expat for the rest) give the
same rows as the sheet's XML says, whatever mix of cell forms a sheet holds and wherever the reads
cut it; malformed XML is refused whichever parser meets it."""

import datetime as dt
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicgrid.ingest import xlsx
from civicgrid.ingest.tests.workbooks import write_zip
from civicgrid.ingest.xlsx import XlsxError, XlsxReader, column_index

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHARED = ["甲", "乙&丙", " 带空格 ", "371502198005171234"]


def write_book(folder: Path, rows_xml: str | bytes, prefix: str = "") -> Path:
    """A one-sheet workbook whose sheetData is `rows_xml`; style 1 is a date, style 2 a number."""
    p = prefix
    declaration = f'xmlns:{p[:-1]}="{MAIN}"' if p else f'xmlns="{MAIN}"'
    strings = "".join(f"<si><t>{escape(text)}</t></si>" for text in SHARED)
    return write_zip(folder / "book.xlsx", {
        "[Content_Types].xml": b"<Types/>",
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="r"><sheets><sheet name="s" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            b'<Relationships><Relationship Id="rId1" Type="x/worksheet" Target="worksheets/s.xml"/>'
            b'<Relationship Id="rId2" Type="x/sharedStrings" Target="sharedStrings.xml"/>'
            b'<Relationship Id="rId3" Type="x/styles" Target="styles.xml"/></Relationships>'
        ),
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{strings}</sst>'.encode(),
        "xl/styles.xml": (
            f'<styleSheet xmlns="{MAIN}"><cellXfs><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="2"/></cellXfs>'
            "</styleSheet>"
        ).encode(),
        "xl/worksheets/s.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<{p}worksheet {declaration}><{p}dimension ref="A1"/>'
            f"<{p}sheetData>".encode()
            + (rows_xml.encode() if isinstance(rows_xml, str) else rows_xml)
            + f'</{p}sheetData><{p}pageMargins left="0.7"/></{p}worksheet>'.encode()
        ),
    })


def read(path: Path) -> list[tuple[int, list]]:
    with XlsxReader(str(path)) as reader:
        return list(reader.iter_rows("xl/worksheets/s.xml"))


def letters(column: int) -> str:
    name = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        name = chr(65 + rest) + name
    return name


# Cells of one kind: (the XML with the reference left as {ref} and the prefix as {p}, the value it
# reads as); each kind with its empty form where a spreadsheet writes one. Entities and carriage
# returns send a block to expat: they are in the alphabet, but rarer.
text = st.lists(st.sampled_from([*"张三 a1\"'\n" * 10, "&", "<", ">", "\r\n"]), max_size=6).map("".join)
inline = st.one_of(
    text.map(lambda t: (
        '<{p}c r="{ref}" t="inlineStr"><{p}is><{p}t xml:space="preserve">' + escape(t) + "</{p}t></{p}is></{p}c>",
        t.replace("\r\n", "\n"),
    )),
    st.just(('<{p}c r="{ref}" t="inlineStr" />', "")),
)
shared = st.one_of(
    st.integers(0, len(SHARED) - 1).map(lambda i: ('<{p}c r="{ref}" s="2" t="s"><{p}v>' f"{i}</{{p}}v></{{p}}c>", SHARED[i])),
    st.just(('<{p}c r="{ref}" s="2" t="s"/>', "")),
)
number = st.floats(-1e9, 1e9, allow_nan=False).map(lambda f: ('<{p}c r="{ref}"><{p}v>' f"{f!r}</{{p}}v></{{p}}c>", f))
date = st.one_of(
    st.integers(1, 60000).map(lambda d: (
        '<{p}c r="{ref}" s="1" t="n"><{p}v>' f"{d}</{{p}}v></{{p}}c>",
        (dt.datetime(1899, 12, 30) + dt.timedelta(days=d)).date(),  # noqa: DTZ001
    )),
    st.just(('<{p}c r="{ref}" s="1" t="n" />', "")),
)
boolean = st.booleans().map(lambda b: ('<{p}c r="{ref}" t="b"><{p}v>' f"{int(b)}</{{p}}v></{{p}}c>", b))
blank = st.just(('<{p}c r="{ref}" s="2" />', ""))
error = st.just(('<{p}c r="{ref}" t="e"><{p}v>#N/A</{p}v></{p}c>', "#N/A"))
formula = st.just(('<{p}c r="{ref}"><{p}f>1+1</{p}f><{p}v>2</{p}v></{p}c>', 2.0))  # forms only expat reads
rich = st.just(('<{p}c r="{ref}" t="inlineStr"><{p}is><{p}r><{p}t>富</{p}t></{p}r><{p}r><{p}t>文本</{p}t></{p}r></{p}is></{p}c>',
                "富文本"))
PLAIN_KINDS = [inline, shared, number, date, boolean, blank, error]


@st.composite
def sheets(draw):
    """Rows of (rows skipped before it, extra row attributes?, [(columns skipped before it, (xml, value))]).
    Most rows repeat one of a few row shapes (a ledger's data rows), the rest are one-offs; half
    the sheets hold only plain cells, so the scanner also reads long runs of rows."""
    kinds = PLAIN_KINDS + ([formula, rich] if draw(st.booleans()) else [])
    shape = st.lists(st.tuples(st.sampled_from([0, 0, 0, 1, 3]), st.sampled_from(kinds)), max_size=6)
    shapes = draw(st.lists(shape, min_size=1, max_size=3))
    rows = []
    for skipped_rows, spans, which in draw(st.lists(
        st.tuples(st.integers(0, 2), st.booleans(), st.sampled_from([*range(len(shapes)), None])), min_size=1, max_size=60,
    )):
        row_shape = shapes[which] if which is not None else draw(shape)
        rows.append((skipped_rows, spans, [(skipped, draw(kind)) for skipped, kind in row_shape]))
    return rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=sheets(), prefix=st.sampled_from(["", "x:"]), chunk=st.sampled_from([97, 700, 3000, 1 << 20]))
def test_both_parsers_read_what_the_xml_says(rows, prefix, chunk):
    parts: list[str] = []
    expected: list[tuple[int, list]] = []
    number = 0
    for skipped_rows, spans, row in rows * 2:  # twice: the shapes learned from the first run are met again
        number += skipped_rows + 1
        attributes = f' r="{number}"' + (' spans="1:9" x14ac:dyDescent="0.25"' if spans else "")
        if not row:
            parts.append(f"<{prefix}row{attributes} />")
            expected.append((number - 1, []))
            continue
        values: list = []
        column = -1
        body = ""
        for skipped_columns, (template, value) in row:
            column += skipped_columns + 1
            body += template.format(p=prefix, ref=f"{letters(column)}{number}")
            values += [""] * (column - len(values)) + [value]
        parts.append(f"<{prefix}row{attributes}>{body}</{prefix}row>")
        expected.append((number - 1, values))
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = write_book(Path(folder), "".join(parts), prefix)
        patch.setattr(xlsx, "CHUNK", chunk)
        patch.setattr(xlsx._RowScanner, "LEARN_MIN_ROWS", 2)  # learn shapes from the small blocks too
        assert read(path) == expected
        patch.setattr(xlsx._RowScanner, "scan", lambda self, block: None)  # expat alone
        assert read(path) == expected


def plain_rows(count: int, first: int = 1) -> str:
    return "".join(
        f'<row r="{n}" spans="1:3"><c r="A{n}" s="2" t="s"><v>{n % 4}</v></c>'
        f'<c r="B{n}" s="1"><v>{40000 + n}</v></c><c r="C{n}" t="inlineStr"><is><t>{n}</t></is></c></row>'
        for n in range(first, first + count)
    )


@pytest.fixture
def scanned(monkeypatch):
    """Whether the scanner took each block it was offered (False: expat read it)."""
    taken: list[bool] = []
    scan = xlsx._RowScanner.scan

    def recording(self, block):
        result = scan(self, block)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(xlsx._RowScanner, "scan", recording)
    return taken


def test_plain_rows_are_scanned_not_parsed_by_expat(tmp_path, monkeypatch, scanned):
    """Rows as Excel, WPS and openpyxl write them take the fast path (a regression to expat for
    every row would only show as a slower import)."""
    monkeypatch.setattr(xlsx, "CHUNK", 4096)
    rows = read(write_book(tmp_path, plain_rows(500)))
    assert len(rows) == 500
    assert rows[9] == (9, [SHARED[10 % 4], dt.date(1899, 12, 30) + dt.timedelta(days=40010), "10"])
    assert len(scanned) > 10
    assert all(scanned)


def test_rows_of_the_learned_shape_read_as_the_others(tmp_path, monkeypatch):
    """After the first block, rows of the commonest shape are read whole; rows of that shape with
    empty cells, and rows of other shapes, still read right."""
    shaped = []  # per block, rows read whole
    scan = xlsx._RowScanner._scan

    def counting(self, text):
        result = scan(self, text)
        shaped.append(result[1])
        return result

    monkeypatch.setattr(xlsx._RowScanner, "_scan", counting)
    monkeypatch.setattr(xlsx, "CHUNK", 4096)

    def row(n: int) -> str:  # column A empty, B a shared string, C a date, D a number, E inline text
        date = f"<v>{40000 + n}</v></c>" if n % 7 else "/>"  # every seventh date cell is empty
        return (
            f'<row r="{n}"><c r="B{n}" s="2" t="s"><v>{n % 4}</v></c><c r="C{n}" s="1" t="n"{">" if n % 7 else ""}{date}'
            f'<c r="D{n}"><v>{n}.5</v></c><c r="E{n}" t="inlineStr"><is><t>第{n}户</t></is></c></row>'
        )

    other = '<row r="{n}"><c r="A{n}" t="b"><v>1</v></c><c r="D{n}" t="e"><v>#N/A</v></c></row>'
    body = "".join(other.format(n=n) if n % 50 == 0 else row(n) for n in range(1, 401))
    rows = dict(read(write_book(tmp_path, body)))
    assert sum(shaped[1:]) > 300  # all but the first block's rows, less the other shape's
    assert rows[298] == ["", SHARED[3], dt.date(1899, 12, 30) + dt.timedelta(days=40299), 299.5, "第299户"]
    assert rows[300] == ["", SHARED[1], "", 301.5, "第301户"]  # row 301: its date cell is empty
    assert rows[349] == [True, "", "", "#N/A"]  # row 350: the other shape


def test_rows_after_a_block_expat_read_are_scanned_again_and_numbered_on(tmp_path, monkeypatch, scanned):
    """A formula sends its block to expat; rows without `r` there are numbered after the last one."""
    monkeypatch.setattr(xlsx, "CHUNK", 2048)
    odd = '<row><c><f>A1</f><v>7</v></c></row><row><c t="inlineStr"><is><t>x&amp;y</t></is></c></row>'
    rows = read(write_book(tmp_path, plain_rows(40) + odd + plain_rows(40, first=91)))
    assert rows[40:42] == [(40, [7.0]), (41, ["x&y"])]
    assert rows[42][0] == 90
    assert len(rows) == 82
    assert not all(scanned)
    assert scanned[-1]


@pytest.mark.parametrize("chunk", [64, 4096, 1 << 20])
@pytest.mark.parametrize("broken", [
    '<row r="1"><c r="A1"><v>1</v></row>',                  # a cell never closed
    '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c>',  # a row never closed
    '<row r="1"></row></row>',                              # a row closed twice
    '<row r="1"><c r="A1"><v>1 &bogus; 2</v></c></row>',    # an undefined entity
    '<row r="1"><c r="A1" t="inlineStr"><is><t>\x01</t></is></c></row>',  # a control character
    '<row r="1"><c r="A1" t="inlineStr"><is><t>\xff</t></is></c></row>',  # not UTF-8
    '<row r="1"><c r="9A1"><v>1</v></c></row>',             # not a cell reference
    plain_rows(1).replace('"1" spans="1:3">', '"1" spans="1:3"/>'),  # cells after a closed row, shaped
])
def test_malformed_rows_are_refused(tmp_path, monkeypatch, broken, chunk):
    monkeypatch.setattr(xlsx, "CHUNK", chunk)
    rows_xml = plain_rows(60) + broken + plain_rows(30, first=91)
    path = write_book(tmp_path, rows_xml.replace("\xff", "\x00").encode().replace(b"\x00", b"\xff"))
    with pytest.raises(XlsxError, match="XML|单元格"):
        read(path)


def test_column_letters():
    assert [column_index(letters(n)) for n in (0, 25, 26, 701, 702, 16383)] == [0, 25, 26, 701, 702, 16383]
