"""The streaming .xlsx reader agrees with python-calamine; .xls (a real BIFF8 file) goes through
calamine; GeoJSON features become rows."""

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from python_calamine import CalamineWorkbook

from civicgrid.ingest import files
from civicgrid.ingest.readers import GeoJsonSource, XlsSource, open_source
from civicgrid.ingest.tests.workbooks import write_geojson, write_zip
from civicgrid.ingest.xlsx import XlsxReader, is_date_format, parse_range

FIXTURES = Path(__file__).parent / "fixtures"


def calamine_grid(path: Path, index: int) -> list[list]:
    with CalamineWorkbook.from_path(str(path)) as book:
        return book.get_sheet_by_index(index).to_python(skip_empty_area=False)


def streamed_grid(path: Path, index: int) -> list[list]:
    with XlsxReader(str(path)) as reader:
        rows = dict(reader.iter_rows(reader.parts.sheets[index][1]))
    width = max((len(cells) for cells in rows.values()), default=0)
    # Rows with nothing but empty (styled) cells end neither reader's data.
    filled = [row for row, cells in rows.items() if any(value != "" for value in cells)]
    height = max(filled, default=-1) + 1
    return [list(rows.get(row, [])) + [""] * (width - len(rows.get(row, []))) for row in range(height)]


def test_streamed_values_match_calamine(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "混合"
    sheet["C3"] = "000123"                                   # text keeps leading zeros
    sheet["D3"] = 371502198005171234                         # a number: rounded, as Excel stores it
    sheet["E3"] = 12.5
    sheet["F3"] = dt.date(2020, 1, 31)
    sheet["G3"] = dt.datetime(2021, 6, 1, 8, 30)
    sheet["H3"] = True
    sheet["C4"] = CellRichText(["富", TextBlock(InlineFont(b=True), "文本")])
    sheet["D4"] = "=1+1"
    sheet["E5"] = "  带空格  "
    custom = sheet["F5"]
    custom.value = dt.date(1999, 12, 31)
    custom.number_format = 'yyyy"年"m"月"d"日"'
    sheet.merge_cells("C6:E7")
    sheet["C6"] = "合并"
    workbook.create_sheet("空表")
    path = tmp_path / "mixed.xlsx"
    workbook.save(path)

    streamed = streamed_grid(path, 0)
    expected = calamine_grid(path, 0)
    # calamine reads a formula cell without a cached value as ''; openpyxl writes none.
    assert streamed == expected
    assert streamed[2][2] == "000123"
    assert isinstance(streamed[2][3], float)
    assert streamed[2][4:8] == [12.5, dt.date(2020, 1, 31), dt.datetime(2021, 6, 1, 8, 30), True]
    assert streamed[4][5] == dt.date(1999, 12, 31)
    assert streamed_grid(path, 1) == []


def test_namespace_prefixes_inline_strings_and_1904_dates(tmp_path):
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    path = write_zip(tmp_path / "prefixed.xlsx", {
        "[Content_Types].xml": b"<Types/>",
        "_rels/.rels": (
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="r1" Type="http://x/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<x:workbook xmlns:x="{main}" xmlns:r="{rel}"><x:workbookPr date1904="1"/>'
            '<x:sheets><x:sheet name="台账" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://x/worksheet" Target="/xl/worksheets/s1.xml"/>'
            b'<Relationship Id="rId2" Type="http://x/styles" Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": (
            f'<styleSheet xmlns="{main}"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14"/></cellXfs></styleSheet>'
        ).encode(),
        "xl/worksheets/s1.xml": (
            f'<x:worksheet xmlns:x="{main}"><x:sheetData>'
            '<x:row r="2"><x:c r="B2" t="inlineStr"><x:is><x:t>姓名</x:t></x:is></x:c>'
            '<x:c r="C2" s="1"><x:v>0</x:v></x:c></x:row>'
            '<x:row><x:c t="inlineStr"><x:is><x:r><x:t>张</x:t></x:r><x:r><x:t>三</x:t></x:r></x:is></x:c>'
            '<x:c t="b"><x:v>1</x:v></x:c></x:row>'
            '</x:sheetData><x:mergeCells count="1"><x:mergeCell ref="B2:C2"/></x:mergeCells></x:worksheet>'
        ).encode(),
    })

    with XlsxReader(str(path)) as reader:
        assert reader.parts.sheets == [("台账", "xl/worksheets/s1.xml")]
        rows = list(reader.iter_rows("xl/worksheets/s1.xml"))
    assert rows == [(1, ["", "姓名", dt.date(1904, 1, 1)]), (2, ["张三", True])]
    assert files.inspect(path, file_format="table").sheets[0].merges == [(1, 1, 1, 2)]


def test_real_xls_file_reads_with_merges():
    path = FIXTURES / "ledger.xls"
    info = files.inspect(path, file_format="table")
    source = open_source(path, info, display_name="ledger.xls")
    assert isinstance(source, XlsSource)
    assert source.sheet_names() == ["枣寨村", "前寨村", "说明"]
    head = source.head(0)
    assert head.rows[1][:2] == ["序号", "基本信息"]
    assert (1, 1, 1, 2) in head.merges
    rows = list(source.rows(0))
    assert rows[3][1][2] == "371502196002030118"
    assert isinstance(rows[5][1][2], float)  # the ID typed as a number
    source.close()


def test_geojson_features_become_rows(tmp_path):
    path = write_geojson(tmp_path / "g.geojson", [
        {"type": "Feature", "properties": {"code": 371571, "名称": "高新区"}, "geometry": {"type": "Point", "coordinates": [1, 2]}},
        {"type": "Feature", "properties": None, "geometry": None},
    ])
    source = GeoJsonSource(path, "g")
    assert source.head(0).rows == [["code", "名称", "geometry"]]
    assert list(source.rows(0)) == [
        (0, ["code", "名称", "geometry"]),
        (1, ["371571", "高新区", {"type": "Point", "coordinates": [1, 2]}]),
        (2, ["", "", ""]),
    ]


def test_ranges_and_date_formats():
    assert parse_range("A1") == (0, 0, 0, 0)
    assert parse_range("$B$2:AA10") == (1, 1, 9, 26)
    assert parse_range("nonsense") is None
    assert is_date_format('[$-804]yyyy"年"m"月"d"日"')
    assert is_date_format("h:mm:ss")
    assert not is_date_format("0.00")
    assert not is_date_format('"m"0')
    assert not is_date_format("[Red]0")


def test_corrupt_sheet_xml_is_reported(tmp_path):
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    path = write_zip(tmp_path / "broken.xlsx", {
        "[Content_Types].xml": b"<Types/>",
        "xl/workbook.xml": f'<workbook xmlns="{main}"><sheets><sheet name="s" r:id="rId1" xmlns:r="r"/></sheets></workbook>'.encode(),
        "xl/_rels/workbook.xml.rels": b'<Relationships><Relationship Id="rId1" Type="x/worksheet" Target="worksheets/s.xml"/></Relationships>',
        "xl/worksheets/s.xml": f'<worksheet xmlns="{main}"><sheetData><row><c t="inlineStr"><is><t>x</t></is></c></row><row>'.encode(),
    })
    with XlsxReader(str(path)) as reader, pytest.raises(ValueError, match="XML"):
        list(reader.iter_rows("xl/worksheets/s.xml"))
    assert zipfile.is_zipfile(path)
