"""R26: spreadsheet formula injection is neutralised in every exported cell."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from civicgrid.core.exports import XLSX_CONTENT_TYPE, safe_cell_value, workbook_bytes, xlsx_response

DANGEROUS = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "=1+1", "\t=cmd", "\r=cmd", "\n=cmd"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_formula_like_text_gets_an_apostrophe(text):
    assert safe_cell_value(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("王建国", "王建国"),
        ("371502198005170019", "371502198005170019"),  # stays text, never a number
        ("a=b", "a=b"),
        (None, ""),
        (True, "是"),
        (False, "否"),
        (42, 42),
        (-1, -1),  # a real number is data, not a formula
        (dt.date(2026, 1, 31), dt.date(2026, 1, 31)),
    ],
)
def test_ordinary_values_pass_through(value, expected):
    assert safe_cell_value(value) == expected


def test_workbook_round_trip_keeps_dangerous_text_as_text():
    content = workbook_bytes([("人员", ["姓名", "身份证号", "备注"], [[text, "371502198005170019", text] for text in DANGEROUS[:4]])])
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=False))
    assert [cell.value for cell in rows[0]] == ["姓名", "身份证号", "备注"]
    for row, text in zip(rows[1:], DANGEROUS[:4], strict=True):
        name, id_number, note = row
        assert name.value == "'" + text
        assert name.data_type == "s"  # a string cell, not a formula ("f")
        assert note.value == "'" + text
        assert id_number.value == "371502198005170019"
        assert id_number.data_type == "s"


def test_xlsx_response_is_an_attachment_with_an_encoded_name():
    response = xlsx_response("人员名单.xlsx", b"PK")
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert response["Content-Disposition"] == "attachment; filename*=UTF-8''%E4%BA%BA%E5%91%98%E5%90%8D%E5%8D%95.xlsx"
