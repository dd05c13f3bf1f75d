"""Header detection on the shapes real ledgers have."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicgrid.core import idnumber
from civicgrid.ingest import headers, parsers
from civicgrid.ingest.readers import SheetHead
from civicgrid.ingest.registry import get_schema

PEOPLE = "people.person"


def fields(match):
    return {index: column.field for index, column in match.columns.items()}


def test_title_and_single_header_with_markers_and_notes():
    head = SheetHead(rows=[
        ["2026年枣寨村人员台账", "", "", "", ""],
        ["序号", "*姓 名", "身份证号码（18位）", "手机号：", "网格编码"],
        [1, "张三", "x", "y", "z"],
    ], merges=[(0, 0, 0, 4)])
    match = headers.detect(get_schema(PEOPLE), head)
    assert (match.first_row, match.last_row) == (1, 1)
    assert fields(match) == {1: "name", 2: "id_number", 3: "phone", 4: "node_code"}
    assert match.missing == []


def test_two_merged_header_rows_combine_upper_and_lower_text():
    head = SheetHead(rows=[
        ["台账", "", "", "", "", ""],
        ["序号", "户主信息", "", "联系方式", "所属网格", ""],
        ["", "户主姓名", "户主身份证号", "电话", "编码", "名称"],
        [1, "张三", "x", "y", "z", "w"],
    ], merges=[(0, 0, 0, 5), (1, 0, 2, 0), (1, 1, 1, 2), (1, 4, 1, 5)])
    match = headers.detect(get_schema(PEOPLE), head)
    assert (match.first_row, match.last_row) == (1, 2)
    # "编码" alone means nothing; under "所属网格" it is the node code (and beats the 名称 column).
    assert fields(match) == {1: "name", 2: "id_number", 3: "phone", 4: "node_code"}
    assert match.texts[4] == "所属网格 / 编码"
    assert match.texts[0] == "序号"


def test_three_header_rows():
    head = SheetHead(rows=[
        ["人员基本情况", "", "", ""],
        ["身份信息", "", "", "住址"],
        ["姓名", "证件", "", ""],
        ["", "证件号码", "性别", "网格编码"],
        ["张三", "x", "男", "1"],
    ], merges=[(0, 0, 0, 3), (1, 0, 1, 2), (2, 0, 3, 0), (2, 1, 2, 2), (1, 3, 2, 3)])
    match = headers.detect(get_schema(PEOPLE), head)
    assert match.last_row == 3
    assert fields(match) == {0: "name", 1: "id_number", 2: "sex", 3: "node_code"}


def test_preferred_alias_wins_when_two_columns_could_be_the_name():
    head = SheetHead(rows=[["户主姓名", "成员姓名", "身份证号", "网格编码"]])
    assert fields(headers.detect(get_schema(PEOPLE), head))[1] == "name"


def test_missing_columns_are_named_with_what_was_found():
    head = SheetHead(rows=[["序号", "姓名", "电话", "住址"], [1, "张三", "1", "2"]])
    schema = get_schema(PEOPLE)
    match = headers.detect(schema, head)
    assert [column.field for column in match.missing] == ["id_number", "node_code"]
    message = headers.describe_missing(match, schema, "Sheet1")
    assert "缺少必需的列：“身份证号”、“网格编码”" in message
    assert "找到的列：序号、姓名、电话、住址" in message


def test_no_header_at_all():
    assert headers.detect(get_schema(PEOPLE), SheetHead(rows=[["说明"], ["请按模板填写"]])) is None


# -- parsers --------------------------------------------------------------------------------------

ID_TEXT = st.one_of(
    st.builds(
        lambda region, day, sequence: idnumber.make(region, day, sequence),
        st.sampled_from(["110105", "371502", "990101", "810000"]),
        st.dates(min_value=dt.date(1870, 1, 1), max_value=dt.date(2100, 1, 1)),
        st.integers(min_value=0, max_value=999),
    ),
    st.text(alphabet="0123456789Xx ", min_size=14, max_size=19),
)


@settings(max_examples=400, deadline=None)
@given(ID_TEXT, st.booleans())
def test_fast_id_path_agrees_with_the_gb11643_parser(text, corrupt):
    if corrupt and len(text) == 18:
        text = text[:17] + ("0" if text[17] != "0" else "1")
    try:
        expected = idnumber.parse(text).value
    except idnumber.InvalidIdNumber:
        expected = None
    try:
        got = parsers.id_number(text)
    except idnumber.InvalidIdNumber:
        got = None
    assert got == expected
    if got is not None:
        assert parsers.id_birth_date(got) == idnumber.parse(got).birth_date


def test_numeric_and_scientific_id_cells_are_refused():
    with pytest.raises(ValueError, match="数字格式"):
        parsers.id_number(3.71502198005171e17)
    with pytest.raises(ValueError, match="数字格式"):
        parsers.id_number("3.71502E+17")
    assert parsers.id_number("371502800517123") == idnumber.upgrade_15_to_18("371502800517123")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-01-31", dt.date(2020, 1, 31)),
        ("2020/1/3", dt.date(2020, 1, 3)),
        ("2020.01.31", dt.date(2020, 1, 31)),
        ("2020年1月31日", dt.date(2020, 1, 31)),
        ("20200131", dt.date(2020, 1, 31)),
        ("2020-01-31 00:00:00", dt.date(2020, 1, 31)),
        (20200131.0, dt.date(2020, 1, 31)),
        (43861.0, dt.date(2020, 1, 31)),
        (dt.datetime(2020, 1, 31, 9), dt.date(2020, 1, 31)),
    ],
)
def test_dates(value, expected):
    assert parsers.date(value) == expected


@pytest.mark.parametrize("value", ["2020-02-30", "明天", "31/01/2020", -5.0])
def test_bad_dates(value):
    with pytest.raises(ValueError, match="日期"):
        parsers.date(value)


def test_codes_booleans_and_choices():
    code = parsers.code(12)
    assert code(371571100201.0) == "371571100201"
    with pytest.raises(ValueError, match="数字格式"):
        code(3.71571100201e16)
    with pytest.raises(ValueError, match="超过12位"):
        code("1234567890123")
    assert [parsers.boolean(v) for v in ("是", "否", "√", 1.0, "N")] == [True, False, True, True, False]
    with pytest.raises(ValueError, match="是"):
        parsers.boolean("也许")
    sex = parsers.choice({"男": "M", "女": "F", "M": "M"}, what="性别")
    assert (sex("男"), sex(" 女 "), sex("m")) == ("M", "F", "M")
    with pytest.raises(ValueError, match="可填：男、女"):
        sex("未知")
